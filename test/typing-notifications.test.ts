// Typing indicators and in-app notifications with real server processes: who gets what, on which
// node, the typing expiry (also when the typist's node is killed), rate limits and bad input.
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { emitAck, nextEvent, record, type ClientSocket } from "./support/app.js";
import type { NodeProcess } from "./support/cluster.js";
import { useTwoNodes } from "./support/two-nodes.js";
import { token } from "./support/tokens.js";

const TYPING_TIMEOUT_MS = 1500;
const NODE_ENV = { TYPING_TIMEOUT_MS: String(TYPING_TIMEOUT_MS) };

const cluster = useTwoNodes(NODE_ENV);
const http = cluster.http;
let a: NodeProcess;
let b: NodeProcess;
beforeAll(() => {
  ({ a, b } = cluster);
});

/** A conversation with a first message, so the seller sees it and may join it. */
const conversation = (tag: string) => cluster.conversation(tag, { firstMessage: true });

async function send(node: NodeProcess, user: string, conversationId: string, content: string) {
  const res = await http(node, "POST", `/api/conversations/${conversationId}/messages`, token(user), { clientId: randomUUID(), content });
  expect(res.status).toBe(201);
  return res.body as { id: string; seq: number };
}

const socket = (node: NodeProcess, user: string, joinConversation?: string) => cluster.socket(node, user, joinConversation);

/** Waits until every socket got message:new for `messageId`: whatever was emitted before it has arrived. */
async function fence(node: NodeProcess, user: string, conversationId: string, all: ClientSocket[]) {
  const waits = all.map((s) => nextEvent<{ content: string }>(s, "message:new", (m) => m.content === "fence"));
  await send(node, user, conversationId, "fence");
  await Promise.all(waits);
}

type Typing = { conversationId: string; userId: string };

