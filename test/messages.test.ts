import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { auth, emitAck, makeConversation, nextEvent, record, useTestApp } from "./support/app.js";
import { adminToken, token } from "./support/tokens.js";

const t = useTestApp();

const send = t.send;

describe("sending", () => {
  it("stores, acks and delivers message:new to both participants' sockets; conversation:new opens it for the seller", async () => {
    const c = await makeConversation(t.app);
    const buyer = await t.socket(c.buyerToken);
    const seller = await t.socket(c.sellerToken);
    const opened = nextEvent<{ id: string; lastSeq: number }>(seller, "conversation:new");
    const sellerGot = nextEvent<{ seq: number }>(seller, "message:new");
    const buyerGot = nextEvent<{ seq: number }>(buyer, "message:new");
    const clientId = randomUUID();
    const ack = await emitAck<{ ok: boolean; data: Record<string, unknown> }>(buyer, "message:send", {
      conversationId: c.conversationId,
      clientId,
      content: "Is it still available? <b>plain</b>",
    });
    expect(ack.ok).toBe(true);
    expect(ack.data).toEqual({
      id: expect.any(String),
      conversationId: c.conversationId,
      seq: 1,
      senderId: c.buyer,
      clientId,
      type: "text",
      content: "Is it still available? <b>plain</b>",
      attachments: [],
      replyToId: null,
      createdAt: expect.any(String),
      editedAt: null,
      deletedAt: null,
      reactions: [],
      flags: [],
    });
    expect((await opened).id).toBe(c.conversationId);
    expect(await sellerGot).toEqual(ack.data);
    expect(await buyerGot).toEqual(ack.data);
  });

  it("is idempotent on clientId: HTTP 201 then 200 with the same message, delivered once", async () => {
    const c = await makeConversation(t.app);
    const seller = await t.socket(c.sellerToken);
    const got = record<{ id: string }>(seller, "message:new");
    const clientId = randomUUID();
    const first = await send(c.buyerToken, c.conversationId, { clientId, content: "hello" });
    expect(first.statusCode).toBe(201);
    const again = await send(c.buyerToken, c.conversationId, { clientId, content: "hello" });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    // A later message is the fence: events arrive in order, so once it is there a second
    // delivery of the retried message would have been seen too.
    const fence = (await send(c.buyerToken, c.conversationId, { clientId: randomUUID(), content: "fence" })).json();
    await expect.poll(() => got.map((m) => m.id)).toContain(fence.id);
    expect(got.map((m) => m.id)).toEqual([first.json().id, fence.id]);
  });

  it("refuses bad input with validation_failed and stores nothing", async () => {
    const c = await makeConversation(t.app);
    const bad: Record<string, unknown>[] = [
      { clientId: randomUUID(), content: "x".repeat(4001) },
      { clientId: randomUUID(), content: "" },
      { clientId: randomUUID(), content: "   " },
      { clientId: "not-a-uuid", content: "hi" },
      { content: "no client id" },
      { clientId: randomUUID(), content: 42 },
      { clientId: randomUUID(), content: "hi", replyToId: randomUUID() },
      { clientId: randomUUID(), content: "hi", attachmentIds: [randomUUID()] },
      { clientId: randomUUID(), content: "hi", attachmentIds: Array.from({ length: 11 }, () => randomUUID()) },
    ];
    for (const body of bad) {
      const res = await send(c.buyerToken, c.conversationId, body);
      expect(res.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.json().error.code).toBe("validation_failed");
    }
    const history = await t.app.inject({ method: "GET", url: `/api/conversations/${c.conversationId}/messages`, headers: auth(c.buyerToken) });
    expect(history.json().items).toHaveLength(0);
    // 4,000 code points is fine even when they are astral (surrogate pairs in JS strings).
    const emoji = await send(c.buyerToken, c.conversationId, { clientId: randomUUID(), content: "😀".repeat(4000) });
    expect(emoji.statusCode).toBe(201);
  });

  it("keeps strangers out: not_found, never forbidden", async () => {
    const c = await makeConversation(t.app);
    const res = await send(token("stranger"), c.conversationId, { clientId: randomUUID(), content: "hi" });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe("not_found");
  });
});

