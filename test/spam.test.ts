// The duplicate-content (spam) rule (README, "Spam"): one suite for both backends of the shared
// count (this node's memory, real Redis), then the rule end to end across two real nodes, and a
// number split over messages sent through different nodes.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DuplicateCounter } from "../src/cluster/duplicate-counter.js";
import { LocalDuplicateCounter } from "../src/cluster/local-duplicate-counter.js";
import { RedisDuplicateCounter } from "../src/cluster/redis-duplicate-counter.js";
import { REDIS_URL, uniqueName } from "./support/env.js";
import { useTwoNodes } from "./support/two-nodes.js";
import { serviceToken, token } from "./support/tokens.js";

let redis: Redis;
const prefix = uniqueName("mctest");

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

const backends: { name: string; make(): { a: DuplicateCounter; b: DuplicateCounter } }[] = [
  {
    name: "local",
    make() {
      const counter = new LocalDuplicateCounter();
      return { a: counter, b: counter };
    },
  },
  {
    name: "redis",
    make() {
      const p = `${prefix}:${Math.random().toString(36).slice(2, 8)}`;
      return { a: new RedisDuplicateCounter(redis, { prefix: p }), b: new RedisDuplicateCounter(redis, { prefix: p }) };
    },
  },
];

for (const backend of backends) {
  describe(`duplicate counter: ${backend.name}`, () => {
    it("counts distinct conversations per key, refuses new ones over the limit, never an already counted one", async () => {
      const { a, b } = backend.make();
      expect((await a.admit("k", "c1", 2, 60_000)).allowed).toBe(true);
      expect((await b.admit("k", "c2", 2, 60_000)).allowed).toBe(true);
      const refused = await a.admit("k", "c3", 2, 60_000);
      expect(refused.allowed).toBe(false);
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000);
      expect((await b.admit("k", "c1", 2, 60_000)).allowed).toBe(true);
      expect((await b.admit("other", "c3", 2, 60_000)).allowed).toBe(true);
    });

    it("forgets a conversation once it leaves the window", async () => {
      const { a } = backend.make();
      expect((await a.admit("w", "c1", 1, 300)).allowed).toBe(true);
      expect((await a.admit("w", "c2", 1, 300)).allowed).toBe(false);
      await expect.poll(async () => (await a.admit("w", "c2", 1, 300)).allowed, { interval: 100 }).toBe(true);
    });
  });
}

describe("across two nodes", () => {
  const t = useTwoNodes({ SPAM_DUPLICATE_LIMIT: "2" });
  const ADMIN = token("spam-admin", { role: "admin" });

  async function conversations(buyer: string, n: number, tag: string): Promise<string[]> {
    const seller = `seller-${tag}`;
    await t.http(t.a, "PUT", `/api/internal/users/${seller}`, serviceToken(), { name: "Seller" });
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      await t.http(t.b, "PUT", `/api/internal/listings/l-${tag}-${i}`, serviceToken(), { sellerId: seller, title: `Item ${i}` });
      const opened = await t.http(t.a, "POST", "/api/conversations", token(buyer), { listingId: `l-${tag}-${i}` });
      expect(opened.status).toBe(201);
      ids.push(opened.body.id);
    }
    return ids;
  }

  it("the same text into more conversations than SPAM_DUPLICATE_LIMIT is rate_limited, whichever node takes it; each refusal is listed", async () => {
    const buyer = "spammer";
    const [c1, c2, c3, c4] = await conversations(buyer, 4, "spam");
    const text = "Cheap watches at best prices, write me!";
    const sendVia = (node: typeof t.a, id: string, content: string) =>
      t.http(node, "POST", `/api/conversations/${id}/messages`, token(buyer), { clientId: randomUUID(), content });
    expect((await sendVia(t.a, c1!, text)).status).toBe(201);
    expect((await sendVia(t.b, c2!, "CHEAP   watches at best prices, write me!")).status).toBe(201);
    const refused = await sendVia(t.a, c3!, text);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe("rate_limited");
    expect((await sendVia(t.b, c4!, text)).status).toBe(429);
    // Where it already went, and other texts, still go.
    expect((await sendVia(t.b, c1!, text)).status).toBe(201);
    expect((await sendVia(t.a, c3!, "Is the blue one still available?")).status).toBe(201);
    const flags = await t.http(t.b, "GET", "/api/admin/flags?rule=spam", ADMIN);
    expect(flags.status).toBe(200);
    const mine = (flags.body.items as { conversationId: string; action: string; senderId: string }[]).filter((f) => f.senderId === buyer);
    expect(mine.map((f) => f.conversationId).sort()).toEqual([c3, c4].sort());
    expect(mine.every((f) => f.action === "rate_limited")).toBe(true);
    const history = await t.http(t.a, "GET", `/api/conversations/${c4}/messages`, token(buyer));
    expect(history.body.items).toEqual([]);
  });

  it("a number split over messages sent through different nodes is still found", async () => {
    const c = await t.conversation("split");
    const sendVia = (node: typeof t.a, content: string) =>
      t.http(node, "POST", `/api/conversations/${c.id}/messages`, token(c.buyer), { clientId: randomUUID(), content });
    expect((await sendVia(t.a, "06 12")).body.flags).toEqual([]);
    expect((await sendVia(t.b, "34")).body.flags).toEqual([]);
    const last = await sendVia(t.a, "56 78");
    expect(last.body).toMatchObject({ content: "56 78", flags: ["contact_info"] });
    const seen = await t.http(t.b, "GET", `/api/conversations/${c.id}/messages`, token(c.seller));
    expect(seen.body.items.at(-1)).toMatchObject({ content: "[contact hidden]", flags: ["contact_info"] });
  });
});