describe("typing", () => {
  it("reaches only the other participant's sockets that joined, on every node; an ack is answered when given", async () => {
    const c = await conversation("route");
    const typist = await socket(a, c.buyer, c.id);
    const typistOther = await socket(b, c.buyer, c.id);
    const sellerOnB = await socket(b, c.seller, c.id);
    const sellerOnA = await socket(a, c.seller, c.id);
    const sellerAway = await socket(a, c.seller);
    const watched = { typistOther, sellerOnB, sellerOnA, sellerAway };
    const starts = Object.fromEntries(Object.entries(watched).map(([k, s]) => [k, record<Typing>(s, "typing:start")]));
    const stops = Object.fromEntries(Object.entries(watched).map(([k, s]) => [k, record<Typing>(s, "typing:stop")]));

    expect(await emitAck(typist, "typing:start", { conversationId: c.id })).toEqual({ ok: true, data: {} });
    const expected = { conversationId: c.id, userId: c.buyer };
    await expect.poll(() => [starts.sellerOnB, starts.sellerOnA]).toEqual([[expected], [expected]]);
    typist.emit("typing:stop", { conversationId: c.id });
    await expect.poll(() => [stops.sellerOnB, stops.sellerOnA]).toEqual([[expected], [expected]]);

    await fence(b, c.seller, c.id, Object.values(watched));
    expect(starts).toEqual({ typistOther: [], sellerOnB: [expected], sellerOnA: [expected], sellerAway: [] });
    expect(stops).toEqual({ typistOther: [], sellerOnB: [expected], sellerOnA: [expected], sellerAway: [] });
  });

  it("a start that is not refreshed ends by itself with typing:stop; refreshes keep it going", async () => {
    const c = await conversation("expiry");
    const typist = await socket(a, c.buyer, c.id);
    const receiver = await socket(b, c.seller, c.id);
    const stops = record<Typing>(receiver, "typing:stop");

    const started = nextEvent<Typing>(receiver, "typing:start");
    typist.emit("typing:start", { conversationId: c.id });
    await started;
    // Refreshing faster than the timeout, for longer than the timeout: no stop meanwhile.
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, TYPING_TIMEOUT_MS / 3));
      typist.emit("typing:start", { conversationId: c.id });
    }
    const lastRefresh = Date.now();
    // The receiver's own node times the indicator out and emits the stop straight to its socket
    // (no bus): a stop during the refreshes would have arrived by now.
    expect(stops).toEqual([]);
    const stopped = await nextEvent<Typing>(receiver, "typing:stop");
    expect(stopped).toEqual({ conversationId: c.id, userId: c.buyer });
    console.log(`typing:stop ${Date.now() - lastRefresh} ms after the last refresh (TYPING_TIMEOUT_MS=${TYPING_TIMEOUT_MS})`);
  });

  it("ends with typing:stop when the typist's node is killed (the receivers' nodes expire it)", async () => {
    const doomed = await cluster.startNode("node-doomed");
    const c = await conversation("killed");
    const typist = await socket(doomed, c.buyer, c.id);
    const receiver = await socket(a, c.seller, c.id);
    const started = nextEvent<Typing>(receiver, "typing:start");
    expect(await emitAck(typist, "typing:start", { conversationId: c.id })).toEqual({ ok: true, data: {} });
    await started;
    const stopped = nextEvent<Typing>(receiver, "typing:stop");
    await doomed.kill();
    expect(await stopped).toEqual({ conversationId: c.id, userId: c.buyer });
  });

  it("closing the typist's socket stops its indicator at once", async () => {
    const c = await conversation("closed");
    const typist = await socket(b, c.buyer, c.id);
    const receiver = await socket(a, c.seller, c.id);
    const started = nextEvent<Typing>(receiver, "typing:start");
    typist.emit("typing:start", { conversationId: c.id });
    await started;
    const stopped = nextEvent<Typing>(receiver, "typing:stop");
    const closedAt = Date.now();
    typist.close();
    expect(await stopped).toEqual({ conversationId: c.id, userId: c.buyer });
    console.log(`typing:stop ${Date.now() - closedAt} ms after the typist's socket closed`);
  });

  it("the typist's message ends their indicator", async () => {
    const c = await conversation("sent");
    const typist = await socket(a, c.buyer, c.id);
    const receiver = await socket(b, c.seller, c.id);
    const started = nextEvent<Typing>(receiver, "typing:start");
    typist.emit("typing:start", { conversationId: c.id });
    await started;
    const seen: string[] = [];
    receiver.on("typing:stop", (p) => seen.push(`stop ${p.userId}`));
    receiver.on("message:new", (m) => seen.push(m.content!));
    await emitAck(typist, "message:send", { conversationId: c.id, clientId: randomUUID(), content: "done typing" });
    // Events of one bus are delivered in order: by the seller's next message, a stop caused by
    // the buyer's message has arrived (an expiry would come a timeout later).
    await fence(b, c.seller, c.id, [receiver]);
    expect(seen.filter((e) => e !== "done typing")).toEqual([`stop ${c.buyer}`, "fence"]);
  });

  it("is rate-limited per socket: rate_limited with retryAfterMs in the ack, silently dropped without one", async () => {
    const c = await conversation("flood");
    const typist = await socket(a, c.buyer, c.id);
    const receiver = await socket(b, c.seller, c.id);
    const starts = record<Typing>(receiver, "typing:start");
    for (let i = 0; i < 100; i++) typist.emit("typing:start", { conversationId: c.id });
    const acks = await Promise.all(
      Array.from({ length: 30 }, () => emitAck<{ ok: boolean; error?: { code: string; retryAfterMs?: number } }>(typist, "typing:stop", { conversationId: c.id })),
    );
    const limited = acks.filter((r) => !r.ok);
    expect(limited.length).toBeGreaterThanOrEqual(25);
    expect(limited[0]!.error).toEqual({ code: "rate_limited", message: expect.any(String), retryAfterMs: expect.any(Number) });
    expect(limited[0]!.error!.retryAfterMs).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, limited.at(-1)!.error!.retryAfterMs));
    expect(await emitAck(typist, "typing:start", { conversationId: c.id })).toEqual({ ok: true, data: {} });
    await fence(a, c.buyer, c.id, [receiver]);
    // A flood of starts is relayed as a handful of refreshes, not a hundred events.
    expect(starts.length).toBeLessThanOrEqual(3);
  });

  it("unknown or foreign conversations get not_found (typing and join alike) and leak nothing; bad payloads never crash a node", async () => {
    const mine = await conversation("bad-mine");
    const theirs = await conversation("bad-theirs");
    const intruder = await socket(a, mine.buyer);
    const victims = [await socket(a, theirs.seller, theirs.id), await socket(b, theirs.buyer, theirs.id)];
    const leaks = victims.flatMap((v) => [record(v, "typing:start"), record(v, "typing:stop")]);

    const notFound = { ok: false, error: { code: "not_found", message: expect.any(String) } };
    const unknown = randomUUID();
    const answers = [];
    for (const event of ["typing:start", "typing:stop", "conversation:join"]) {
      for (const conversationId of [theirs.id, unknown]) {
        const ack = await emitAck<{ error: { message: string } }>(intruder, event, { conversationId });
        expect(ack, `${event} ${conversationId}`).toEqual(notFound);
        answers.push(ack.error.message);
      }
      intruder.emit(event as "typing:start", { conversationId: theirs.id });
    }
    // The same answer for a conversation that exists and one that does not: nothing to probe.
    expect(new Set(answers).size).toBe(1);

    const bad: unknown[] = [null, 42, "text", [], {}, { conversationId: 5 }, { conversationId: "x".repeat(100_000) }, { conversationId: "not-a-uuid" }];
    for (const payload of bad) {
      const ack = await emitAck<{ ok: boolean; error: { code: string } }>(intruder, "typing:start", payload);
      expect(ack.ok, JSON.stringify(payload).slice(0, 40)).toBe(false);
      expect(ack.error.code).toBe("validation_failed");
      (intruder as unknown as { emit: (...args: unknown[]) => void }).emit("typing:stop", payload);
    }
    (intruder as unknown as { emit: (...args: unknown[]) => void }).emit("typing:start");

    await fence(b, theirs.seller, theirs.id, victims);
    expect(leaks.flat()).toEqual([]);
    // The node is still there and still answers.
    expect((await http(a, "GET", "/healthz", token(mine.buyer))).status).toBe(200);
    expect(intruder.connected).toBe(true);
  });
});

