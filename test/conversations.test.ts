import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../src/app.js";
import { auth, createTestEnv, makeConversation, pushListing, pushUser, testConfig, type TestEnv } from "./support/app.js";
import { serviceToken, token, adminToken } from "./support/tokens.js";

let env: TestEnv;
let app: FastifyInstance;

beforeAll(async () => {
  env = await createTestEnv();
  app = await buildApp(testConfig(env));
});
afterAll(async () => {
  await app?.close();
  await env?.close();
});

const post = (jwt: string, listingId: unknown) =>
  app.inject({ method: "POST", url: "/api/conversations", headers: auth(jwt), payload: { listingId } });

describe("marketplace sync", () => {
  it("upserts users: 201 new, 200 existing, with the stored object", async () => {
    const put = (payload: unknown) =>
      app.inject({ method: "PUT", url: "/api/internal/users/u-sync", headers: auth(serviceToken()), payload: payload as object });
    const first = await put({ name: "Ada" });
    expect(first.statusCode).toBe(201);
    expect(first.json()).toEqual({ id: "u-sync", name: "Ada", avatarUrl: null, responseTimeSeconds: null });
    const again = await put({ name: "Ada L.", avatarUrl: "https://cdn.example/a.png", responseTimeSeconds: null });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ id: "u-sync", name: "Ada L.", avatarUrl: "https://cdn.example/a.png", responseTimeSeconds: null });
  });

  it("upserts listings and validates them", async () => {
    await pushUser(app, "s-sync");
    const put = (payload: unknown) =>
      app.inject({ method: "PUT", url: "/api/internal/listings/l-sync", headers: auth(serviceToken()), payload: payload as object });
    const created = await put({ sellerId: "s-sync", title: "Bike", priceCents: 12000, currency: "EUR" });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ id: "l-sync", title: "Bike", priceCents: 12000, currency: "EUR", status: "active", imageUrl: null });
    const sold = await put({ sellerId: "s-sync", title: "Bike", status: "sold" });
    expect(sold.statusCode).toBe(200);
    expect(sold.json().status).toBe("sold");
    const bad = await put({ sellerId: "s-sync", title: "", priceCents: -1 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe("validation_failed");
    const badStatus = await put({ sellerId: "s-sync", title: "Bike", status: "gone" });
    expect(badStatus.json().error.code).toBe("validation_failed");
  });

  it("refuses user and admin tokens on internal endpoints, and service tokens on user endpoints", async () => {
    const asUser = await app.inject({ method: "PUT", url: "/api/internal/users/x", headers: auth(token("x")), payload: { name: "X" } });
    expect(asUser.statusCode).toBe(403);
    expect(asUser.json().error.code).toBe("forbidden");
    const asAdmin = await app.inject({ method: "PUT", url: "/api/internal/users/x", headers: auth(adminToken()), payload: { name: "X" } });
    expect(asAdmin.statusCode).toBe(403);
    const serviceOnUser = await app.inject({ method: "GET", url: "/api/conversations", headers: auth(serviceToken()) });
    expect(serviceOnUser.statusCode).toBe(403);
    expect(serviceOnUser.json().error.code).toBe("forbidden");
  });
});

describe("opening conversations", () => {
  it("creates once (201) then returns the same (200), with the contract's shape", async () => {
    await pushUser(app, "seller-a", "Sam Seller");
    await pushUser(app, "buyer-a", "Bea Buyer");
    await pushListing(app, "listing-a", "seller-a", { priceCents: 500, currency: "EUR" });
    const first = await post(token("buyer-a"), "listing-a");
    expect(first.statusCode).toBe(201);
    const c = first.json();
    expect(c).toEqual({
      id: expect.any(String),
      kind: "listing",
      listing: { id: "listing-a", title: "Listing listing-a", imageUrl: null, priceCents: 500, currency: "EUR", status: "active" },
      buyer: { id: "buyer-a", name: "Bea Buyer", avatarUrl: null, responseTimeSeconds: null },
      seller: { id: "seller-a", name: "Sam Seller", avatarUrl: null, responseTimeSeconds: null },
      lastMessage: null,
      lastSeq: 0,
      unreadCount: 0,
      reads: [
        { userId: "buyer-a", lastReadSeq: 0, lastReadAt: null },
        { userId: "seller-a", lastReadSeq: 0, lastReadAt: null },
      ],
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updatedAt: expect.any(String),
    });
    const second = await post(token("buyer-a"), "listing-a");
    expect(second.statusCode).toBe(200);
    expect(second.json().id).toBe(c.id);
  });

  it("concurrent opens of the same conversation create exactly one", async () => {
    await pushUser(app, "seller-race");
    await pushListing(app, "listing-race", "seller-race");
    const results = await Promise.all(Array.from({ length: 8 }, () => post(token("buyer-race"), "listing-race")));
    expect(new Set(results.map((r) => r.json().id)).size).toBe(1);
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(1);
  });

  it("refuses the seller's own listing, unknown listings, deleted listings and bad input", async () => {
    await pushUser(app, "seller-b");
    await pushListing(app, "listing-b", "seller-b");
    const own = await post(token("seller-b"), "listing-b");
    expect(own.statusCode).toBe(400);
    expect(own.json().error.code).toBe("validation_failed");
    const unknown = await post(token("buyer-b"), "no-such-listing");
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: { code: "not_found", message: "Listing not found", requestId: expect.any(String) } });
    await pushListing(app, "listing-gone", "seller-b", { status: "deleted" });
    expect((await post(token("buyer-b"), "listing-gone")).json().error.code).toBe("conflict");
    for (const bad of [123, null, "", "x".repeat(200), ["a"]]) {
      const res = await post(token("buyer-b"), bad);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe("validation_failed");
    }
  });

  it("refuses a blocked pair", async () => {
    await pushUser(app, "seller-blk");
    await pushListing(app, "listing-blk", "seller-blk");
    await pushUser(app, "buyer-blk");
    await app.chat.db.pool.query(`INSERT INTO blocks (blocker_id, blocked_id) VALUES ('seller-blk', 'buyer-blk')`);
    const res = await post(token("buyer-blk"), "listing-blk");
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe("blocked");
  });
});

