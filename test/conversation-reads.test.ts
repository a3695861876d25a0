// Conversation.reads (both participants' read pointers) and Conversation.kind, in every view of a
// conversation: list, get, conversation:join's ack and conversation:new.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { auth, emitAck, makeConversation, nextEvent, useTestApp } from "./support/app.js";
import type { ConversationView } from "../src/contract/shapes.js";

const t = useTestApp();

const get = async (jwt: string, id: string): Promise<ConversationView> =>
  (await t.app.inject({ method: "GET", url: `/api/conversations/${id}`, headers: auth(jwt) })).json();
const list = async (jwt: string): Promise<ConversationView[]> =>
  (await t.app.inject({ method: "GET", url: "/api/conversations", headers: auth(jwt) })).json().items;

describe("Conversation.reads", () => {
  it("holds both pointers, buyer first, and the other side's pointer survives a reload", async () => {
    const c = await makeConversation(t.app);
    const opened = await get(c.buyerToken, c.conversationId);
    expect(opened.kind).toBe("listing");
    expect(opened.reads).toEqual([
      { userId: c.buyer, lastReadSeq: 0, lastReadAt: null },
      { userId: c.seller, lastReadSeq: 0, lastReadAt: null },
    ]);

    const seller = await t.socket(c.sellerToken);
    const announced = nextEvent<ConversationView>(seller, "conversation:new");
    for (let i = 0; i < 3; i++) {
      expect((await t.send(c.buyerToken, c.conversationId, { clientId: randomUUID(), content: `m${i}` })).statusCode).toBe(201);
    }
    // conversation:new (seq 1) already carries the buyer's pointer moved by their own send.
    expect((await announced).reads).toEqual([
      { userId: c.buyer, lastReadSeq: 1, lastReadAt: expect.any(String) },
      { userId: c.seller, lastReadSeq: 0, lastReadAt: null },
    ]);

    const read = await t.app.inject({
      method: "POST",
      url: `/api/conversations/${c.conversationId}/read`,
      headers: auth(c.sellerToken),
      payload: { seq: 2 },
    });
    expect(read.statusCode).toBe(204);

    // What the buyer's UI needs after a reload to show "seen" up to seq 2: in the list, in GET and
    // in the join ack alike.
    const fromList = (await list(c.buyerToken)).find((x) => x.id === c.conversationId)!;
    const fromGet = await get(c.buyerToken, c.conversationId);
    const buyer = await t.socket(c.buyerToken);
    const joined = await emitAck<{ ok: true; data: ConversationView }>(buyer, "conversation:join", { conversationId: c.conversationId });
    for (const view of [fromList, fromGet, joined.data]) {
      expect(view.reads).toHaveLength(2);
      expect(view.reads[0]).toMatchObject({ userId: c.buyer, lastReadSeq: 3 });
      expect(view.reads[1]).toMatchObject({ userId: c.seller, lastReadSeq: 2 });
      expect(new Date(view.reads[1]!.lastReadAt!).toISOString()).toBe(view.reads[1]!.lastReadAt);
      expect(view.unreadCount).toBe(0);
    }
    // The seller sees the same pointers; their own unread count is derived from their own.
    const sellerView = await get(c.sellerToken, c.conversationId);
    expect(sellerView.reads).toEqual(fromGet.reads);
    expect(sellerView.unreadCount).toBe(1);
  });
});
