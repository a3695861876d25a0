// The client SDK against real nodes behind a real nginx: the node a client is on is SIGKILLed
// while the other side keeps writing; the client reconnects through nginx to the surviving node,
// catches up, and its own pending send is stored once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatClient, type MessageView } from "@marketchat/client";
import { createTestEnv, type TestEnv } from "./support/app.js";
import { startNode, type NodeProcess } from "./support/cluster.js";
import { startNginx, type Nginx } from "./support/nginx.js";
import { serviceToken, token } from "./support/tokens.js";

let env: TestEnv;
let nodes: NodeProcess[] = [];
let nginx: Nginx;
const clients: ChatClient[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  nodes = await Promise.all([startNode(env, "sdk-1", {}, { startTimeoutMs: 55_000 }), startNode(env, "sdk-2", {}, { startTimeoutMs: 55_000 })]);
  nginx = await startNginx([nodes[0]!.port, nodes[1]!.port]);
});
afterAll(async () => {
  clients.forEach((c) => c.close());
  await nginx?.stop();
  await Promise.all(nodes.map((n) => n.kill()));
  await env?.close();
});

function client(url: string, user: string, affinity?: string) {
  const c = new ChatClient({
    url,
    token: token(user),
    // Polling first: nginx logs the handshake at once (an upgraded WebSocket only when it ends).
    socket: { transports: ["polling", "websocket"], reconnectionDelay: 100, reconnectionDelayMax: 500, ...(affinity ? { query: { affinity } } : {}) },
    ackTimeoutMs: 3_000,
  });
  clients.push(c);
  return c;
}

describe("ChatClient", () => {
  it("loses nothing and duplicates nothing when its node is killed", async () => {
    const service = new ChatClient({ url: nginx.url, token: serviceToken(), socket: { autoConnect: false } });
    await service.api.request("PUT", "/api/internal/users/sdk-seller", { name: "Seller" });
    await service.api.request("PUT", "/api/internal/listings/sdk-listing", { sellerId: "sdk-seller", title: "Bike" });
    service.close();

    const buyer = client(nginx.url, "sdk-buyer", "sdk-buyer-device");
    await buyer.ready();
    const conversation = await buyer.api.openConversation("sdk-listing");
    const got: MessageView[] = [];
    buyer.on("message", (m) => got.push(m));
    await buyer.follow(conversation.id);

    // Which node did nginx give the buyer? The seller talks to the other one directly.
    const line = nginx.accessLog().split("\n").find((l) => l.includes('key="sdk-buyer-device"'))!;
    const buyerPort = Number(/up=127\.0\.0\.1:(\d+)/.exec(line)![1]);
    const buyerNode = nodes.find((n) => n.port === buyerPort)!;
    const otherNode = nodes.find((n) => n.port !== buyerPort)!;
    const seller = client(otherNode.url, "sdk-seller");
    await seller.ready();

    await buyer.send(conversation.id, { content: "hello" });
    for (let i = 0; i < 3; i++) await seller.send(conversation.id, { content: `before ${i}` });
    await expect.poll(() => got.length).toBe(4);

    await buyerNode.kill();
    // While the buyer is cut off: the seller keeps writing, and the buyer sends too.
    for (let i = 0; i < 3; i++) await seller.send(conversation.id, { content: `during ${i}` });
    const sent = await buyer.send(conversation.id, { content: "are you there?" });
    for (let i = 0; i < 2; i++) await seller.send(conversation.id, { content: `after ${i}` });

    await expect.poll(() => got.length, { timeout: 15_000 }).toBe(10);
    expect(got.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(new Set(got.map((m) => m.id)).size).toBe(10);
    expect(got.filter((m) => m.content === "are you there?")).toEqual([sent]);
    const stored = await seller.api.listMessages(conversation.id);
    expect(stored.items.map((m) => m.id)).toEqual(got.map((m) => m.id));
  });
});