describe("notifications", () => {
  type Notification = { type: string; conversationId: string; message: { id: string; content: string | null } };

  it("go to the recipient's sockets that have not joined the conversation, on every node; never to joined ones nor to the sender", async () => {
    const c = await conversation("notify");
    const sellerJoined = await socket(a, c.seller, c.id);
    const sellerAwayB = await socket(b, c.seller);
    const sellerAwayA = await socket(a, c.seller);
    const buyerJoined = await socket(b, c.buyer, c.id);
    const buyerAway = await socket(a, c.buyer);
    const all = { sellerJoined, sellerAwayB, sellerAwayA, buyerJoined, buyerAway };
    const got = Object.fromEntries(Object.entries(all).map(([k, s]) => [k, record<Notification>(s, "notification")]));
    // The fence's own notifications may still be on their way when its message:new has arrived
    // everywhere: they are left out (what the fence orders is everything sent before it).
    const ids = () =>
      Object.fromEntries(Object.entries(got).map(([k, list]) => [k, list.filter((n) => n.message.content !== "fence").map((n) => n.message.id)]));

    const sent = await emitAck<{ ok: boolean; data: { id: string } }>(buyerJoined, "message:send", { conversationId: c.id, clientId: randomUUID(), content: "ping" });
    expect(sent.ok).toBe(true);
    await expect.poll(() => got.sellerAwayB!.length).toBe(1);
    expect(got.sellerAwayB![0]).toEqual({ type: "message", conversationId: c.id, message: expect.objectContaining({ id: sent.data.id, content: "ping" }) });

    // A message from the seller: the buyer's away socket is told, the seller's devices are not.
    const reply = await send(b, c.seller, c.id, "pong");
    await expect.poll(() => got.buyerAway!.length).toBe(1);

    // Leaving the conversation makes a socket "away" again.
    expect(await emitAck(sellerJoined, "conversation:leave", { conversationId: c.id })).toEqual({ ok: true, data: {} });
    const after = await send(a, c.buyer, c.id, "after leave");

    await fence(a, c.buyer, c.id, Object.values(all));
    expect(ids()).toEqual({
      sellerJoined: [after.id],
      sellerAwayB: [sent.data.id, after.id],
      sellerAwayA: [sent.data.id, after.id],
      buyerJoined: [],
      buyerAway: [reply.id],
    });
  });
});
