// Rate limits: one suite for both backends (this node's memory and Redis), then the contract on
// HTTP (429 + Retry-After) and sockets (rate_limited with retryAfterMs), on both backends.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { LocalRateLimiter } from "../src/cluster/local-rate-limiter.js";
import { RedisRateLimiter } from "../src/cluster/redis-rate-limiter.js";
import type { RateLimiter } from "../src/cluster/rate-limiter.js";
import { parseRateLimit } from "../src/config/rate-limit-spec.js";
import { connectRedis, type RedisConnections } from "../src/cluster/redis.js";
import {
  auth,
  connectSocket,
  createTestEnv,
  emitAck,
  makeConversation,
  pushListing,
  pushUser,
  record,
  startApp,
  type ClientSocket,
  type TestEnv,
} from "./support/app.js";
import { REDIS_ENV, REDIS_TARGET, uniqueName } from "./support/env.js";
import { token } from "./support/tokens.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let env: TestEnv;
let redis: RedisConnections;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  redis = connectRedis(REDIS_TARGET, (err) => console.error(err));
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await redis?.close();
  await env?.close();
});

const backends: [string, () => RateLimiter][] = [
  ["local", () => new LocalRateLimiter()],
  ["redis", () => new RedisRateLimiter(redis.command, { prefix: uniqueName("rltest") })],
];

describe.each(backends)("%s backend", (_name, make) => {
  it("allows a burst of `points`, then refuses with the time until the next token", async () => {
    const limiter = make();
    const limit = { points: 5, windowMs: 10_000 };
    const decisions = [];
    for (let i = 0; i < 7; i++) decisions.push(await limiter.consume("burst", limit));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false, false]);
    expect(decisions[0]!.retryAfterMs).toBe(0);
    // One token comes back every windowMs / points = 2000 ms.
    expect(decisions[5]!.retryAfterMs).toBeGreaterThan(1500);
    expect(decisions[5]!.retryAfterMs).toBeLessThanOrEqual(2000);
  });

  it("refills at points per window: allowed again once retryAfterMs has passed", async () => {
    const limiter = make();
    const limit = { points: 2, windowMs: 400 };
    await limiter.consume("refill", limit);
    await limiter.consume("refill", limit);
    const refused = await limiter.consume("refill", limit);
    expect(refused.allowed).toBe(false);
    await sleep(refused.retryAfterMs + 5);
    expect((await limiter.consume("refill", limit)).allowed).toBe(true);
    expect((await limiter.consume("refill", limit)).allowed).toBe(false);
  });

  it("keeps keys apart", async () => {
    const limiter = make();
    const limit = { points: 1, windowMs: 60_000 };
    expect((await limiter.consume("a", limit)).allowed).toBe(true);
    expect((await limiter.consume("a", limit)).allowed).toBe(false);
    expect((await limiter.consume("b", limit)).allowed).toBe(true);
  });

  it("is exact under concurrency: 50 simultaneous checks against 10 points allow 10", async () => {
    const limiter = make();
    const decisions = await Promise.all(Array.from({ length: 50 }, () => limiter.consume("race", { points: 10, windowMs: 60_000 })));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
  });
});

describe("local backend", () => {
  it("counts per node: two instances do not share buckets", async () => {
    const a = new LocalRateLimiter();
    const b = new LocalRateLimiter();
    const limit = { points: 1, windowMs: 60_000 };
    expect((await a.consume("k", limit)).allowed).toBe(true);
    expect((await b.consume("k", limit)).allowed).toBe(true);
  });

  it("remembers at most maxKeys keys (a flood of addresses cannot exhaust memory)", async () => {
    const limiter = new LocalRateLimiter({ maxKeys: 100 });
    for (let i = 0; i < 10_000; i++) limiter.take(`ip-${i}`, { points: 10, windowMs: 60_000 });
    expect(limiter.size).toBeLessThanOrEqual(100);
    // The most recent keys are the ones remembered.
    expect(limiter.take("ip-9999", { points: 1, windowMs: 60_000 }).allowed).toBe(false);
  });

  it("forgets buckets that are full again before forgetting live ones", async () => {
    let now = 0;
    const limiter = new LocalRateLimiter({ maxKeys: 10, now: () => now });
    limiter.take("live", { points: 1, windowMs: 1_000_000 });
    for (let i = 0; i < 20; i++) {
      now += 1000;
      limiter.take(`short-${i}`, { points: 1, windowMs: 10 });
    }
    expect(limiter.take("live", { points: 1, windowMs: 1_000_000 }).allowed).toBe(false);
  });
});

