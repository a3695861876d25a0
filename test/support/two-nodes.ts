// The multi-node test fixture: two real server processes on the test file's own database and
// Redis prefix, sockets closed and nodes stopped at the end, and the HTTP helpers those tests use.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect } from "vitest";
import { connectSocket, createTestEnv, emitAck, type ClientSocket, type TestEnv } from "./app.js";
import { startNode, type NodeProcess } from "./cluster.js";
import { serviceToken, token } from "./tokens.js";

/** A JSON call to one node; `body` is typed loosely because the assertions check it. */
export async function httpJson(node: NodeProcess, method: string, path: string, jwt: string, body?: unknown) {
  const res = await fetch(`${node.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${jwt}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies are checked by the assertions
  return { status: res.status, body: (res.status === 204 ? null : await res.json()) as any };
}

export function useTwoNodes(extraEnv: Record<string, string> = {}) {
  let env: TestEnv | undefined;
  let nodes: [NodeProcess, NodeProcess] | undefined;
  const extra: NodeProcess[] = [];
  const sockets: ClientSocket[] = [];
  beforeAll(async () => {
    env = await createTestEnv();
    nodes = await Promise.all([startNode(env, "node-a", extraEnv), startNode(env, "node-b", extraEnv)]);
  });
  afterAll(async () => {
    sockets.forEach((s) => s.close());
    await Promise.all([...(nodes ?? []).map((n) => n.stop()), ...extra.map((n) => n.kill())]);
    await env?.close();
  });
  const fixture = {
    get env(): TestEnv {
      return env!;
    },
    get a(): NodeProcess {
      return nodes![0];
    },
    get b(): NodeProcess {
      return nodes![1];
    },
    http: httpJson,
    /** One more node on the same database and prefix, killed at the end if still running. */
    async startNode(name: string, moreEnv: Record<string, string> = extraEnv): Promise<NodeProcess> {
      const node = await startNode(env!, name, moreEnv);
      extra.push(node);
      return node;
    },
    /** A connected socket of `user` on `node`, optionally joined to a conversation. */
    async socket(node: NodeProcess, user: string, joinConversation?: string): Promise<ClientSocket> {
      const s = await connectSocket(node.url, token(user));
      sockets.push(s);
      if (joinConversation) expect(await emitAck(s, "conversation:join", { conversationId: joinConversation })).toMatchObject({ ok: true });
      return s;
    },
    /**
     * A buyer and a seller (b-<tag>, s-<tag>) with a conversation opened through node a about a
     * listing pushed through node b; with `firstMessage`, the buyer's "hi" through node b makes
     * the seller see it (and the two contacts).
     */
    async conversation(tag: string, opts: { firstMessage?: boolean } = {}) {
      const buyer = `b-${tag}`;
      const seller = `s-${tag}`;
      await httpJson(nodes![0], "PUT", `/api/internal/users/${seller}`, serviceToken(), { name: "Seller" });
      await httpJson(nodes![1], "PUT", `/api/internal/listings/l-${tag}`, serviceToken(), { sellerId: seller, title: "Sofa" });
      const opened = await httpJson(nodes![0], "POST", "/api/conversations", token(buyer), { listingId: `l-${tag}` });
      expect(opened.status).toBe(201);
      const id = opened.body.id as string;
      if (opts.firstMessage) {
        const sent = await httpJson(nodes![1], "POST", `/api/conversations/${id}/messages`, token(buyer), { clientId: randomUUID(), content: "hi" });
        expect(sent.status).toBe(201);
      }
      return { buyer, seller, id };
    },
  };
  return fixture;
}
