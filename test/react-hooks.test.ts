// @vitest-environment jsdom
// @marketchat/react in a DOM (jsdom) against a real node (PostgreSQL, Redis), no mocks: the hooks
// give state and status that follow what the other participant does. The page is on another
// origin than the node (allowed by CORS_ORIGINS), as a marketplace's React app is, and uploads go
// through jsdom's XMLHttpRequest (preflight included) like a browser's. The node runs in its own
// process: in a DOM environment vitest transforms modules for the web, which the server's own
// modules are not written for.
import { randomUUID } from "node:crypto";
import { createElement, version as reactVersion, type ReactNode } from "react";
import { version as reactDomVersion } from "react-dom";
import { act, cleanup, renderHook } from "@testing-library/react";
import sharp from "sharp";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ChatClient } from "@marketchat/client";
import { ChatProvider, useConnection, useConversations, useMessages, usePresence, useSend, useTyping, useUnread } from "@marketchat/react";
import type { TestEnv } from "./support/app.js";
import { startNode, type NodeProcess } from "./support/cluster.js";
import { createTestDatabase } from "./support/database.js";
import { uniqueName } from "./support/env.js";
import { serviceToken, token } from "./support/tokens.js";

// The root tsconfig has no DOM library; jsdom provides the page.
declare const window: { location: { origin: string } };

let env: TestEnv | undefined;
let node: NodeProcess | undefined;
const clients: ChatClient[] = [];
beforeAll(async () => {
  const db = await createTestDatabase();
  env = { databaseUrl: db.url, redisPrefix: uniqueName("mctest"), close: db.drop };
  node = await startNode(env, "react-hooks", { RATE_LIMIT_MESSAGES: "off", PRESENCE_GRACE_MS: "0", CORS_ORIGINS: window.location.origin }, { startTimeoutMs: 55_000 });
});
afterEach(() => cleanup());
afterAll(async () => {
  clients.forEach((c) => c.close());
  await node?.stop();
  await env?.close();
});

