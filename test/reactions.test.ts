// Reactions (API.md additions, "Reactions"; README, same heading) on two real nodes sharing
// PostgreSQL and Redis: PUT/DELETE /api/messages/:id/reactions/:emoji and message:react, idempotent,
// message:reactions to every socket of both participants on both nodes, Message.reactions in every
// view, one emoji exactly as sent, at most 20 distinct, and the contract's errors for everything else.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSocket, emitAck, nextEvent, record, type ClientSocket } from "./support/app.js";
import type { NodeProcess } from "./support/cluster.js";
import { useTwoNodes } from "./support/two-nodes.js";
import { adminToken, token } from "./support/tokens.js";
import type { ConversationView, MessageView, ReactionView } from "../src/contract/shapes.js";
import type { MessageReactionsPayload } from "../src/contract/socket-events.js";

// 40 at once, refilling one per 90 s: the 41st in a row is refused however slow the machine.
const cluster = useTwoNodes({ RATE_LIMIT_REACTIONS: "40/1h" });
const http = cluster.http;
let a: NodeProcess;
let b: NodeProcess;
beforeAll(() => {
  ({ a, b } = cluster);
});

const adminSockets: ClientSocket[] = [];
afterAll(() => adminSockets.forEach((s) => s.close()));

const path = (messageId: string, emoji: string) => `/api/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`;
const react = (node: NodeProcess, jwt: string, messageId: string, emoji: string) => http(node, "PUT", path(messageId, emoji), jwt);
const unreact = (node: NodeProcess, jwt: string, messageId: string, emoji: string) => http(node, "DELETE", path(messageId, emoji), jwt);
const send = (node: NodeProcess, jwt: string, id: string, content: string) =>
  http(node, "POST", `/api/conversations/${id}/messages`, jwt, { clientId: randomUUID(), content });
const invalid = { status: 400, body: { error: { code: "validation_failed" } } };
const notFound = { status: 404, body: { error: { code: "not_found" } } };

/** A conversation with one message from the buyer (the seller then sees it). */
async function withMessage(tag: string) {
  const c = await cluster.conversation(`${tag}-${randomUUID().slice(0, 6)}`);
  const sent = await send(a, token(c.buyer), c.id, "Is it still available?");
  expect(sent.status).toBe(201);
  return { ...c, buyerJwt: token(c.buyer), sellerJwt: token(c.seller), message: sent.body as MessageView };
}

async function history(node: NodeProcess, jwt: string, conversationId: string): Promise<MessageView[]> {
  return (await http(node, "GET", `/api/conversations/${conversationId}/messages`, jwt)).body.items;
}

