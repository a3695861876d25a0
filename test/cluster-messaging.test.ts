// Two real server processes sharing PostgreSQL and Redis: every socket of both participants gets
// every message exactly once and in seq order, whichever node took it.
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { connectSocket, emitAck, record, type TestEnv } from "./support/app.js";
import { startNode, type NodeProcess } from "./support/cluster.js";
import { useTwoNodes } from "./support/two-nodes.js";
import { token } from "./support/tokens.js";

const cluster = useTwoNodes();
const http = cluster.http;
let a: NodeProcess;
let b: NodeProcess;
let env: TestEnv;
beforeAll(() => {
  ({ a, b, env } = cluster);
});

const conversation = (tag: string) => cluster.conversation(tag);
const socket = (node: NodeProcess, user: string) => cluster.socket(node, user);

type Msg = { id: string; seq: number; conversationId: string; clientId: string };

describe("across nodes", () => {
  it("60 concurrent sends from both participants through two nodes: seq 1..60, every socket gets each once, in order", async () => {
    const c = await conversation("conc");
    // Each participant has a socket on each node; the seller's first sockets exist before seq 1.
    const devices = [await socket(a, c.buyer), await socket(b, c.buyer), await socket(a, c.seller), await socket(b, c.seller)];
    const received = devices.map((d) => record<Msg>(d, "message:new"));
    const senders = [devices[0]!, devices[1]!, devices[2]!, devices[3]!];
    const n = 60;
    const acks = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        emitAck<{ ok: boolean; data: Msg }>(senders[i % 4]!, "message:send", { conversationId: c.id, clientId: randomUUID(), content: `m${i}` }),
      ),
    );
    expect(acks.every((ack) => ack.ok)).toBe(true);
    expect(acks.map((ack) => ack.data.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    for (const got of received) {
      await expect.poll(() => got.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(n);
    }
    for (const got of received) {
      expect(got.map((m) => m.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    }
    // And the database agrees: no gap, no duplicate.
    const history = await http(a, "GET", `/api/conversations/${c.id}/messages?limit=100`, token(c.buyer));
    expect(history.body.items.map((m: Msg) => m.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  });

  it("a small pool survives bursts: 4 first messages at once, 20 sends into one conversation, all stored and delivered", async () => {
    // Senders queued on a busy conversation must not hold pooled connections, and the first
    // message's extra read must not need a second one: with 2 connections either mistake stalls.
    const small = await startNode(env, "node-small-pool", { DATABASE_POOL_SIZE: "2" });
    try {
      const convs = await Promise.all(["p1", "p2", "p3", "p4"].map((t) => conversation(`pool-${t}`)));
      const sellers = await Promise.all(convs.map((c) => socket(small, c.seller)));
      const opened = sellers.map((s) => record<{ id: string }>(s, "conversation:new"));
      const buyers = await Promise.all(convs.map((c) => socket(small, c.buyer)));
      const firsts = await Promise.all(
        convs.map((c, i) => emitAck<{ ok: boolean }>(buyers[i]!, "message:send", { conversationId: c.id, clientId: randomUUID(), content: "first" })),
      );
      expect(firsts.every((a) => a.ok)).toBe(true);
      for (const got of opened) await expect.poll(() => got.length).toBe(1);
      const burst = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          emitAck<{ ok: boolean }>(buyers[0]!, "message:send", { conversationId: convs[0]!.id, clientId: randomUUID(), content: `b${i}` }),
        ),
      );
      expect(burst.every((a) => a.ok)).toBe(true);
    } finally {
      await small.stop();
    }
  });

  it("a client that loses its ack, reconnects to the other node and resends gets the same message, delivered once", async () => {
    const c = await conversation("retry");
    const seller = await socket(b, c.seller);
    const everything = record<Msg>(seller, "message:new");
    // The conversation must be visible to the seller first: a first message opens it.
    const buyerA = await socket(a, c.buyer);
    await emitAck(buyerA, "message:send", { conversationId: c.id, clientId: randomUUID(), content: "hello" });
    // Only what comes after "hello" (seq 1) matters below; its own event may still be on its way.
    const after = () => everything.filter((m) => m.seq > 1);

    const clientId = randomUUID();
    // Fire and forget: the ack is "lost" because the socket goes away before we look at it.
    buyerA.emit("message:send", { conversationId: c.id, clientId, content: "is it still available?" }, () => undefined);
    await expect.poll(() => after().some((m) => m.clientId === clientId), { timeout: 10_000 }).toBe(true);
    buyerA.close();

    const buyerB = await socket(b, c.buyer);
    const resend = await emitAck<{ ok: boolean; data: Msg }>(buyerB, "message:send", { conversationId: c.id, clientId, content: "is it still available?" });
    expect(resend.ok).toBe(true);
    const original = after().find((m) => m.clientId === clientId)!;
    expect(resend.data.id).toBe(original.id);
    expect(resend.data.seq).toBe(original.seq);

    const fence = await emitAck<{ ok: boolean; data: Msg }>(buyerB, "message:send", { conversationId: c.id, clientId: randomUUID(), content: "fence" });
    await expect.poll(() => after().some((m) => m.id === fence.data.id)).toBe(true);
    expect(after().filter((m) => m.clientId === clientId)).toHaveLength(1);
    expect(after().map((m) => m.seq)).toEqual([original.seq, fence.data.seq]);
  });

  it("a reconnecting client catches up exactly with ?after=<last seq seen>", async () => {
    const c = await conversation("catchup");
    const buyer = await socket(a, c.buyer);
    for (let i = 0; i < 5; i++) await emitAck(buyer, "message:send", { conversationId: c.id, clientId: randomUUID(), content: `m${i}` });
    const list = await http(b, "GET", "/api/conversations", token(c.seller));
    const conv = list.body.items.find((x: { id: string }) => x.id === c.id);
    expect(conv.lastSeq).toBe(5);
    const gap = await http(b, "GET", `/api/conversations/${c.id}/messages?after=2`, token(c.seller));
    expect(gap.body.items.map((m: Msg) => m.seq)).toEqual([3, 4, 5]);
  });

  it("SIGTERM drains: the node exits 0 and its sockets are told to go", async () => {
    const extra = await startNode(env, "node-drain");
    const s = await connectSocket(extra.url, token("drain-user"));
    const disconnected = new Promise<string>((resolve) => s.once("disconnect", (reason) => resolve(reason)));
    expect(await extra.stop()).toBe(0);
    expect(await disconnected).toBe("io server disconnect");
    s.close();
  });
});