describe("redis backend", () => {
  it("is shared by every node: two limiters on two connections count together", async () => {
    const prefix = uniqueName("rlshared");
    const other = connectRedis(REDIS_TARGET, (err) => console.error(err));
    closers.push(() => other.close());
    // A check Redis does not answer in time is allowed (fail open): on a busy machine, or while
    // a cluster client first learns the slots, the default 250 ms is not this test's subject.
    const a = new RedisRateLimiter(redis.command, { prefix, timeoutMs: 10_000 });
    const b = new RedisRateLimiter(other.command, { prefix, timeoutMs: 10_000 });
    const limit = { points: 10, windowMs: 60_000 };
    const decisions = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).consume("user-1", limit)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
  });

  it("costs one Redis command per check and keeps its key under the prefix until the bucket is full again", async () => {
    const prefix = uniqueName("rlcost");
    const limiter = new RedisRateLimiter(redis.command, { prefix });
    await limiter.consume("warm", { points: 5, windowMs: 1000 }); // loads the script once
    const count = () => Object.values(redis.commandCounts().command).reduce((a, b) => a + b, 0);
    const before = count();
    for (let i = 0; i < 20; i++) await limiter.consume(`k${i % 3}`, { points: 5, windowMs: 1000 });
    expect(count() - before).toBe(20);
    const ttl = await redis.command.pttl(`${prefix}:rl:k0`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1000);
  });

  it("fails open when Redis does not answer, and says so once per outage", async () => {
    const dead = new Redis("redis://127.0.0.1:1", { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on("error", (err: Error) => err);
    closers.push(async () => dead.disconnect());
    const errors: Error[] = [];
    const limiter = new RedisRateLimiter(dead, { prefix: "x", timeoutMs: 100, onError: (err) => errors.push(err) });
    const limit = { points: 1, windowMs: 60_000 };
    expect(await limiter.consume("k", limit)).toEqual({ allowed: true, retryAfterMs: 0 });
    expect(await limiter.consume("k", limit)).toEqual({ allowed: true, retryAfterMs: 0 });
    expect(errors).toHaveLength(1);
  });
});

describe("configuration", () => {
  it.each([
    ["20/10s", { points: 20, windowMs: 10_000 }],
    ["300/1m", { points: 300, windowMs: 60_000 }],
    ["300/m", { points: 300, windowMs: 60_000 }],
    ["10 / 1h", { points: 10, windowMs: 3_600_000 }],
    ["5/500ms", { points: 5, windowMs: 500 }],
    ["off", null],
    ["0", null],
  ])("%j → %j", (spec, expected) => {
    expect(parseRateLimit(spec)).toEqual(expected);
  });

  it.each(["", "20", "20/", "x/10s", "20/10", "20/10d", "0/1s", "-1/1s"])("%j is refused", (spec) => {
    expect(() => parseRateLimit(spec)).toThrow();
  });

  it("a bad value stops start-up naming the variable", async () => {
    const { loadConfig } = await import("../src/config/config.js");
    expect(() => loadConfig({ DATABASE_URL: env.databaseUrl, JWT_SECRET: "x".repeat(32), RATE_LIMIT_MESSAGES: "lots" })).toThrow(
      /^Invalid configuration: RATE_LIMIT_MESSAGES must be "<count>\/<window>"/,
    );
  });
});

// The contract on both backends: REDIS_URL unset runs on this node's memory.
describe.each([
  ["local", { REDIS_URL: undefined }],
  ["redis", REDIS_ENV],
])("HTTP and sockets (%s)", (_name, redisVariables: Record<string, string | undefined>) => {
  let app: FastifyInstance;
  let url: string;
  const sockets: ClientSocket[] = [];
  const limits = {
    RATE_LIMIT_MESSAGES: "3/1m",
    RATE_LIMIT_CONVERSATIONS: "2/1m",
    RATE_LIMIT_ANONYMOUS: "5/1m",
    RATE_LIMIT_SEARCH: "1/1m",
    RATE_LIMIT_UPLOADS: "1/1m",
    RATE_LIMIT_REPORTS: "1/1h",
  };

  beforeAll(async () => {
    ({ app, url } = await startApp(env, { ...redisVariables, REDIS_PREFIX: uniqueName("rlapp"), ...limits }));
  });
  afterAll(async () => {
    sockets.forEach((s) => s.close());
    await app?.close();
  });

  it("conversation opens: 429 rate_limited with Retry-After beyond the limit, per user", async () => {
    const seller = `rl-seller-${randomUUID()}`;
    await pushUser(app, seller);
    for (let i = 0; i < 3; i++) await pushListing(app, `${seller}-l${i}`, seller);
    const open = (buyer: string, i: number) =>
      app.inject({ method: "POST", url: "/api/conversations", headers: auth(token(buyer)), payload: { listingId: `${seller}-l${i}` } });
    const buyer = `rl-buyer-${randomUUID()}`;
    expect((await open(buyer, 0)).statusCode).toBe(201);
    expect((await open(buyer, 1)).statusCode).toBe(201);
    const refused = await open(buyer, 2);
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toEqual({ error: { code: "rate_limited", message: expect.stringMatching(/^Too many conversations opened/), requestId: expect.any(String) } });
    // 2 per minute: the next one in 30 s.
    expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(29);
    expect(Number(refused.headers["retry-after"])).toBeLessThanOrEqual(30);
    // Nothing was written for the refused request.
    const list = await app.inject({ method: "GET", url: "/api/conversations", headers: auth(token(buyer)) });
    expect(list.json().items).toHaveLength(2);
    // Another user has a bucket of their own.
    expect((await open(`rl-other-${randomUUID()}`, 2)).statusCode).toBe(201);
  });

  it("message sends: the socket ack says rate_limited with retryAfterMs, HTTP says 429; the refused message is neither stored nor delivered", async () => {
    const c = await makeConversation(app);
    const buyer = await connectSocket(url, c.buyerToken);
    const seller = await connectSocket(url, c.sellerToken);
    sockets.push(buyer, seller);
    const delivered = record<{ seq: number }>(seller, "message:new");
    const send = () => emitAck<{ ok: boolean; error?: { code: string; message: string; retryAfterMs: number } }>(buyer, "message:send", {
      conversationId: c.conversationId,
      clientId: randomUUID(),
      content: "hi",
    });
    expect((await send()).ok).toBe(true);
    expect((await send()).ok).toBe(true);
    expect((await send()).ok).toBe(true);
    const refused = await send();
    expect(refused).toEqual({
      ok: false,
      error: { code: "rate_limited", message: expect.stringMatching(/^Too many messages/), retryAfterMs: expect.any(Number) },
    });
    expect(refused.error!.retryAfterMs).toBeGreaterThan(19_000);
    expect(refused.error!.retryAfterMs).toBeLessThanOrEqual(20_000);
    // HTTP sends share the sender's bucket.
    const http = await app.inject({
      method: "POST",
      url: `/api/conversations/${c.conversationId}/messages`,
      headers: auth(c.buyerToken),
      payload: { clientId: randomUUID(), content: "over http" },
    });
    expect(http.statusCode).toBe(429);
    expect(Number(http.headers["retry-after"])).toBeGreaterThanOrEqual(19);
    // The other participant is not limited by the sender's rate.
    const reply = await emitAck<{ ok: boolean; data: { seq: number } }>(seller, "message:send", { conversationId: c.conversationId, clientId: randomUUID(), content: "yes" });
    expect(reply).toMatchObject({ ok: true, data: { seq: 4 } });
    await expect.poll(() => delivered.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    const history = await app.inject({ method: "GET", url: `/api/conversations/${c.conversationId}/messages`, headers: auth(c.sellerToken) });
    expect(history.json().items.map((m: { seq: number }) => m.seq)).toEqual([1, 2, 3, 4]);
  });

  it("invalid sends do not use up the sender's messages", async () => {
    const c = await makeConversation(app);
    for (let i = 0; i < 5; i++) {
      const res = await app.inject({ method: "POST", url: `/api/conversations/${c.conversationId}/messages`, headers: auth(c.buyerToken), payload: { clientId: "nope" } });
      expect(res.statusCode).toBe(400);
    }
    const ok = await app.inject({ method: "POST", url: `/api/conversations/${c.conversationId}/messages`, headers: auth(c.buyerToken), payload: { clientId: randomUUID(), content: "fine" } });
    expect(ok.statusCode).toBe(201);
  });

  it("uploads, reports and searches have per-user limits of their own", async () => {
    const c = await makeConversation(app);
    const h = auth(c.buyerToken);
    // Each rule allows one here: whatever the first answer, the second is refused before any work.
    const upload = () => app.inject({ method: "POST", url: "/api/uploads", headers: { ...h, "content-type": "text/plain" }, payload: "x" });
    expect((await upload()).statusCode).not.toBe(429);
    expect((await upload()).statusCode).toBe(429);
    const report = () => app.inject({ method: "POST", url: "/api/reports", headers: h, payload: { userId: c.seller, reason: "spam" } });
    expect((await report()).statusCode).not.toBe(429);
    const refused = await report();
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.message).toMatch(/^Too many reports/);
    const search = () => app.inject({ method: "GET", url: "/api/search?q=hello", headers: h });
    expect((await search()).statusCode).toBe(200);
    expect((await search()).statusCode).toBe(429);
    // Each rule is its own bucket: the seller searches freely.
    expect((await app.inject({ method: "GET", url: "/api/search?q=hello", headers: auth(c.sellerToken) })).statusCode).toBe(200);
  });

  it("requests without a token are limited per address; probes and authenticated requests are not", async () => {
    // inject() comes from 127.0.0.1; a forwarded-for header is ignored without TRUST_PROXY.
    const anonymous = () => app.inject({ method: "GET", url: "/api/conversations", headers: { "x-forwarded-for": randomUUID() } });
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await anonymous()).statusCode);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    const refused = await anonymous();
    expect(refused.json().error.code).toBe("rate_limited");
    expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 10; i++) expect((await app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    const c = await makeConversation(app);
    expect((await app.inject({ method: "GET", url: "/api/unread", headers: auth(c.buyerToken) })).statusCode).toBe(200);
  });
});

describe("several nodes (Redis)", () => {
  it("HTTP limits are cluster-wide: opens on two nodes share one bucket", async () => {
    const shared = { REDIS_PREFIX: uniqueName("rlnodes"), RATE_LIMIT_CONVERSATIONS: "2/1m" };
    const a = await startApp(env, shared);
    closers.push(() => a.app.close());
    const b = await startApp(env, shared);
    closers.push(() => b.app.close());
    const seller = `rl-seller-${randomUUID()}`;
    await pushUser(a.app, seller);
    for (let i = 0; i < 3; i++) await pushListing(a.app, `${seller}-l${i}`, seller);
    const buyer = token(`rl-buyer-${randomUUID()}`);
    const open = (app: FastifyInstance, i: number) =>
      app.inject({ method: "POST", url: "/api/conversations", headers: auth(buyer), payload: { listingId: `${seller}-l${i}` } });
    expect((await open(a.app, 0)).statusCode).toBe(201);
    expect((await open(b.app, 1)).statusCode).toBe(201);
    expect((await open(a.app, 2)).statusCode).toBe(429);
    expect((await open(b.app, 2)).statusCode).toBe(429);
  });
});
