// Budgets of the hot paths, counted on the real clients: SQL statements on the pg pool
// (Database.statementCount) and Redis commands on the ioredis connections (commandCounts).
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import type { Redis } from "ioredis";
import { REDIS_CLUSTER_NODES } from "./support/env.js";
import { auth, connectSocket, emitAck, makeConversation, pushListing, pushUser, useTestApp } from "./support/app.js";
import { token } from "./support/tokens.js";

const fixture = useTestApp();
let app: FastifyInstance;
let url: string;
beforeAll(() => {
  ({ app, url } = fixture);
});

/**
 * SQL statements on the pool and Redis commands on every connection that serves requests. The
 * presence sweep's own connection is left out: it runs once a second whatever the traffic (a
 * background cost, measured in the README), and would otherwise land in a window by chance.
 */
function counters() {
  const { presenceSweep: _background, ...requestPath } = app.chat.redis!.commandCounts();
  const all = Object.values(requestPath).flatMap((byCommand) => Object.entries(byCommand));
  return {
    statements: app.chat.db.statementCount(),
    redis: all.reduce((n, [, count]) => n + count, 0),
    publish: all.filter(([name]) => name === "spublish").reduce((n, [, count]) => n + count, 0),
  };
}

/** Batches written so far (the group-commit histogram's count). */
async function batchCount(): Promise<number> {
  const metric = await app.chat.metrics.sendBatchSize.get();
  return metric.values.find((v) => v.metricName === "marketchat_send_batch_size_count")?.value ?? 0;
}

/**
 * Writes on the bus's publisher socket (one Redis; a cluster writes once per shard): the copies of
 * one event must leave together, so they cost one round trip whatever their number.
 */
function countPublisherWrites(): () => number {
  const publisher = app.chat.redis!.publisher as Redis;
  const stream = publisher.stream;
  const write = stream.write.bind(stream);
  let writes = 0;
  stream.write = ((...args: Parameters<typeof stream.write>) => {
    writes++;
    return write(...args);
  }) as typeof stream.write;
  return () => writes;
}

/**
 * Wait until nothing of an earlier request is still running: every pooled connection back and
 * every publish (they run after the sender is answered) taken by Redis.
 */
async function settled() {
  const pool = app.chat.db.pool;
  await expect.poll(() => pool.totalCount - pool.idleCount).toBe(0);
  await expect.poll(() => app.chat.messages.publishBacklog).toBe(0);
}

