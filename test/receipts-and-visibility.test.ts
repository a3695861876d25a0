import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { auth, emitAck, makeConversation, nextEvent, record, useTestApp } from "./support/app.js";

const t = useTestApp();
const send = t.send;
const listIds = async (jwt: string) =>
  (await t.app.inject({ method: "GET", url: "/api/conversations", headers: auth(jwt) })).json().items.map((c: { id: string }) => c.id);

describe("hidden conversations", () => {
  it("a later message shows a hidden conversation again, for the one who hid it", async () => {
    const c = await makeConversation(t.app);
    await send(c.buyerToken, c.conversationId, { clientId: randomUUID(), content: "hi" });
    await t.app.inject({ method: "DELETE", url: `/api/conversations/${c.conversationId}`, headers: auth(c.sellerToken) });
    expect(await listIds(c.sellerToken)).not.toContain(c.conversationId);
    expect(await listIds(c.buyerToken)).toContain(c.conversationId);
    await send(c.buyerToken, c.conversationId, { clientId: randomUUID(), content: "still there?" });
    expect(await listIds(c.sellerToken)).toContain(c.conversationId);
  });
});

describe("read receipts over sockets", () => {
  it("messages:read and message:read move the pointer and reach every socket of both participants", async () => {
    const c = await makeConversation(t.app);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await send(c.buyerToken, c.conversationId, { clientId: randomUUID(), content: `m${i}` })).json().id);
    const buyerPhone = await t.socket(c.buyerToken);
    const buyerLaptop = await t.socket(c.buyerToken);
    const seller = await t.socket(c.sellerToken);
    const seen = [buyerPhone, buyerLaptop, seller].map((s) => record<{ seq: number; userId: string }>(s, "message:read"));

    expect(await emitAck(seller, "message:read", { messageId: ids[1] })).toEqual({ ok: true, data: {} });
    expect(await emitAck(seller, "messages:read", { conversationId: c.conversationId })).toEqual({ ok: true, data: {} });
    // Backwards: acknowledged, no event.
    expect(await emitAck(seller, "messages:read", { conversationId: c.conversationId, seq: 1 })).toEqual({ ok: true, data: {} });
    for (const got of seen) {
      await expect.poll(() => got.map((e) => e.seq)).toEqual([2, 3]);
      expect(got.every((e) => e.userId === c.seller)).toBe(true);
    }
    const unread = (await t.app.inject({ method: "GET", url: "/api/unread", headers: auth(c.sellerToken) })).json();
    expect(unread.total).toBe(0);

    const stranger = await emitAck<{ ok: boolean; error: { code: string } }>(buyerPhone, "message:read", { messageId: randomUUID() });
    expect(stranger.error.code).toBe("not_found");
    const bad = await emitAck<{ ok: boolean; error: { code: string } }>(seller, "messages:read", { conversationId: c.conversationId, seq: "x" });
    expect(bad.error.code).toBe("validation_failed");
  });
});

describe("replies and edits", () => {
  it("a reply to a message of another conversation is refused; edits follow the content rules", async () => {
    const one = await makeConversation(t.app);
    const two = await makeConversation(t.app);
    const elsewhere = (await send(two.buyerToken, two.conversationId, { clientId: randomUUID(), content: "x" })).json();
    const res = await send(one.buyerToken, one.conversationId, { clientId: randomUUID(), content: "re", replyToId: elsewhere.id });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("validation_failed");

    const m = (await send(one.buyerToken, one.conversationId, { clientId: randomUUID(), content: "orig" })).json();
    for (const content of ["", "  ", "x".repeat(4001), 5, null]) {
      const edit = await t.app.inject({ method: "PATCH", url: `/api/messages/${m.id}`, headers: auth(one.buyerToken), payload: { content } });
      expect(edit.statusCode, String(content).slice(0, 10)).toBe(400);
    }
    const stored = (await t.app.inject({ method: "GET", url: `/api/conversations/${one.conversationId}/messages`, headers: auth(one.buyerToken) })).json();
    expect(stored.items.at(-1)).toMatchObject({ content: "orig", editedAt: null });
  });

  it("notification goes to the recipient's sockets that have not joined, never to the sender's", async () => {
    const c = await makeConversation(t.app);
    await send(c.buyerToken, c.conversationId, { clientId: randomUUID(), content: "open" });
    const sellerInChat = await t.socket(c.sellerToken);
    const sellerElsewhere = await t.socket(c.sellerToken);
    const buyerElsewhere = await t.socket(c.buyerToken);
    expect(await emitAck(sellerInChat, "conversation:join", { conversationId: c.conversationId })).toMatchObject({ ok: true });
    const inChat = record(sellerInChat, "notification");
    const buyerNotes = record(buyerElsewhere, "notification");
    const buyerNew = record(buyerElsewhere, "message:new");
    const note = nextEvent<{ type: string; conversationId: string; message: { content: string } }>(sellerElsewhere, "notification");
    const newInChat = nextEvent(sellerInChat, "message:new");
    await send(c.buyerToken, c.conversationId, { clientId: randomUUID(), content: "ping" });
    expect(await note).toMatchObject({ type: "message", conversationId: c.conversationId, message: { content: "ping" } });
    await newInChat;
    // The fence: events reach a socket in order, so once the next message is there, a
    // notification for "ping" would have arrived too.
    await send(c.buyerToken, c.conversationId, { clientId: randomUUID(), content: "fence" });
    await expect.poll(() => buyerNew.length).toBe(2);
    expect(inChat).toHaveLength(0);
    expect(buyerNotes).toHaveLength(0);
  });
});