describe("reacting", () => {
  it("both participants' sockets on both nodes get message:reactions; the list counts and names reactors, first reactor first", async () => {
    const c = await withMessage("basic");
    const sockets = [await cluster.socket(a, c.buyer), await cluster.socket(b, c.buyer), await cluster.socket(a, c.seller), await cluster.socket(b, c.seller)];
    const events = sockets.map((s) => record<MessageReactionsPayload>(s, "message:reactions"));

    // message:new carries an empty list.
    const fresh = nextEvent<MessageView>(sockets[3]!, "message:new");
    const second = await send(b, c.sellerJwt, c.id, "Yes!");
    expect(second.body.reactions).toEqual([]);
    expect((await fresh).reactions).toEqual([]);

    expect(await react(a, c.buyerJwt, c.message.id, "👍")).toMatchObject({ status: 204, body: null });
    // The seller over the socket on node b: same emoji, then another one.
    expect(await emitAck(sockets[3]!, "message:react", { messageId: c.message.id, emoji: "👍", on: true })).toEqual({ ok: true, data: {} });
    expect(await emitAck(sockets[3]!, "message:react", { messageId: c.message.id, emoji: "😂", on: true })).toEqual({ ok: true, data: {} });
    const final: ReactionView[] = [
      { emoji: "👍", count: 2, userIds: [c.buyer, c.seller] },
      { emoji: "😂", count: 1, userIds: [c.seller] },
    ];
    for (const got of events) {
      await expect.poll(() => got.length).toBe(3);
      expect(got.map((e) => e.reactions)).toEqual([[{ emoji: "👍", count: 1, userIds: [c.buyer] }], [final[0]], final]);
      expect(got.every((e) => e.messageId === c.message.id && e.conversationId === c.id)).toBe(true);
    }
    // Every view of the message: history (both sides, both nodes), the conversation's last message
    // when it is the one, search.
    for (const [node, jwt] of [[a, c.buyerJwt], [b, c.sellerJwt]] as const) {
      expect((await history(node, jwt, c.id)).find((m) => m.id === c.message.id)!.reactions).toEqual(final);
    }
    expect(await react(b, c.sellerJwt, second.body.id, "🔥")).toMatchObject({ status: 204 });
    const view = (await http(a, "GET", `/api/conversations/${c.id}`, c.buyerJwt)).body as ConversationView;
    expect(view.lastMessage!.reactions).toEqual([{ emoji: "🔥", count: 1, userIds: [c.seller] }]);
    const found = await http(b, "GET", `/api/search?q=available&conversationId=${c.id}`, c.buyerJwt);
    expect(found.body.items[0].message.reactions).toEqual(final);
  });

  it("is idempotent: adding twice or removing what is not there is 204 and announces nothing", async () => {
    const c = await withMessage("idem");
    const buyerSocket = await cluster.socket(b, c.buyer);
    const events = record<MessageReactionsPayload>(buyerSocket, "message:reactions");
    expect((await react(a, c.buyerJwt, c.message.id, "🎉")).status).toBe(204);
    expect((await react(b, c.buyerJwt, c.message.id, "🎉")).status).toBe(204);
    expect((await unreact(a, c.sellerJwt, c.message.id, "🎉")).status).toBe(204);
    expect(await emitAck(buyerSocket, "message:react", { messageId: c.message.id, emoji: "🎉", on: true })).toEqual({ ok: true, data: {} });
    // Removed, and removed again; then a last change: the events are exactly the three changes.
    expect((await unreact(b, c.buyerJwt, c.message.id, "🎉")).status).toBe(204);
    expect((await unreact(a, c.buyerJwt, c.message.id, "🎉")).status).toBe(204);
    expect((await react(a, c.sellerJwt, c.message.id, "👀")).status).toBe(204);
    await expect.poll(() => events.length).toBe(3);
    expect(events.map((e) => e.reactions)).toEqual([
      [{ emoji: "🎉", count: 1, userIds: [c.buyer] }],
      [],
      [{ emoji: "👀", count: 1, userIds: [c.seller] }],
    ]);
    expect((await history(a, c.buyerJwt, c.id))[0]!.reactions).toEqual([{ emoji: "👀", count: 1, userIds: [c.seller] }]);
  });

  it("stores and returns the emoji exactly as sent: sequences, skin tones, flags, keycaps; ❤ and ❤️ are two", async () => {
    const c = await withMessage("exact");
    const emoji = ["👨‍👩‍👧‍👦", "👍🏽", "🇫🇷", "1️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "❤", "❤️", "🏳️‍🌈"];
    for (const e of emoji) expect((await react(b, c.sellerJwt, c.message.id, e)).status).toBe(204);
    const stored = (await history(a, c.buyerJwt, c.id))[0]!.reactions;
    expect(stored.map((r) => r.emoji)).toEqual(emoji);
    // Removing one takes exactly that one.
    expect((await unreact(a, c.sellerJwt, c.message.id, "❤")).status).toBe(204);
    expect((await history(b, c.sellerJwt, c.id))[0]!.reactions.map((r) => r.emoji)).toEqual(emoji.filter((e) => e !== "❤"));
  });
});

describe("bad input", () => {
  it("anything that is not exactly one emoji is validation_failed, over HTTP and the socket", async () => {
    const c = await withMessage("bad");
    const notOne = ["ab", "👍👍", "a", "1", "👍 ", " 👍", "🇫", "👍a", ":+1:", "\u200d", "x".repeat(100)];
    for (const e of notOne) expect(await react(a, c.buyerJwt, c.message.id, e), e).toMatchObject(invalid);
    expect(await unreact(a, c.buyerJwt, c.message.id, "ab")).toMatchObject(invalid);
    // An empty emoji segment names no reaction: validation_failed too.
    expect(await http(a, "PUT", `/api/messages/${c.message.id}/reactions/`, c.buyerJwt)).toMatchObject(invalid);
    const socket = await cluster.socket(b, c.buyer);
    for (const payload of [
      { messageId: c.message.id, emoji: "", on: true },
      { messageId: c.message.id, emoji: "👍👍", on: true },
      { messageId: c.message.id, emoji: "ab", on: false },
      { messageId: c.message.id, emoji: "👍", on: "yes" },
      { messageId: c.message.id, emoji: "👍" },
      { messageId: "not-a-uuid", emoji: "👍", on: true },
      { messageId: c.message.id, emoji: 5, on: true },
      null,
      "👍",
    ]) {
      expect(await emitAck(socket, "message:react", payload), JSON.stringify(payload)).toMatchObject({
        ok: false,
        error: { code: "validation_failed" },
      });
    }
    // Malformed percent-encoding in the path names nothing: not_found, in the contract's shape.
    expect(await http(a, "PUT", `/api/messages/${c.message.id}/reactions/%E0%A4%A`, c.buyerJwt)).toMatchObject(notFound);
    expect((await history(a, c.buyerJwt, c.id))[0]!.reactions).toEqual([]);
  });

  it("at most 20 distinct emoji: the 21st is validation_failed and nothing is written; existing ones still count up", async () => {
    const c = await withMessage("limit");
    const twenty = ["😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋", "😎", "😍", "😘", "🥰", "😗", "😙", "🥲", "😚", "🙂"];
    // Split over both participants and both nodes: the limit is per message, not per user or node.
    await Promise.all(
      twenty.map((e, i) => react(i % 2 ? a : b, i % 3 ? c.buyerJwt : c.sellerJwt, c.message.id, e).then((r) => expect(r.status).toBe(204))),
    );
    expect(await react(a, c.buyerJwt, c.message.id, "🤗")).toMatchObject(invalid);
    const socket = await cluster.socket(b, c.seller);
    expect(await emitAck(socket, "message:react", { messageId: c.message.id, emoji: "🤗", on: true })).toMatchObject({
      ok: false,
      error: { code: "validation_failed" },
    });
    // One of the twenty, by the other side: fine.
    expect((await react(b, c.sellerJwt, c.message.id, "😀")).status).toBe(204);
    expect((await react(b, c.buyerJwt, c.message.id, "😀")).status).toBe(204);
    const stored = (await history(a, c.buyerJwt, c.id))[0]!.reactions;
    expect(stored).toHaveLength(20);
    expect(stored.find((r) => r.emoji === "😀")!.count).toBe(2);
    expect(stored.some((r) => r.emoji === "🤗")).toBe(false);
    // Freeing a slot lets a new emoji in.
    for (const who of [c.buyerJwt, c.sellerJwt]) expect((await unreact(a, who, c.message.id, "🙂")).status).toBe(204);
    expect((await react(a, c.buyerJwt, c.message.id, "🤗")).status).toBe(204);
  });

  it("strangers, message ids of other conversations and unknown ids get not_found; an unsent message conflict", async () => {
    const c = await withMessage("who");
    const other = await withMessage("other");
    // A participant of `other` reacting on a message of `c`, over HTTP and the socket.
    expect(await react(a, other.buyerJwt, c.message.id, "👍")).toMatchObject(notFound);
    expect(await unreact(b, other.sellerJwt, c.message.id, "👍")).toMatchObject(notFound);
    const socket = await cluster.socket(a, other.buyer);
    expect(await emitAck(socket, "message:react", { messageId: c.message.id, emoji: "👍", on: true })).toMatchObject({
      ok: false,
      error: { code: "not_found" },
    });
    expect(await react(a, token(`stranger-${randomUUID()}`), c.message.id, "👍")).toMatchObject(notFound);
    // An admin is no participant of a listing conversation.
    expect(await react(b, adminToken(), c.message.id, "👍")).toMatchObject(notFound);
    expect(await react(a, c.buyerJwt, randomUUID(), "👍")).toMatchObject(notFound);
    expect(await react(a, c.buyerJwt, "not-a-uuid", "👍")).toMatchObject(notFound);
    expect((await history(a, c.buyerJwt, c.id))[0]!.reactions).toEqual([]);

    expect((await react(a, c.sellerJwt, c.message.id, "👍")).status).toBe(204);
    expect((await http(a, "DELETE", `/api/messages/${c.message.id}`, c.buyerJwt)).status).toBe(204);
    expect(await react(b, c.sellerJwt, c.message.id, "😮")).toMatchObject({ status: 409, body: { error: { code: "conflict" } } });
    expect(await unreact(b, c.sellerJwt, c.message.id, "👍")).toMatchObject({ status: 409, body: { error: { code: "conflict" } } });
    expect((await http(a, "PUT", "/api/messages/x/reactions/x", "not-a-token")).status).toBe(401);
  });

  it("a blocked pair cannot react to each other (blocked)", async () => {
    const c = await withMessage("block");
    expect((await http(a, "POST", "/api/blocks", c.sellerJwt, { userId: c.buyer })).status).toBe(201);
    expect(await react(b, c.sellerJwt, c.message.id, "👍")).toMatchObject({ status: 403, body: { error: { code: "blocked" } } });
    expect(await react(a, c.buyerJwt, c.message.id, "👍")).toMatchObject({ status: 403, body: { error: { code: "blocked" } } });
  });

  it("is rate limited per user like sends (429 with Retry-After; the socket's retryAfterMs)", async () => {
    const c = await withMessage("rate");
    let refused: Response | undefined;
    for (let i = 0; i < 45 && !refused; i++) {
      const res = await fetch(`${a.url}${path(c.message.id, i % 2 ? "👍" : "👎")}`, {
        method: i % 4 < 2 ? "PUT" : "DELETE",
        headers: { authorization: `Bearer ${c.buyerJwt}` },
      });
      if (res.status === 429) refused = res;
      else expect(res.status).toBe(204);
    }
    expect(refused).toBeDefined();
    expect(Number(refused!.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await refused!.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
    const socket = await cluster.socket(a, c.buyer);
    const ack = await emitAck<{ ok: false; error: { code: string; retryAfterMs: number } }>(socket, "message:react", {
      messageId: c.message.id,
      emoji: "👍",
      on: true,
    });
    expect(ack).toMatchObject({ ok: false, error: { code: "rate_limited" } });
    expect(ack.error.retryAfterMs).toBeGreaterThan(0);
  });
});

describe("support conversations", () => {
  it("admins react as themselves; the user and every admin get message:reactions", async () => {
    const userId = `u-react-${randomUUID().slice(0, 8)}`;
    const conversation = (await http(a, "POST", "/api/support/conversations", token(userId))).body as ConversationView;
    const msg = (await send(b, token(userId), conversation.id, "My order never arrived")).body as MessageView;
    const userSocket = await cluster.socket(b, userId);
    const otherAdmin = await connectSocket(a.url, adminToken("admin-r2"));
    adminSockets.push(otherAdmin);
    const toUser = nextEvent<MessageReactionsPayload>(userSocket, "message:reactions");
    const toOtherAdmin = nextEvent<MessageReactionsPayload>(otherAdmin, "message:reactions");
    expect((await react(a, adminToken("admin-r1"), msg.id, "👀")).status).toBe(204);
    const expected = { messageId: msg.id, conversationId: conversation.id, reactions: [{ emoji: "👀", count: 1, userIds: ["admin-r1"] }] };
    expect(await toUser).toEqual(expected);
    expect(await toOtherAdmin).toEqual(expected);
    // The user reacts to an admin's message over the socket.
    const answer = (await send(a, adminToken("admin-r2"), conversation.id, "Looking into it")).body as MessageView;
    expect(await emitAck(userSocket, "message:react", { messageId: answer.id, emoji: "🙏", on: true })).toEqual({ ok: true, data: {} });
    const items = await history(a, adminToken("admin-r3"), conversation.id);
    expect(items.map((m) => m.reactions)).toEqual([expected.reactions, [{ emoji: "🙏", count: 1, userIds: [userId] }]]);
    // Another user's support conversation is not theirs to react in.
    expect(await react(a, token(`someone-${randomUUID()}`), msg.id, "👍")).toMatchObject(notFound);
  });
});