describe("reading conversations", () => {
  it("shows a conversation to its buyer, to the seller only after the first message, to nobody else", async () => {
    const c = await makeConversation(app);
    const get = (jwt: string) => app.inject({ method: "GET", url: `/api/conversations/${c.conversationId}`, headers: auth(jwt) });
    expect((await get(c.buyerToken)).statusCode).toBe(200);
    expect((await get(c.sellerToken)).statusCode).toBe(404);
    const stranger = await get(token("stranger"));
    expect(stranger.statusCode).toBe(404);
    expect(stranger.json().error.code).toBe("not_found");
    const sellerList = await app.inject({ method: "GET", url: "/api/conversations", headers: auth(c.sellerToken) });
    expect(sellerList.json().items).toHaveLength(0);
    const bogus = await app.inject({ method: "GET", url: `/api/conversations/not-a-uuid`, headers: auth(c.buyerToken) });
    expect(bogus.statusCode).toBe(404);
  });

  it("lists latest activity first with a cursor that neither skips nor repeats, filters by role and q", async () => {
    const me = "pager";
    await pushUser(app, me, "Pat Pager");
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      await pushUser(app, `pseller-${i}`, i === 3 ? "Zelda Unique" : `Seller ${i}`);
      await pushListing(app, `plist-${i}`, `pseller-${i}`, { title: i === 5 ? "Vintage lamp" : `Thing ${i}` });
      ids.push((await post(token(me), `plist-${i}`)).json().id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/api/conversations?limit=3${cursor ? `&cursor=${cursor}` : ""}`;
      const page = (await app.inject({ method: "GET", url, headers: auth(token(me)) })).json();
      seen.push(...page.items.map((i: { id: string }) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());

    const list = async (qs: string) =>
      (await app.inject({ method: "GET", url: `/api/conversations?${qs}`, headers: auth(token(me)) })).json();
    expect((await list("role=seller")).items).toHaveLength(0);
    expect((await list("role=buyer")).items).toHaveLength(7);
    expect((await list("q=lamp")).items.map((i: { id: string }) => i.id)).toEqual([ids[5]]);
    expect((await list("q=zelda")).items.map((i: { id: string }) => i.id)).toEqual([ids[3]]);
    expect((await list("q=%25")).items).toHaveLength(0);
    for (const bad of ["limit=0", "limit=101", "limit=abc", "role=owner", "cursor=garbage"]) {
      const res = await app.inject({ method: "GET", url: `/api/conversations?${bad}`, headers: auth(token(me)) });
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().error.code).toBe("validation_failed");
    }
  });

  it("a conversation that gets a message while a client pages moves to the top: the rest are neither skipped nor repeated", async () => {
    const me = "pager-live";
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      await pushUser(app, `lseller-${i}`);
      await pushListing(app, `llist-${i}`, `lseller-${i}`);
      ids.push((await post(token(me), `llist-${i}`)).json().id);
    }
    const newestFirst = [...ids].reverse(); // [5, 4, 3, 2, 1, 0]
    const page = async (cursor: string | null) =>
      (await app.inject({ method: "GET", url: `/api/conversations?limit=2${cursor ? `&cursor=${cursor}` : ""}`, headers: auth(token(me)) })).json();
    const first = await page(null);
    expect(first.items.map((c: { id: string }) => c.id)).toEqual(newestFirst.slice(0, 2));
    // Conversation 1 (on a later page) gets a message: it jumps to the top, behind the cursor.
    const sent = await app.inject({
      method: "POST",
      url: `/api/conversations/${ids[1]}/messages`,
      headers: auth(token(me)),
      payload: { clientId: "8f14e45f-ceea-467f-a8f0-6f3b6b1c0e01", content: "still there?" },
    });
    expect(sent.statusCode).toBe(201);
    const rest: string[] = [];
    let cursor: string | null = first.nextCursor;
    while (cursor) {
      const p = await page(cursor);
      rest.push(...p.items.map((c: { id: string }) => c.id));
      cursor = p.nextCursor;
    }
    expect(rest).toEqual([ids[3], ids[2], ids[0]]);
    expect((await page(null)).items[0].id).toBe(ids[1]);
  });

  it("hides a conversation for the caller only", async () => {
    const c = await makeConversation(app);
    const del = await app.inject({ method: "DELETE", url: `/api/conversations/${c.conversationId}`, headers: auth(c.buyerToken) });
    expect(del.statusCode).toBe(204);
    const list = (await app.inject({ method: "GET", url: "/api/conversations", headers: auth(c.buyerToken) })).json();
    expect(list.items.map((i: { id: string }) => i.id)).not.toContain(c.conversationId);
    const strangerDel = await app.inject({ method: "DELETE", url: `/api/conversations/${c.conversationId}`, headers: auth(token("nobody")) });
    expect(strangerDel.statusCode).toBe(404);
  });
});