async function call(method: string, path: string, jwt: string, body?: unknown) {
  const res = await fetch(`${node!.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${jwt}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string };
}

/** A seller with a listing and a buyer who opened a conversation about it. */
async function makeConversation(tag: string) {
  const buyer = `buyer-${tag}`;
  const seller = `seller-${tag}`;
  await call("PUT", `/api/internal/users/${seller}`, serviceToken(), { name: `Seller ${tag}` });
  await call("PUT", `/api/internal/listings/listing-${tag}`, serviceToken(), { sellerId: seller, title: "Bike" });
  const conversation = await call("POST", "/api/conversations", token(buyer), { listingId: `listing-${tag}` });
  return { buyer, seller, conversationId: conversation.id };
}

function chatAs(user: string): { client: ChatClient; wrapper: (props: { children: ReactNode }) => ReactNode } {
  const client = new ChatClient({ url: node!.url, token: token(user), socket: { transports: ["websocket"] }, typingIdleMs: 300 });
  clients.push(client);
  return { client, wrapper: ({ children }) => createElement(ChatProvider, { client }, children) };
}

describe("@marketchat/react", () => {
  // Run twice: on the root's React 19 (project postgres) and on React 18 (project react18).
  it("runs on the React version its project names, react and react-dom alike", () => {
    const major = process.env.EXPECT_REACT_MAJOR ?? "19";
    expect([reactVersion.split(".")[0], reactDomVersion.split(".")[0]]).toEqual([major, major]);
  });

  it("keeps conversations, messages, unread counts, seen marks, typing and presence current", async () => {
    const c = await makeConversation(`react-${randomUUID().slice(0, 8)}`);
    const buyer = chatAs(c.buyer);
    const seller = chatAs(c.seller);

    const sellerView = renderHook(() => ({ connection: useConnection(), list: useConversations(), unread: useUnread() }), { wrapper: seller.wrapper });
    await expect.poll(() => sellerView.result.current.connection.status).toBe("connected");
    await expect.poll(() => sellerView.result.current.list.status).toBe("ready");
    expect(sellerView.result.current.list.items).toEqual([]);
    expect(sellerView.result.current.unread).toMatchObject({ status: "ready", total: 0 });

    // Every typing list the buyer's component renders (polling could miss a short one on a busy machine).
    const typingShown: string[][] = [];
    const buyerView = renderHook(
      () => {
        const typing = useTyping(c.conversationId);
        if (typingShown.at(-1)?.join() !== typing.typingUserIds.join()) typingShown.push(typing.typingUserIds);
        return { thread: useMessages(c.conversationId), send: useSend(c.conversationId), typing, presence: usePresence([c.seller]) };
      },
      { wrapper: buyer.wrapper },
    );
    await expect.poll(() => buyerView.result.current.thread.status).toBe("ready");
    let hello!: Awaited<ReturnType<typeof buyerView.result.current.send.send>>;
    await act(async () => {
      hello = await buyerView.result.current.send.send("Hello, is the bike still for sale?");
    });
    // React 18 may render the thread's new state just after act() returns: wait for the render.
    await expect.poll(() => buyerView.result.current.thread.messages.map((m) => m.content)).toEqual(["Hello, is the bike still for sale?"]);
    expect(buyerView.result.current.send.outgoing).toEqual([]);

    // The seller's list and badge follow the buyer's first message.
    await expect.poll(() => sellerView.result.current.list.items.map((x) => [x.id, x.unreadCount])).toEqual([[c.conversationId, 1]]);
    await expect.poll(() => sellerView.result.current.unread.total).toBe(1);
    // The seller became the buyer's contact with that message: presence shows them online.
    await expect.poll(() => buyerView.result.current.presence[c.seller]?.online).toBe(true);

    // The seller opens the thread and reads: the badge clears, the buyer sees "seen".
    const sellerThread = renderHook(() => ({ thread: useMessages(c.conversationId), typing: useTyping(c.conversationId) }), { wrapper: seller.wrapper });
    await expect.poll(() => sellerThread.result.current.thread.messages.length).toBe(1);
    expect(buyerView.result.current.thread.seen(hello)).toBe(false);
    await act(() => sellerThread.result.current.thread.markRead());
    await expect.poll(() => buyerView.result.current.thread.seen(hello)).toBe(true);
    await expect.poll(() => sellerView.result.current.unread.total).toBe(0);
    await expect.poll(() => sellerView.result.current.list.items[0]?.unreadCount).toBe(0);

    // Typing shows on the other side and ends when the seller pauses.
    act(() => sellerThread.result.current.typing.notifyTyping());
    await expect.poll(() => typingShown).toEqual([[], [c.seller], []]);

    // An image through XMLHttpRequest: outgoing shows the upload, then the stored message replaces it.
    const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: "#2a6" } }).png().toBuffer();
    const seen: string[] = [];
    const stop = buyer.client.outbox.subscribe(() => {
      for (const o of buyer.client.outbox.getSnapshot()) if (o.progress) seen.push(`${o.status}:${o.progress.loaded}/${o.progress.total}`);
    });
    await act(async () => {
      await buyerView.result.current.send.sendFiles([new File([png], "bike.png", { type: "image/png" })]);
    });
    stop();
    // XMLHttpRequest's upload events: the last one has every byte of the multipart body sent.
    expect(seen.every((s) => s.startsWith("uploading:"))).toBe(true);
    const [, sent, total] = /^uploading:(\d+)\/(\d+)$/.exec(seen.at(-1)!)!;
    expect(Number(sent)).toBe(Number(total));
    expect(Number(total)).toBeGreaterThan(png.length);
    const image = buyerView.result.current.thread.messages.at(-1)!;
    expect(image).toMatchObject({ type: "image", attachments: [{ kind: "image", thumbnailUrl: expect.any(String) }] });
    await expect.poll(() => sellerThread.result.current.thread.messages.at(-1)?.id).toBe(image.id);

    // Unmounting releases the views; the client stays usable.
    sellerThread.unmount();
    buyerView.unmount();
    sellerView.unmount();
  });

  it("gives idle results without a conversation and reports a conversation the user may not see", async () => {
    const stranger = chatAs(`stranger-${randomUUID().slice(0, 8)}`);
    const c = await makeConversation(`react-x-${randomUUID().slice(0, 8)}`);
    const view = renderHook(({ id }: { id: string | null }) => useMessages(id), { wrapper: stranger.wrapper, initialProps: { id: null as string | null } });
    expect(view.result.current.status).toBe("idle");
    view.rerender({ id: c.conversationId });
    await expect.poll(() => view.result.current.status).toBe("error");
    expect(view.result.current.error?.code).toBe("not_found");
  });
});
