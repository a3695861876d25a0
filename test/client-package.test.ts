// @marketchat/client in Node against a real node (PostgreSQL, Redis): the views apps render —
// conversation list, threads, unread counts, presence — follow the live events; the outbox
// queues sends while offline and delivers each once, in order; uploads report progress; edits,
// unsends, replies, read pointers ("seen"), typing with throttling, token refresh; a node that
// stops and disconnects its sockets is left for another.
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import sharp from "sharp";
import { ChatClient, ChatError, type ChatClientOptions, type MessageView } from "@marketchat/client";
import { buildApp } from "../src/app.js";
import { emitAck, makeConversation, record, startApp, testConfig, useTestApp } from "./support/app.js";
import jwt from "jsonwebtoken";
import { TEST_SECRET, token } from "./support/tokens.js";

const t = useTestApp({ PRESENCE_GRACE_MS: "0", RATE_LIMIT_MESSAGES: "off" });
const clients: ChatClient[] = [];
afterAll(() => clients.forEach((c) => c.close()));

function client(user: string | ChatClientOptions["token"], options: Partial<ChatClientOptions> = {}): ChatClient {
  const c = new ChatClient({
    url: t.url,
    token: typeof user === "string" ? token(user) : user,
    socket: { transports: ["websocket"], reconnectionDelay: 50, reconnectionDelayMax: 200 },
    ackTimeoutMs: 3_000,
    ...options,
  });
  clients.push(c);
  return c;
}

async function pair(tag: string) {
  const c = await makeConversation(t.app, `${tag}-${randomUUID().slice(0, 8)}`);
  const buyer = client(c.buyer);
  const seller = client(c.seller);
  await Promise.all([buyer.ready(), seller.ready()]);
  return { ...c, buyerClient: buyer, sellerClient: seller };
}

const contents = (messages: readonly MessageView[]) => messages.map((m) => m.content);

describe("conversation list", () => {
  it("shows the seller a conversation when the buyer's first message opens it, and keeps counts and order live", async () => {
    const c = await pair("list");
    const other = await makeConversation(t.app, `list-other-${randomUUID().slice(0, 8)}`);
    // The seller of `c` also buys elsewhere: a second conversation in their list.
    const sellerList = c.sellerClient.conversations();
    sellerList.retain();
    await expect.poll(() => sellerList.getSnapshot().status).toBe("ready");
    expect(sellerList.getSnapshot().items).toEqual([]);

    const buyerList = c.buyerClient.conversations();
    buyerList.retain();
    await expect.poll(() => buyerList.getSnapshot().items.map((x) => x.id)).toEqual([c.conversationId]);

    await c.buyerClient.send(c.conversationId, { content: "Is it available?" });
    await expect.poll(() => sellerList.getSnapshot().items.map((x) => x.id)).toEqual([c.conversationId]);
    const line = sellerList.getSnapshot().items[0]!;
    expect(line.lastMessage?.content).toBe("Is it available?");
    expect(line.unreadCount).toBe(1);

    await c.buyerClient.send(c.conversationId, { content: "Still there?" });
    await expect.poll(() => sellerList.getSnapshot().items[0]?.unreadCount).toBe(2);
    expect(buyerList.getSnapshot().items[0]!.unreadCount).toBe(0);

    await c.sellerClient.markRead(c.conversationId);
    await expect.poll(() => sellerList.getSnapshot().items[0]?.unreadCount).toBe(0);
    expect(other.conversationId).not.toBe(c.conversationId);
  });
});

