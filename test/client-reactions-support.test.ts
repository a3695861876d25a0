// @marketchat/client in Node against a real node (PostgreSQL and Redis, and in embedded mode: PGlite, no Redis): a thread follows
// message:reactions live (the whole list replaces the message's), reactions go out by HTTP; a user
// opens their support conversation, an admin opens a user's and reads the support inbox.
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { ChatClient, ChatError } from "@marketchat/client";
import { makeConversation, pushUser, useTestApp } from "./support/app.js";
import { adminToken, token } from "./support/tokens.js";

const t = useTestApp();
const clients: ChatClient[] = [];
afterAll(() => clients.forEach((c) => c.close()));

function client(jwt: string): ChatClient {
  const c = new ChatClient({ url: t.url, token: jwt, socket: { transports: ["websocket"] }, ackTimeoutMs: 3_000 });
  clients.push(c);
  return c;
}

describe("reactions in a thread", () => {
  it("follow message:reactions live, and refuse what is not one emoji with the contract's error", async () => {
    const c = await makeConversation(t.app, `cr-${randomUUID().slice(0, 8)}`);
    const buyer = client(c.buyerToken);
    const seller = client(c.sellerToken);
    await Promise.all([buyer.ready(), seller.ready()]);
    const sent = await buyer.send(c.conversationId, { content: "Still for sale?" });
    const thread = buyer.thread(c.conversationId);
    const release = thread.retain();
    await expect.poll(() => thread.getSnapshot().messages.map((m) => m.id)).toEqual([sent.id]);

    await seller.react(sent.id, "👍");
    await expect.poll(() => thread.getSnapshot().messages[0]!.reactions).toEqual([{ emoji: "👍", count: 1, userIds: [c.seller] }]);
    await buyer.react(sent.id, "👍");
    await seller.react(sent.id, "👍", false);
    await expect.poll(() => thread.getSnapshot().messages[0]!.reactions).toEqual([{ emoji: "👍", count: 1, userIds: [c.buyer] }]);

    const refused = await buyer.react(sent.id, "👍👍").catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ChatError);
    expect((refused as ChatError).code).toBe("validation_failed");
    release();
  });
});

describe("support", () => {
  it("a user opens theirs; an admin opens a user's and finds it in the inbox with the team's unread count", async () => {
    const userId = `cs-${randomUUID().slice(0, 8)}`;
    await pushUser(t.app, userId, "Client user");
    const user = client(token(userId));
    const own = await user.api.openSupport();
    expect(own).toMatchObject({ kind: "support", listing: null, buyer: { id: userId }, seller: { id: "support", name: "Support" } });
    await user.api.sendMessage(own.id, { clientId: randomUUID(), content: "Help please" });

    const admin = client(adminToken("admin-client"));
    expect((await admin.api.openSupport(userId)).id).toBe(own.id);
    const inbox = await admin.api.supportInbox({ limit: 10 });
    expect(inbox.items.find((x) => x.id === own.id)).toMatchObject({ unreadCount: 1, lastMessage: { content: "Help please" } });
  });
});
