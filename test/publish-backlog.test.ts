// A stalled Redis does not hold sends up (they are stored and answered; the publishes wait in the
// background), but what waits is bounded: beyond PUBLISH_BACKLOG_LIMIT a send is answered
// `unavailable` and stores nothing, and once Redis takes the backlog sends go through again
// (README, "Sending: group commit"). A private redis-server, put to sleep with DEBUG SLEEP.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { auth, createTestEnv, makeConversation, startApp, type TestEnv } from "./support/app.js";
import { startRedisServer, type RedisServer } from "./support/redis-server.js";

let redis: RedisServer;
let env: TestEnv;
let app: FastifyInstance;

beforeAll(async () => {
  redis = await startRedisServer({ args: ["--enable-debug-command", "yes"] });
  env = await createTestEnv("postgres");
  ({ app } = await startApp(env, { REDIS_URL: redis.url, PUBLISH_BACKLOG_LIMIT: "3", RATE_LIMIT_MESSAGES: "off" }));
});
afterAll(async () => {
  await app?.close();
  await env?.close();
  await redis?.stop();
});

describe("the publish backlog", () => {
  it("Redis asleep: sends are stored and answered up to the limit, the next is refused unavailable with nothing stored, and sends go through again once Redis is back", async () => {
    const c = await makeConversation(app);
    const send = (content: string, clientId = randomUUID()) =>
      app.inject({ method: "POST", url: `/api/conversations/${c.conversationId}/messages`, headers: auth(c.buyerToken), payload: { clientId, content } });
    expect((await send("before")).statusCode).toBe(201);
    await expect.poll(() => app.chat.messages.publishBacklog).toBe(0);

    const sleeper = new Redis(redis.url);
    const asleep = sleeper.call("DEBUG", "SLEEP", "3");
    // Wait until Redis really is asleep: a PING on another connection stays unanswered.
    const probe = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    await expect.poll(() => Promise.race([probe.ping().then(() => "awake"), new Promise((r) => setTimeout(() => r("asleep"), 200))])).toBe("asleep");

    const stored = [await send("one"), await send("two"), await send("three")];
    expect(stored.map((r) => r.statusCode)).toEqual([201, 201, 201]);
    expect(app.chat.messages.publishBacklog).toBe(3);
    const refusedId = randomUUID();
    const refused = await send("four", refusedId);
    expect(refused.statusCode).toBe(503);
    expect(refused.json().error.code).toBe("unavailable");
    expect(refused.headers["retry-after"]).toBeDefined();

    await asleep;
    await expect.poll(() => app.chat.messages.publishBacklog, { timeout: 10_000 }).toBe(0);
    expect((await send("after")).statusCode).toBe(201);
    const page = await app.inject({ method: "GET", url: `/api/conversations/${c.conversationId}/messages`, headers: auth(c.buyerToken) });
    const items = page.json().items as { seq: number; clientId: string; content: string }[];
    expect(items.map((m) => m.content)).toEqual(["before", "one", "two", "three", "after"]);
    expect(items.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(items.some((m) => m.clientId === refusedId)).toBe(false);
    sleeper.disconnect();
    probe.disconnect();
  });
});