describe("per-message budget", () => {
  it("a sent message costs 1 SQL statement (the batch's check-and-write, here a batch of one) and 2 Redis SPUBLISH (one per participant's channel, one round trip)", async () => {
    const c = await makeConversation(app);
    const buyer = await connectSocket(url, c.buyerToken);
    const seller = await connectSocket(url, c.sellerToken);
    try {
      // Warm-up: the first message also sends conversation:new (one more read), and caches settle.
      await emitAck(buyer, "message:send", { conversationId: c.conversationId, clientId: randomUUID(), content: "warm-up" });
      await emitAck(seller, "message:send", { conversationId: c.conversationId, clientId: randomUUID(), content: "warm-up" });
      await settled();
      const writes = REDIS_CLUSTER_NODES ? null : countPublisherWrites();
      const before = counters();
      const n = 20;
      for (let i = 0; i < n; i++) {
        const s = i % 2 === 0 ? buyer : seller;
        const ack = await emitAck<{ ok: boolean }>(s, "message:send", { conversationId: c.conversationId, clientId: randomUUID(), content: `m${i}` });
        expect(ack.ok).toBe(true);
      }
      // The publish runs after the ack: wait for the last one.
      await expect.poll(() => counters().publish - before.publish).toBe(2 * n);
      const after = counters();
      expect(after.statements - before.statements).toBe(n);
      expect((after.redis - before.redis) / n).toBe(2);
      if (writes) expect(writes()).toBe(n);
    } finally {
      buyer.close();
      seller.close();
    }
  });

  it("contact details cost nothing more (detected in the process, written by the same statement); a text long enough for the spam rule costs 1 Redis script more", async () => {
    const c = await makeConversation(app);
    const buyer = await connectSocket(url, c.buyerToken);
    try {
      const send = async (content: string) => {
        const ack = await emitAck<{ ok: boolean; data: { flags: string[] } }>(buyer, "message:send", { conversationId: c.conversationId, clientId: randomUUID(), content });
        expect(ack.ok).toBe(true);
        return ack.data;
      };
      await send("warm-up");
      await settled();
      // Short (under SPAM_MIN_CHARS once normalized) with a phone number: masked, same budget.
      let before = counters();
      expect((await send("0612345678")).flags).toEqual(["contact_info"]);
      await expect.poll(() => counters().redis - before.redis).toBe(2);
      expect(counters().statements - before.statements).toBe(1);
      // Long enough to count for the spam rule: one EVALSHA before the statement, still 1 statement.
      await settled();
      before = counters();
      expect((await send("Is the sofa still available this weekend?")).flags).toEqual([]);
      await expect.poll(() => counters().publish - before.publish).toBe(2);
      const after = counters();
      expect(after.redis - before.redis).toBe(3);
      expect(after.statements - before.statements).toBe(1);
    } finally {
      buyer.close();
    }
  });

  it("a number completed over consecutive messages costs one more statement, only for the message that completes it", async () => {
    const c = await makeConversation(app);
    const send = (content: string) => app.inject({ method: "POST", url: `/api/conversations/${c.conversationId}/messages`, headers: auth(c.buyerToken), payload: { clientId: randomUUID(), content } });
    expect((await send("06 12")).statusCode).toBe(201);
    await settled();
    let before = counters().statements;
    expect((await send("34")).json().flags).toEqual([]);
    await settled();
    expect(counters().statements - before).toBe(1);
    before = counters().statements;
    expect((await send("56 78")).json().flags).toEqual(["contact_info"]);
    await settled();
    expect(counters().statements - before).toBe(2);
  });

  it("sends that arrive together are written together: fewer statements than sends, and each batch's publishes leave in one write", async () => {
    const n = 12;
    const conversations = await Promise.all(Array.from({ length: n }, () => makeConversation(app)));
    const post = (c: (typeof conversations)[number], content: string) =>
      app.inject({ method: "POST", url: `/api/conversations/${c.conversationId}/messages`, headers: auth(c.buyerToken), payload: { clientId: randomUUID(), content } });
    // A first message each (a conversation's first one also reads its view for conversation:new).
    for (const c of conversations) expect((await post(c, "first")).statusCode).toBe(201);
    await settled();
    const writes = REDIS_CLUSTER_NODES ? null : countPublisherWrites();
    const batchesBefore = await batchCount();
    const before = counters();
    const answers = await Promise.all(conversations.map((c) => post(c, "together")));
    expect(answers.map((r) => r.statusCode)).toEqual(Array(n).fill(201));
    await settled();
    const batches = (await batchCount()) - batchesBefore;
    const after = counters();
    expect(after.statements - before.statements).toBe(batches);
    expect(batches).toBeLessThan(n);
    expect(after.publish - before.publish).toBe(2 * n);
    if (writes) expect(writes()).toBeLessThanOrEqual(batches);
  });

  it("a resend of a stored clientId costs 1 statement and publishes nothing", async () => {
    const c = await makeConversation(app);
    const body = { clientId: randomUUID(), content: "once" };
    const send = () => app.inject({ method: "POST", url: `/api/conversations/${c.conversationId}/messages`, headers: auth(c.buyerToken), payload: body });
    expect((await send()).statusCode).toBe(201);
    await settled();
    const before = counters();
    expect((await send()).statusCode).toBe(200);
    await settled();
    const after = counters();
    expect(after.statements - before.statements).toBe(1);
    expect(after.publish - before.publish).toBe(0);
  });
});

describe("conversation budgets", () => {
  it("POST /api/conversations: 3 statements when new, 2 when it exists; a GET page is 1", async () => {
    await pushUser(app, "budget-seller");
    await pushListing(app, "budget-listing", "budget-seller");
    const buyer = token("budget-buyer");
    await app.inject({ method: "GET", url: "/api/unread", headers: auth(buyer) }); // upsert from claims, once
    const open = () => app.inject({ method: "POST", url: "/api/conversations", headers: auth(buyer), payload: { listingId: "budget-listing" } });
    let before = counters().statements;
    expect((await open()).statusCode).toBe(201);
    expect(counters().statements - before).toBe(3);
    before = counters().statements;
    expect((await open()).statusCode).toBe(200);
    expect(counters().statements - before).toBe(2);
    before = counters().statements;
    const page = await app.inject({ method: "GET", url: "/api/conversations?limit=20", headers: auth(buyer) });
    expect(page.statusCode).toBe(200);
    expect(counters().statements - before).toBe(1);
  });
});