describe("history, edit, unsend, replies", () => {
  it("pages with before/after exactly as the contract says", async () => {
    const c = await makeConversation(t.app);
    for (let i = 1; i <= 7; i++) await send(c.buyerToken, c.conversationId, { clientId: randomUUID(), content: `m${i}` });
    const get = async (qs: string) =>
      (await t.app.inject({ method: "GET", url: `/api/conversations/${c.conversationId}/messages?${qs}`, headers: auth(c.buyerToken) })).json();
    const seqs = (page: { items: { seq: number }[] }) => page.items.map((m) => m.seq);
    const latest = await get("limit=3");
    expect(seqs(latest)).toEqual([5, 6, 7]);
    expect(latest.nextBefore).toBe(5);
    const older = await get(`limit=3&before=${latest.nextBefore}`);
    expect(seqs(older)).toEqual([2, 3, 4]);
    const oldest = await get(`limit=3&before=${older.nextBefore}`);
    expect(seqs(oldest)).toEqual([1]);
    expect(oldest.nextBefore).toBeNull();
    expect(seqs(await get("after=4"))).toEqual([5, 6, 7]);
    expect(seqs(await get("after=2&limit=2"))).toEqual([3, 4]);
    expect(seqs(await get("after=7"))).toEqual([]);
    for (const bad of ["limit=0", "limit=101", "before=x", "before=1&after=2"]) {
      const res = await t.app.inject({ method: "GET", url: `/api/conversations/${c.conversationId}/messages?${bad}`, headers: auth(c.buyerToken) });
      expect(res.json().error?.code, bad).toBe("validation_failed");
    }
  });

  it("edits (sender only) and unsends (sender or admin) with events to both sides; tombstones stay", async () => {
    const c = await makeConversation(t.app);
    const seller = await t.socket(c.sellerToken);
    const m = (await send(c.buyerToken, c.conversationId, { clientId: randomUUID(), content: "first" })).json();
    const reply = await send(c.buyerToken, c.conversationId, { clientId: randomUUID(), content: "re", replyToId: m.id });
    expect(reply.json().replyToId).toBe(m.id);

    const updated = nextEvent<{ content: string }>(seller, "message:updated");
    const edit = await t.app.inject({ method: "PATCH", url: `/api/messages/${m.id}`, headers: auth(c.buyerToken), payload: { content: "edited" } });
    expect(edit.statusCode).toBe(200);
    expect(edit.json()).toMatchObject({ id: m.id, content: "edited", editedAt: expect.any(String) });
    expect((await updated).content).toBe("edited");

    const sellerEdit = await t.app.inject({ method: "PATCH", url: `/api/messages/${m.id}`, headers: auth(c.sellerToken), payload: { content: "nope" } });
    expect(sellerEdit.json().error.code).toBe("forbidden");
    const strangerEdit = await t.app.inject({ method: "PATCH", url: `/api/messages/${m.id}`, headers: auth(token("x")), payload: { content: "nope" } });
    expect(strangerEdit.json().error.code).toBe("not_found");
    const sellerDelete = await t.app.inject({ method: "DELETE", url: `/api/messages/${m.id}`, headers: auth(c.sellerToken) });
    expect(sellerDelete.json().error.code).toBe("forbidden");

    const deleted = nextEvent<{ id: string; seq: number }>(seller, "message:deleted");
    const del = await t.app.inject({ method: "DELETE", url: `/api/messages/${m.id}`, headers: auth(c.buyerToken) });
    expect(del.statusCode).toBe(204);
    expect(await deleted).toEqual({ id: m.id, conversationId: c.conversationId, seq: 1 });
    const history = (await t.app.inject({ method: "GET", url: `/api/conversations/${c.conversationId}/messages`, headers: auth(c.buyerToken) })).json();
    expect(history.items[0]).toMatchObject({ id: m.id, content: null, attachments: [], deletedAt: expect.any(String) });
    expect(history.items[1].replyToId).toBe(m.id);

    const other = (await send(c.sellerToken, c.conversationId, { clientId: randomUUID(), content: "spam" })).json();
    const adminDel = await t.app.inject({ method: "DELETE", url: `/api/messages/${other.id}`, headers: auth(adminToken()) });
    expect(adminDel.statusCode).toBe(204);
  });
});

describe("read pointers and unread counts", () => {
  it("counts the other party's messages above the pointer and moves forward only", async () => {
    const c = await makeConversation(t.app);
    const buyer = await t.socket(c.buyerToken);
    for (let i = 0; i < 3; i++) await send(c.buyerToken, c.conversationId, { clientId: randomUUID(), content: `b${i}` });
    const unread = async (jwt: string) => (await t.app.inject({ method: "GET", url: "/api/unread", headers: auth(jwt) })).json();
    expect(await unread(c.sellerToken)).toEqual({ total: 3, conversations: [{ conversationId: c.conversationId, unreadCount: 3 }] });
    expect((await unread(c.buyerToken)).total).toBe(0);

    const readEvent = nextEvent<{ userId: string; seq: number }>(buyer, "message:read");
    const r = await t.app.inject({ method: "POST", url: `/api/conversations/${c.conversationId}/read`, headers: auth(c.sellerToken), payload: { seq: 2 } });
    expect(r.statusCode).toBe(204);
    expect(await readEvent).toMatchObject({ conversationId: c.conversationId, userId: c.seller, seq: 2, readAt: expect.any(String) });
    expect((await unread(c.sellerToken)).total).toBe(1);
    // Backwards is a no-op; above lastSeq is taken as lastSeq.
    await t.app.inject({ method: "POST", url: `/api/conversations/${c.conversationId}/read`, headers: auth(c.sellerToken), payload: { seq: 1 } });
    expect((await unread(c.sellerToken)).total).toBe(1);
    await t.app.inject({ method: "POST", url: `/api/conversations/${c.conversationId}/read`, headers: auth(c.sellerToken), payload: { seq: 99 } });
    expect((await unread(c.sellerToken)).total).toBe(0);
    const conv = (await t.app.inject({ method: "GET", url: `/api/conversations/${c.conversationId}`, headers: auth(c.sellerToken) })).json();
    expect(conv.unreadCount).toBe(0);
    // Sending moves the sender's own pointer: the seller's reply leaves the buyer 1 unread, the seller 0.
    await send(c.sellerToken, c.conversationId, { clientId: randomUUID(), content: "yes" });
    expect((await unread(c.buyerToken)).total).toBe(1);
    expect((await unread(c.sellerToken)).total).toBe(0);
  });
});
