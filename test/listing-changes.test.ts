// Listing changes in the thread (API.md "Listing lifecycle in the thread"; README): on real
// server processes sharing PostgreSQL and Redis, a price or status change reaches every
// conversation of the listing that has a message as exactly one system message per change,
// written in the background by whichever node claims it, resumed by another node when the one
// writing it is killed midway, unread for the buyer only.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auth, createTestEnv, record, startApp } from "./support/app.js";
import { useTwoNodes } from "./support/two-nodes.js";
import { serviceToken, token } from "./support/tokens.js";
import { changesOf } from "../src/db/listing-change-repository.js";

// A short poll, so a node picks up a change another node left within the test's patience.
const cluster = useTwoNodes({ LISTING_CHANGE_POLL_INTERVAL_MS: "300" });
const http = cluster.http;
let db: pg.Pool;
beforeAll(() => {
  db = new pg.Pool({ connectionString: cluster.env.databaseUrl, max: 2 });
});
afterAll(async () => {
  await db?.end();
});

/**
 * `withMessage` conversations that have one buyer message (the buyer's pointer on it, as a send
 * leaves it) and `empty` opened ones without a message, about `listingId`, written in SQL: the
 * send path is not what is under test here, and 300 conversations through HTTP would be slow.
 */
async function seedConversations(listingId: string, sellerId: string, withMessage: number, empty: number, on: pg.Pool = db): Promise<void> {
  await on.query(
    `WITH buyers AS (
       INSERT INTO users (id, name) SELECT $1::text || '-buyer-' || i, 'Buyer ' || i FROM generate_series(1, $3::int + $4::int) i
       RETURNING id, (regexp_match(id, '(\\d+)$'))[1]::int AS i
     ), convs AS (
       INSERT INTO conversations (listing_id, buyer_id, seller_id, last_seq)
       SELECT $1::text, b.id, $2::text, CASE WHEN b.i <= $3::int THEN 1 ELSE 0 END FROM buyers b
       RETURNING id, buyer_id, last_seq
     ), parts AS (
       INSERT INTO participants (conversation_id, user_id, role, last_read_seq)
       SELECT id, buyer_id, 'buyer'::participant_role, last_seq FROM convs UNION ALL SELECT id, $2::text, 'seller'::participant_role, 0 FROM convs
     )
     INSERT INTO messages (conversation_id, seq, sender_id, client_id, type, content)
     SELECT id, 1, buyer_id, gen_random_uuid(), 'text', 'is it still available?' FROM convs WHERE last_seq = 1`,
    [listingId, sellerId, withMessage, empty],
  );
}

/** Per conversation of the listing: system messages of each change, messages in all, last seq. */
async function systemCounts(listingId: string, on: pg.Pool = db) {
  const { rows } = await on.query<{ id: string; last_seq: number; total: number; system: number; per_change_max: number; seqs_ok: boolean }>(
    `SELECT c.id, c.last_seq,
            (SELECT count(*)::int FROM messages m WHERE m.conversation_id = c.id) AS total,
            (SELECT count(*)::int FROM messages m WHERE m.conversation_id = c.id AND m.type = 'system') AS system,
            COALESCE((SELECT max(n)::int FROM (SELECT count(*) AS n FROM messages m WHERE m.conversation_id = c.id AND m.type = 'system' GROUP BY m.client_id) x), 0) AS per_change_max,
            (SELECT COALESCE(array_agg(m.seq ORDER BY m.seq) = array(SELECT generate_series(1, c.last_seq)), c.last_seq = 0)
               FROM messages m WHERE m.conversation_id = c.id) AS seqs_ok
     FROM conversations c WHERE c.listing_id = $1`,
    [listingId],
  );
  return rows;
}