describe("thread", () => {
  it("loads the latest page, older pages on demand, then every new message once in seq order", async () => {
    const c = await pair("thread");
    for (let i = 1; i <= 12; i++) {
      const res = await t.send(c.buyerToken, c.conversationId, { clientId: randomUUID(), content: `m${i}` });
      expect(res.statusCode).toBe(201);
    }
    const seller = client(c.seller, { messagePageSize: 5 });
    const thread = seller.thread(c.conversationId);
    thread.retain();
    await expect.poll(() => thread.getSnapshot().status).toBe("ready");
    expect(thread.getSnapshot().messages.map((m) => m.seq)).toEqual([8, 9, 10, 11, 12]);
    expect(thread.getSnapshot().hasOlder).toBe(true);
    await thread.loadOlder();
    await thread.loadOlder();
    expect(thread.getSnapshot().messages.map((m) => m.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(thread.getSnapshot().hasOlder).toBe(false);

    await Promise.all([c.buyerClient.send(c.conversationId, { content: "a" }), c.buyerClient.send(c.conversationId, { content: "b" })]);
    await thread.send("c");
    await expect.poll(() => thread.getSnapshot().messages.length).toBe(15);
    const seqs = thread.getSnapshot().messages.map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(contents(thread.getSnapshot().messages.slice(-3))).toEqual(["a", "b", "c"]);
    expect(thread.getSnapshot().outgoing).toEqual([]);
  });

  it("queues sends while offline and delivers each once, in the order made, after the reconnect", async () => {
    const c = await pair("outbox");
    const thread = c.buyerClient.thread(c.conversationId);
    thread.retain();
    await expect.poll(() => thread.getSnapshot().status).toBe("ready");
    await thread.send("zero");
    const sellerThread = c.sellerClient.thread(c.conversationId);
    sellerThread.retain();
    await expect.poll(() => sellerThread.getSnapshot().status).toBe("ready");

    c.buyerClient.socket.disconnect();
    await expect.poll(() => c.buyerClient.connection.getSnapshot().status).toBe("reconnecting");
    const sends = ["one", "two", "three"].map((content) => thread.send(content));
    await expect.poll(() => thread.getSnapshot().outgoing.map((o) => [o.content, o.status])).toEqual([
      ["one", "queued"],
      ["two", "queued"],
      ["three", "queued"],
    ]);
    expect(contents(thread.getSnapshot().messages)).toEqual(["zero"]);

    c.buyerClient.socket.connect();
    const stored = await Promise.all(sends);
    expect(stored.map((m) => m.seq)).toEqual([2, 3, 4]);
    await expect.poll(() => contents(sellerThread.getSnapshot().messages)).toEqual(["zero", "one", "two", "three"]);
    expect(contents(thread.getSnapshot().messages)).toEqual(["zero", "one", "two", "three"]);
    expect(thread.getSnapshot().outgoing).toEqual([]);
  });

  it("keeps a refused send in the outbox as failed, with the contract's error, until discarded", async () => {
    const c = await pair("refused");
    const thread = c.buyerClient.thread(c.conversationId);
    thread.retain();
    await expect.poll(() => thread.getSnapshot().status).toBe("ready");
    const err = await thread.send("x".repeat(4001)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChatError);
    expect((err as ChatError).code).toBe("validation_failed");
    expect(thread.getSnapshot().outgoing).toMatchObject([{ status: "failed", error: { code: "validation_failed" } }]);
    c.buyerClient.discard(thread.getSnapshot().outgoing[0]!.clientId);
    expect(thread.getSnapshot().outgoing).toEqual([]);
  });

  it("uploads with progress and sends the image as one message with its thumbnail", async () => {
    const c = await pair("upload");
    const thread = c.buyerClient.thread(c.conversationId);
    thread.retain();
    await expect.poll(() => thread.getSnapshot().status).toBe("ready");
    const png = await sharp({ create: { width: 320, height: 200, channels: 3, background: "#c33" } }).png().toBuffer();
    const file = new File([png], "bike.png", { type: "image/png" });
    const progress: number[] = [];
    const statuses = new Set<string>();
    const stop = c.buyerClient.outbox.subscribe(() => {
      for (const o of c.buyerClient.outbox.getSnapshot()) {
        statuses.add(o.status);
        if (o.progress) progress.push(o.progress.loaded / o.progress.total);
      }
    });
    const sent = await thread.sendFiles([file], { content: "the bike" });
    stop();
    expect(statuses.has("uploading")).toBe(true);
    expect(progress[0]).toBe(0);
    expect(progress.at(-1)).toBe(1);
    expect(sent).toMatchObject({ type: "mixed", content: "the bike", attachments: [{ kind: "image", mimeType: "image/jpeg" }] });
    const thumb = await fetch(new URL(sent.attachments[0]!.thumbnailUrl!, t.url));
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get("content-type")).toMatch(/^image\//);

    const direct: number[] = [];
    const attachments = await c.buyerClient.upload([file], { onProgress: (p) => direct.push(p.loaded) });
    expect(attachments).toHaveLength(1);
    expect(direct.length).toBeGreaterThanOrEqual(2);
  });

  it("edits, unsends and replies reach the other side's thread", async () => {
    const c = await pair("edit");
    const buyerThread = c.buyerClient.thread(c.conversationId);
    const sellerThread = c.sellerClient.thread(c.conversationId);
    buyerThread.retain();
    sellerThread.retain();
    // The seller sees a conversation from its first message on: their thread loads once it comes.
    const first = await buyerThread.send("Is it red?");
    await expect.poll(() => sellerThread.getSnapshot().messages.map((m) => m.id)).toEqual([first.id]);
    const reply = await sellerThread.send({ content: "Yes, red", replyToId: first.id });
    expect(reply.replyToId).toBe(first.id);
    await buyerThread.edit(first.id, "Is it blue?");
    await expect.poll(() => sellerThread.getSnapshot().messages.find((m) => m.id === first.id)?.content).toBe("Is it blue?");
    expect(sellerThread.getSnapshot().messages.find((m) => m.id === first.id)?.editedAt).not.toBeNull();
    await sellerThread.unsend(reply.id);
    await expect.poll(() => buyerThread.getSnapshot().messages.find((m) => m.id === reply.id)?.deletedAt).not.toBeNull();
    expect(buyerThread.getSnapshot().messages.find((m) => m.id === reply.id)?.content).toBeNull();
    const err = await c.sellerClient.edit(first.id, "mine now").catch((e: unknown) => e);
    expect((err as ChatError).code).toBe("forbidden");
  });

  it("shows 'seen' on the sender's message once the other side reads it", async () => {
    const c = await pair("seen");
    const buyerThread = c.buyerClient.thread(c.conversationId);
    buyerThread.retain();
    await expect.poll(() => buyerThread.getSnapshot().status).toBe("ready");
    const sent = await buyerThread.send("hello");
    expect(buyerThread.seen(sent)).toBe(false);
    const sellerThread = c.sellerClient.thread(c.conversationId);
    sellerThread.retain();
    await expect.poll(() => sellerThread.getSnapshot().messages.length).toBe(1);
    await sellerThread.markRead();
    await expect.poll(() => buyerThread.seen(sent)).toBe(true);
  });

  it("throttles typing:start while the user types and stops when they pause", async () => {
    const c = await pair("typing");
    await c.buyerClient.send(c.conversationId, { content: "hi" });
    const typist = client(c.buyer, { typingThrottleMs: 1_000, typingIdleMs: 300 });
    await typist.ready();
    const watcher = await t.socket(c.sellerToken);
    expect(await emitAck(watcher, "conversation:join", { conversationId: c.conversationId })).toMatchObject({ ok: true });
    const starts = record(watcher, "typing:start");
    const stops = record(watcher, "typing:stop");
    const sellerThread = c.sellerClient.thread(c.conversationId);
    sellerThread.retain();
    await expect.poll(() => sellerThread.getSnapshot().status).toBe("ready");
    // The seller's view joins the room after loading starts: wait for its join to be acked.
    await c.sellerClient.request("conversation:join", { conversationId: c.conversationId });

    // Every state the seller's view goes through (polling could miss a short one on a busy machine).
    const shown: string[][] = [];
    sellerThread.subscribe(() => shown.push(sellerThread.getSnapshot().typing));
    for (let i = 0; i < 20; i++) typist.typing(c.conversationId);
    await expect.poll(() => stops.length).toBe(1);
    expect(starts).toHaveLength(1);
    await expect.poll(() => shown).toEqual([[c.buyer], []]);
  });
});

describe("unread, presence, tokens", () => {
  it("counts unread messages live and settles them after a read", async () => {
    const c = await pair("unread");
    const unread = c.sellerClient.unread();
    unread.retain();
    await expect.poll(() => unread.getSnapshot().status).toBe("ready");
    expect(unread.getSnapshot().total).toBe(0);
    await c.buyerClient.send(c.conversationId, { content: "1" });
    await c.buyerClient.send(c.conversationId, { content: "2" });
    await expect.poll(() => unread.getSnapshot().total).toBe(2);
    expect(unread.getSnapshot().byConversation[c.conversationId]).toBe(2);
    await c.sellerClient.markRead(c.conversationId);
    await expect.poll(() => unread.getSnapshot().total).toBe(0);
  });

  it("shows the other participant online, then offline with a last-seen time", async () => {
    const c = await pair("presence");
    await c.buyerClient.send(c.conversationId, { content: "hi" });
    const presence = c.buyerClient.presence();
    const unwatch = presence.watch([c.seller]);
    await expect.poll(() => presence.getSnapshot()[c.seller]?.online).toBe(true);
    c.sellerClient.close();
    await expect.poll(() => presence.getSnapshot()[c.seller]?.online).toBe(false);
    expect(presence.getSnapshot()[c.seller]?.lastSeenAt).toEqual(expect.any(String));
    unwatch();
  });

  it("refreshes an expired token for the socket and for HTTP", async () => {
    const c = await makeConversation(t.app, `token-${randomUUID().slice(0, 8)}`);
    const expired = jwt.sign({ sub: c.buyer, exp: Math.floor(Date.now() / 1000) - 60 }, TEST_SECRET, { algorithm: "HS256" });
    let calls = 0;
    // The first answer is already expired: the socket is refused, the client asks again.
    const chat = client(() => (++calls === 1 ? expired : token(c.buyer)));
    await chat.ready();
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(chat.userId).toBe(c.buyer);
    expect((await chat.api.getConversation(c.conversationId)).id).toBe(c.conversationId);

    // A token that the client believes valid but the service refuses: one retry with a fresh one.
    const wrong = token(c.buyer, {}, "another-secret-that-is-long-enough-for-hs256-xx");
    let httpCalls = 0;
    const http = client(() => (++httpCalls === 1 ? wrong : token(c.buyer)), { socket: { autoConnect: false } });
    expect((await http.api.unread()).total).toBe(0);
    expect(httpCalls).toBe(2);

    const refused = client(() => "not-a-token");
    await expect(refused.ready()).rejects.toMatchObject({ code: "unauthorized" });
    expect(refused.connection.getSnapshot().status).toBe("unauthorized");
  });
});

describe("a node going away", () => {
  it("connects again after the node disconnects its sockets on shutdown, and sends what waited", async () => {
    // A node of its own on this file's database: stopping it (Fastify close, as on SIGTERM)
    // disconnects its sockets from the server side ("io server disconnect"), after which
    // socket.io-client does not reconnect by itself. Another node then comes up on its address.
    const overrides = { PRESENCE_GRACE_MS: "0", RATE_LIMIT_MESSAGES: "off" };
    const first = await startApp(t.env, overrides);
    const port = Number(new URL(first.url).port);
    const c = await makeConversation(t.app, `drain-${randomUUID().slice(0, 8)}`);
    const buyer = client(c.buyer, { url: first.url });
    await buyer.ready();
    expect((await buyer.send(c.conversationId, { content: "before" })).seq).toBe(1);

    await first.app.close();
    await expect.poll(() => buyer.connection.getSnapshot().status).toBe("reconnecting");
    const waiting = buyer.send(c.conversationId, { content: "after" });
    const second = await buildApp(testConfig(t.env, overrides));
    try {
      await second.listen({ port, host: "127.0.0.1" });
      await expect.poll(() => buyer.connection.getSnapshot().status).toBe("connected");
      expect((await waiting).seq).toBe(2);
    } finally {
      buyer.close();
      await second.close();
    }
  });
});
