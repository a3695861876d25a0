// Two real nodes behind a real nginx with the repository's config: long-polling clients (which
// break without sticky sessions) connect, chat across nodes, and stay on one node each.
import { randomUUID } from "node:crypto";
import { io as connect, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "./support/app.js";
import { startNode, type NodeProcess } from "./support/cluster.js";
import { startNginx, type Nginx } from "./support/nginx.js";
import { serviceToken, token } from "./support/tokens.js";

let env: TestEnv;
let nodes: NodeProcess[] = [];
let nginx: Nginx;
const sockets: Socket[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  nodes = await Promise.all([startNode(env, "sticky-1"), startNode(env, "sticky-2")]);
  nginx = await startNginx([nodes[0]!.port, nodes[1]!.port]);
});
afterAll(async () => {
  sockets.forEach((s) => s.close());
  await nginx?.stop();
  await Promise.all(nodes.map((n) => n.stop()));
  await env?.close();
});

async function api(method: string, path: string, jwt: string, body?: unknown) {
  const res = await fetch(`${nginx.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${jwt}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies are checked by the assertions
  return { status: res.status, body: (await res.json()) as any };
}

function pollingSocket(jwt: string, affinity: string): Promise<Socket> {
  const s = connect(nginx.url, { auth: { token: jwt }, transports: ["polling"], query: { affinity }, reconnection: false, forceNew: true });
  sockets.push(s);
  return new Promise((resolve, reject) => {
    s.once("connect", () => resolve(s));
    s.once("connect_error", reject);
  });
}

describe("behind nginx", () => {
  it("11 polling clients with different affinity keys land on both nodes and chat through them", async () => {
    await api("PUT", "/api/internal/users/sticky-seller", serviceToken(), { name: "Seller" });
    await api("PUT", "/api/internal/listings/sticky-listing", serviceToken(), { sellerId: "sticky-seller", title: "Desk" });
    const opened = await api("POST", "/api/conversations", token("sticky-buyer"), { listingId: "sticky-listing" });
    expect(opened.status).toBe(201);
    const conversationId = opened.body.id;

    const buyers = await Promise.all(Array.from({ length: 10 }, (_, i) => pollingSocket(token("sticky-buyer"), `buyer-${i}`)));
    const seller = await pollingSocket(token("sticky-seller"), "seller-0");
    const got: number[] = [];
    seller.on("message:new", (m: { seq: number }) => got.push(m.seq));
    for (const [i, b] of buyers.entries()) {
      const ack = await b.timeout(10_000).emitWithAck("message:send", { conversationId, clientId: randomUUID(), content: `hi ${i}` });
      expect(ack.ok).toBe(true);
    }
    await expect.poll(() => got.length, { timeout: 10_000 }).toBe(buyers.length);
    expect(got).toEqual(buyers.map((_, i) => i + 1));

    // Every polling request of one client went to one node; the clients as a whole used both.
    const lines = nginx.accessLog().split("\n").filter((l) => l.includes("/socket.io/"));
    const upstreamsByKey = new Map<string, Set<string>>();
    for (const line of lines) {
      const key = /key="([^"]*)"/.exec(line)?.[1] ?? "";
      const up = /up=(\S+)/.exec(line)?.[1] ?? "";
      if (!upstreamsByKey.has(key)) upstreamsByKey.set(key, new Set());
      upstreamsByKey.get(key)!.add(up);
      expect(line).not.toMatch(/" 400 /);
    }
    // 11 keys: the chance that consistent hashing puts them all on one node is about 1 in 1,000.
    expect(upstreamsByKey.size).toBeGreaterThanOrEqual(11);
    for (const ups of upstreamsByKey.values()) expect(ups.size).toBe(1);
    const used = new Set([...upstreamsByKey.values()].flatMap((s) => [...s]));
    expect(used.size).toBe(2);
  });
});