const pendingChanges = async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM listing_changes`)).rows[0]!.n;

describe("the system messages of a change", () => {
  it("say what changed, readably", () => {
    expect(changesOf({ priceCents: 125000, currency: "EUR", status: "active" }, { priceCents: 99900, currency: "EUR", status: "sold" })).toEqual([
      {
        system: { event: "listing.price_changed", data: { fromCents: 125000, toCents: 99900, currency: "EUR" } },
        content: "Price changed from 1,250.00 EUR to 999.00 EUR",
      },
      { system: { event: "listing.status_changed", data: { from: "active", to: "sold" } }, content: "The listing has been sold" },
    ]);
    // A price set for the first time is announced; removed, or the same, is not.
    expect(changesOf({ priceCents: null, currency: null, status: "active" }, { priceCents: 500, currency: "USD", status: "active" })[0]!.content).toBe(
      "Price set to 5.00 USD",
    );
    expect(changesOf({ priceCents: 500, currency: "USD", status: "active" }, { priceCents: null, currency: null, status: "active" })).toEqual([]);
    expect(changesOf({ priceCents: 500, currency: "USD", status: "active" }, { priceCents: 500, currency: "USD", status: "active" })).toEqual([]);
  });
});

describe("across nodes", () => {
  it("300 conversations with a message get exactly one system message per change, in order; those without get none; live to both, unread for the buyer only", { timeout: 120_000 }, async () => {
    const { a, b } = cluster;
    const c = await cluster.conversation("big", { firstMessage: true });
    await http(a, "PUT", "/api/internal/listings/l-big", serviceToken(), { sellerId: c.seller, title: "Sofa", priceCents: 15000, currency: "EUR" });
    await expect.poll(pendingChanges, { timeout: 20_000 }).toBe(0);
    await seedConversations("l-big", c.seller, 300, 20);
    const buyerLive = record<{ senderId: string | null; type: string; seq: number; content: string; system?: unknown }>(await cluster.socket(a, c.buyer), "message:new");
    const sellerLive = record<{ conversationId: string; seq: number }>(await cluster.socket(b, c.seller), "message:new");
    const buyerNotified = record<{ conversationId: string }>(await cluster.socket(b, c.buyer), "notification");

    const put = await http(b, "PUT", "/api/internal/listings/l-big", serviceToken(), {
      sellerId: c.seller, title: "Sofa", priceCents: 12000, currency: "EUR", status: "reserved",
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ priceCents: 12000, status: "reserved" });
    await expect.poll(pendingChanges, { timeout: 60_000, interval: 200 }).toBe(0);

    const rows = await systemCounts("l-big");
    expect(rows).toHaveLength(321);
    const withMessages = rows.filter((r) => r.total - r.system > 0);
    expect(withMessages).toHaveLength(301);
    // The live conversation had the first price change too: 2 + 1 system messages, others 2.
    for (const r of withMessages) {
      expect(r.system).toBe(r.id === c.id ? 3 : 2);
      expect(r.per_change_max).toBe(1);
      expect(r.seqs_ok).toBe(true);
      expect(r.total).toBe(r.last_seq);
    }
    for (const r of rows.filter((r) => r.total - r.system === 0)) expect([r.system, r.last_seq]).toEqual([0, 0]);

    // Price first, then status; seq 3 and 4 after the "hi" and the first price message.
    const history = await http(a, "GET", `/api/conversations/${c.id}/messages`, token(c.buyer));
    expect(history.body.items.map((m: { seq: number; type: string; senderId: string | null; system?: unknown; content: string }) => [m.seq, m.type, m.senderId, m.system, m.content])).toEqual([
      [1, "text", c.buyer, undefined, "hi"],
      [2, "system", null, { event: "listing.price_changed", data: { fromCents: null, toCents: 15000, currency: "EUR" } }, "Price set to 150.00 EUR"],
      [3, "system", null, { event: "listing.price_changed", data: { fromCents: 15000, toCents: 12000, currency: "EUR" } }, "Price changed from 150.00 EUR to 120.00 EUR"],
      [4, "system", null, { event: "listing.status_changed", data: { from: "active", to: "reserved" } }, "The listing is now reserved"],
    ]);
    await expect.poll(() => buyerLive.map((m) => m.seq)).toEqual([3, 4]);
    await expect.poll(() => sellerLive.filter((m) => m.conversationId === c.id).map((m) => m.seq)).toEqual([3, 4]);
    // ...and one per conversation of the seller's: 300 more.
    await expect.poll(() => sellerLive.length).toBe(2 + 2 * 300);
    expect(buyerLive.every((m) => m.senderId === null && m.type === "system")).toBe(true);
    await expect.poll(() => buyerNotified.filter((n) => n.conversationId === c.id).length).toBe(2);

    // Unread: the buyer sent seq 1, so 3 system messages are unread; the seller has the buyer's "hi" only.
    const buyerConv = await http(a, "GET", `/api/conversations/${c.id}`, token(c.buyer));
    expect(buyerConv.body.unreadCount).toBe(3);
    const sellerUnread = await http(b, "GET", "/api/unread", token(c.seller));
    expect(sellerUnread.body.conversations.find((x: { conversationId: string }) => x.conversationId === c.id)?.unreadCount).toBe(1);
    // 300 seeded conversations: the seller's unread counts stay those of the buyers' messages.
    expect(sellerUnread.body.total).toBe(301);
    // Reading the "hi" only (seq 1 of 4): nothing unread left for the seller.
    expect((await http(b, "POST", `/api/conversations/${c.id}/read`, token(c.seller), { seq: 1 })).status).toBe(204);
    expect((await http(b, "GET", `/api/conversations/${c.id}`, token(c.seller))).body.unreadCount).toBe(0);
    // The next send takes the next seq.
    const sent = await http(a, "POST", `/api/conversations/${c.id}/messages`, token(c.seller), { clientId: randomUUID(), content: "still here" });
    expect(sent.body.seq).toBe(5);
    expect((await http(a, "GET", `/api/conversations/${c.id}`, token(c.buyer))).body.unreadCount).toBe(4);
  });

  it("a conversation whose first message came after the change gets no notice of it", { timeout: 60_000 }, async () => {
    const { a } = cluster;
    const c = await cluster.conversation("late", { firstMessage: true });
    await http(a, "PUT", "/api/internal/listings/l-late", serviceToken(), { sellerId: c.seller, title: "Lamp", priceCents: 3000, currency: "EUR" });
    await expect.poll(pendingChanges, { timeout: 20_000 }).toBe(0);
    await seedConversations("l-late", c.seller, 2, 0);
    // One of the two opened after the change below is made (its first message dated later, as a
    // message sent while the worker has not reached that conversation yet would be).
    await db.query(
      `UPDATE messages SET created_at = now() + interval '1 hour'
       WHERE conversation_id = (SELECT id FROM conversations WHERE listing_id = 'l-late' AND buyer_id LIKE '%-buyer-1') AND seq = 1`,
    );
    await http(a, "PUT", "/api/internal/listings/l-late", serviceToken(), { sellerId: c.seller, title: "Lamp", priceCents: 2500, currency: "EUR" });
    await expect.poll(pendingChanges, { timeout: 30_000 }).toBe(0);
    const { rows } = await db.query<{ buyer_id: string; system: number }>(
      `SELECT c.buyer_id, (SELECT count(*)::int FROM messages m WHERE m.conversation_id = c.id AND m.type = 'system') AS system
       FROM conversations c WHERE c.listing_id = 'l-late' ORDER BY c.buyer_id`,
    );
    expect(rows.map((r) => [r.buyer_id.replace(/^.*-buyer-/, "buyer-"), r.system])).toEqual(
      expect.arrayContaining([["buyer-1", 0], ["buyer-2", 1]]),
    );
  });

  it("a node killed (SIGKILL) midway: another node finishes the change, no conversation gets it twice", { timeout: 150_000 }, async () => {
    const seller = "s-kill";
    await http(cluster.a, "PUT", "/api/internal/listings/l-kill", serviceToken(), { sellerId: seller, title: "Bike", priceCents: 30000, currency: "EUR" });
    await seedConversations("l-kill", seller, 300, 10);
    // Small, slow batches and a short lease on the node that takes the change.
    const victim = await cluster.startNode("node-victim", {
      LISTING_CHANGE_BATCH_SIZE: "10",
      LISTING_CHANGE_BATCH_PAUSE_MS: "150",
      LISTING_CHANGE_LEASE_MS: "1500",
      LISTING_CHANGE_POLL_INTERVAL_MS: "300",
    });
    const put = await http(victim, "PUT", "/api/internal/listings/l-kill", serviceToken(), { sellerId: seller, title: "Bike", priceCents: 25000, currency: "EUR" });
    expect(put.status).toBe(200);
    // Midway: some batches committed (the cursor moved) and the change is not done.
    const progress = async () => {
      const { rows } = await db.query<{ cursor: string | null }>(`SELECT cursor FROM listing_changes WHERE listing_id = 'l-kill'`);
      return rows.length === 0 ? "done" : rows[0]!.cursor === null ? "started" : "midway";
    };
    await expect.poll(progress, { timeout: 30_000, interval: 20 }).not.toBe("started");
    await victim.kill();
    const written = (await systemCounts("l-kill")).filter((r) => r.system > 0).length;
    expect(written).toBeGreaterThan(0);

    // Nodes a and b take it over once the lease has run out.
    await expect.poll(pendingChanges, { timeout: 60_000, interval: 200 }).toBe(0);
    const rows = await systemCounts("l-kill");
    const withMessages = rows.filter((r) => r.total - r.system > 0);
    expect(withMessages).toHaveLength(300);
    for (const r of withMessages) expect([r.system, r.seqs_ok, r.total === r.last_seq]).toEqual([1, true, true]);
    for (const r of rows.filter((r) => r.total - r.system === 0)) expect(r.system).toBe(0);
  });

  it("a node stopped (SIGTERM) midway gives the change back at once; another node finishes it", { timeout: 150_000 }, async () => {
    const seller = "s-term";
    await http(cluster.a, "PUT", "/api/internal/listings/l-term", serviceToken(), { sellerId: seller, title: "Desk", status: "active" });
    await seedConversations("l-term", seller, 200, 0);
    // A lease far longer than the test: only the give-back lets another node take over.
    const leaving = await cluster.startNode("node-leaving", {
      LISTING_CHANGE_BATCH_SIZE: "10",
      LISTING_CHANGE_BATCH_PAUSE_MS: "150",
      LISTING_CHANGE_LEASE_MS: "3600000",
    });
    expect((await http(leaving, "PUT", "/api/internal/listings/l-term", serviceToken(), { sellerId: seller, title: "Desk", status: "sold" })).status).toBe(200);
    const change = async () =>
      // released: no longer under the leaving node's hour-long lease (claimable, or claimed by a or b with their 30 s one).
      (await db.query<{ cursor: string | null; released: boolean }>(
        `SELECT cursor, lease_until < now() + interval '10 minutes' AS released FROM listing_changes WHERE listing_id = 'l-term'`,
      )).rows[0];
    await expect.poll(async () => (await change())?.cursor ?? null, { timeout: 30_000, interval: 20 }).not.toBeNull();
    expect(await leaving.stop()).toBe(0);
    // Gone (finished meanwhile by another node) or given back.
    expect([undefined, true]).toContain((await change())?.released);
    await expect.poll(pendingChanges, { timeout: 60_000, interval: 200 }).toBe(0);
    const rows = await systemCounts("l-term");
    for (const r of rows) expect([r.system, r.per_change_max, r.seqs_ok]).toEqual([1, 1, true]);
  });
});

describe("embedded mode (PGlite, one node)", () => {
  it("writes the same messages with the same statements, in order with sends into the same conversations", { timeout: 120_000 }, async () => {
    const env = await createTestEnv("embedded");
    const { app } = await startApp(env, { LISTING_CHANGE_BATCH_SIZE: "7" });
    try {
      const pool = app.chat.db.pool;
      const put = (body: Record<string, unknown>) =>
        app.inject({ method: "PUT", url: "/api/internal/listings/emb", headers: auth(serviceToken()), payload: { sellerId: "emb-seller", title: "Lamp", ...body } });
      expect((await put({ priceCents: 3_000, currency: "EUR" })).statusCode).toBe(201);
      await seedConversations("emb", "emb-seller", 40, 3, pool);
      const { rows: ids } = await pool.query<{ id: string; buyer_id: string }>(`SELECT id, buyer_id FROM conversations WHERE listing_id = 'emb' AND last_seq > 0 ORDER BY id LIMIT 5`);
      expect((await put({ priceCents: 2_500, currency: "EUR", status: "reserved" })).statusCode).toBe(200);
      // Sends racing the background batches: every conversation's seqs stay 1..n.
      const sends = await Promise.all(
        ids.map((c) => app.inject({ method: "POST", url: `/api/conversations/${c.id}/messages`, headers: auth(token(c.buyer_id)), payload: { clientId: randomUUID(), content: "ok" } })),
      );
      expect(sends.map((r) => r.statusCode)).toEqual(ids.map(() => 201));
      await expect.poll(async () => (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM listing_changes`)).rows[0]!.n, { timeout: 30_000 }).toBe(0);
      const rows = await systemCounts("emb", pool);
      for (const r of rows.filter((r) => r.total - r.system > 0)) expect([r.system, r.per_change_max, r.seqs_ok, r.total === r.last_seq]).toEqual([2, 1, true, true]);
      expect(rows.filter((r) => r.system > 0)).toHaveLength(40);
    } finally {
      await app.close();
      await env.close();
    }
  });
});
