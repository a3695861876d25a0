// Presence through the whole service, on one node, with each backend: the Redis store (REDIS_URL
// set) and the in-memory one (unset). Several nodes and killed nodes: presence-cluster.test.ts.
import { randomUUID } from "node:crypto";
import { createConnection } from "node:net";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import {
  auth,
  connectSocket,
  createTestEnv,
  makeConversation,
  nextEvent,
  record,
  startApp,
  type ClientSocket,
  type TestEnv,
} from "./support/app.js";
import { REDIS_URL } from "./support/env.js";
import { token } from "./support/tokens.js";

const GRACE_MS = 300;

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => {
  await env?.close();
});

type Presence = { userId: string; online: boolean; lastSeenAt: string | null };
type Offline = { userId: string; lastSeenAt: string };

const backends = [
  { name: "redis", overrides: {} },
  { name: "local", overrides: { REDIS_URL: undefined } },
];

describe.each(backends)("presence on one node ($name backend)", ({ overrides }) => {
  let app: FastifyInstance;
  let url: string;
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    ({ app, url } = await startApp(env, { ...overrides, PRESENCE_GRACE_MS: String(GRACE_MS) }));
  });
  afterAll(async () => {
    sockets.forEach((s) => s.close());
    await app?.close();
  });

  async function socketFor(jwt: string) {
    const s = await connectSocket(url, jwt);
    sockets.push(s);
    return s;
  }

  async function presence(jwt: string, ids: string) {
    const res = await app.inject({ method: "GET", url: `/api/presence?userIds=${encodeURIComponent(ids)}`, headers: auth(jwt) });
    return { status: res.statusCode, body: res.json() };
  }

  /** A conversation with a message: buyer and seller are contacts. */
  async function contacts() {
    const c = await makeConversation(app);
    const res = await app.inject({
      method: "POST",
      url: `/api/conversations/${c.conversationId}/messages`,
      headers: auth(c.buyerToken),
      payload: { clientId: randomUUID(), content: "hi" },
    });
    expect(res.statusCode).toBe(201);
    return c;
  }

  it("online at the first socket, offline a grace period after the last; each contact socket told once; GET and the database agree", async () => {
    const c = await contacts();
    const seller1 = await socketFor(c.sellerToken);
    const seller2 = await socketFor(c.sellerToken);
    const events = [seller1, seller2].map((s) => ({ online: record<{ userId: string }>(s, "user:online"), offline: record<Offline>(s, "user:offline") }));

    const online = nextEvent(seller1, "user:online", (p: { userId: string }) => p.userId === c.buyer);
    const phone = await socketFor(c.buyerToken);
    expect(await online).toEqual({ userId: c.buyer });
    const laptop = await socketFor(c.buyerToken);
    expect((await presence(c.sellerToken, c.buyer)).body).toEqual([{ userId: c.buyer, online: true, lastSeenAt: null }]);

    phone.close();
    const offline = nextEvent<Offline>(seller2, "user:offline");
    const closedAt = Date.now();
    laptop.close();
    const gone = await offline;
    expect(gone).toEqual({ userId: c.buyer, lastSeenAt: expect.any(String) });
    // Last seen is when the last socket closed, not when the grace period ended.
    expect(Math.abs(Date.parse(gone.lastSeenAt) - closedAt)).toBeLessThan(GRACE_MS);
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(GRACE_MS - 50);

    for (const e of events) {
      await expect.poll(() => e.offline.length).toBe(1);
      expect(e.online).toEqual([{ userId: c.buyer }]);
      expect(e.offline).toEqual([gone]);
    }
    expect((await presence(c.sellerToken, c.buyer)).body).toEqual([{ userId: c.buyer, online: false, lastSeenAt: gone.lastSeenAt }]);
    await expect
      .poll(async () => {
        const { rows } = await app.chat.db.pool.query<{ last_seen_at: Date | null }>(`SELECT last_seen_at FROM users WHERE id = $1`, [c.buyer]);
        return rows[0]?.last_seen_at?.toISOString() ?? null;
      })
      .toBe(gone.lastSeenAt);
  });

  it("a reload within the grace period does not flicker", async () => {
    const c = await contacts();
    const seller = await socketFor(c.sellerToken);
    const online = record<{ userId: string }>(seller, "user:online");
    const offline = record<Offline>(seller, "user:offline");
    const first = await socketFor(c.buyerToken);
    await expect.poll(() => online.length).toBe(1);
    first.close();
    const reloaded = await socketFor(c.buyerToken);
    expect((await presence(c.sellerToken, c.buyer)).body[0].online).toBe(true);
    // The fence: the real goodbye. Had the reload flickered, its offline and online came first.
    const final = nextEvent<Offline>(seller, "user:offline");
    reloaded.close();
    await final;
    expect(online).toHaveLength(1);
    expect(offline).toHaveLength(1);
  });

  it("only contacts and oneself see presence; a conversation's first message makes contacts", async () => {
    const c = await makeConversation(app);
    const seller = await socketFor(c.sellerToken);
    const sellerOnline = record<{ userId: string }>(seller, "user:online");
    const buyer = await socketFor(c.buyerToken);
    // Opened but no message yet: the seller does not see the conversation, nor the buyer.
    expect((await presence(c.sellerToken, c.buyer)).body).toEqual([{ userId: c.buyer, online: false, lastSeenAt: null }]);
    expect((await presence(c.buyerToken, c.seller)).body).toEqual([{ userId: c.seller, online: false, lastSeenAt: null }]);
    expect((await presence(c.buyerToken, c.buyer)).body).toEqual([{ userId: c.buyer, online: true, lastSeenAt: null }]);
    expect((await presence(token("stranger"), `${c.buyer},${c.seller}`)).body).toEqual([
      { userId: c.buyer, online: false, lastSeenAt: null },
      { userId: c.seller, online: false, lastSeenAt: null },
    ]);

    const sent = await app.inject({
      method: "POST",
      url: `/api/conversations/${c.conversationId}/messages`,
      headers: auth(c.buyerToken),
      payload: { clientId: randomUUID(), content: "first" },
    });
    expect(sent.statusCode).toBe(201);
    expect((await presence(c.sellerToken, `${c.buyer},${c.buyer},nobody`)).body).toEqual([
      { userId: c.buyer, online: true, lastSeenAt: null },
      { userId: "nobody", online: false, lastSeenAt: null },
    ]);
    // The contact lists cached before the message were dropped: the buyer's next session is announced.
    const offline = nextEvent(seller, "user:offline");
    buyer.close();
    await offline;
    const online = nextEvent(seller, "user:online");
    await socketFor(c.buyerToken);
    expect(await online).toEqual({ userId: c.buyer });
    expect(sellerOnline).toEqual([{ userId: c.buyer }]);
  });

  it("a block hides presence both ways, at once and in the announcements; an unblock shows it again", async () => {
    const c = await makeConversation(app);
    await app.inject({ method: "POST", url: `/api/conversations/${c.conversationId}/messages`, headers: auth(c.buyerToken), payload: { clientId: randomUUID(), content: "hi" } });
    const seller = await socketFor(c.sellerToken);
    const buyer = await socketFor(c.buyerToken);
    expect((await presence(c.sellerToken, c.buyer)).body).toEqual([{ userId: c.buyer, online: true, lastSeenAt: null }]);

    const blocked = await app.inject({ method: "POST", url: "/api/blocks", headers: auth(c.sellerToken), payload: { userId: c.buyer } });
    expect(blocked.statusCode).toBe(201);
    expect((await presence(c.sellerToken, c.buyer)).body).toEqual([{ userId: c.buyer, online: false, lastSeenAt: null }]);
    expect((await presence(c.buyerToken, c.seller)).body).toEqual([{ userId: c.seller, online: false, lastSeenAt: null }]);
    // The buyer's comings and goings are no longer announced to the seller.
    const sellerHears = record<{ userId: string }>(seller, "user:offline");
    buyer.close();
    const buyerAgain = await socketFor(c.buyerToken);
    const unblocked = await app.inject({ method: "DELETE", url: `/api/blocks/${c.buyer}`, headers: auth(c.sellerToken) });
    expect(unblocked.statusCode).toBe(204);
    // (The buyer reconnected within the grace period: never offline, so no last-seen time yet.)
    expect((await presence(c.sellerToken, c.buyer)).body).toEqual([{ userId: c.buyer, online: true, lastSeenAt: null }]);
    // After the unblock the seller hears the buyer's next departure, and nothing from the blocked time.
    const offline = nextEvent<{ userId: string }>(seller, "user:offline");
    buyerAgain.close();
    expect((await offline).userId).toBe(c.buyer);
    expect(sellerHears.filter((e) => e.userId === c.buyer)).toHaveLength(1);
  });

  it("refuses bad userIds with validation_failed: missing, empty, more than 100, malformed", async () => {
    const jwt = token("validator");
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `u${i}`).join(",");
    const ok = await presence(jwt, ids(100));
    expect(ok.status).toBe(200);
    expect(ok.body).toHaveLength(100);
    for (const bad of [ids(101), "", ",,", "has space", "x".repeat(200)]) {
      const res = await presence(jwt, bad);
      expect(res.status, bad.slice(0, 20)).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
    }
    expect((await presence(jwt, ids(101))).body).toEqual({ error: { code: "validation_failed", message: "userIds: at most 100 ids", requestId: expect.any(String) } });
    const missing = await app.inject({ method: "GET", url: "/api/presence", headers: auth(jwt) });
    expect(missing.json().error.code).toBe("validation_failed");
    const repeated = await app.inject({ method: "GET", url: "/api/presence?userIds=a&userIds=b,c", headers: auth(jwt) });
    expect(repeated.json().map((p: Presence) => p.userId)).toEqual(["a", "b", "c"]);
    const anonymous = await app.inject({ method: "GET", url: "/api/presence?userIds=a" });
    expect(anonymous.statusCode).toBe(401);
  });
});

describe("single node shutdown (local backend)", () => {
  it("records the last seen time of everyone still connected when the node stops", async () => {
    const { app, url } = await startApp(env, { REDIS_URL: undefined });
    const user = `closing-${randomUUID()}`;
    const s = await connectSocket(url, token(user));
    const before = Date.now();
    await app.close();
    s.close();
    const db = new pg.Client({ connectionString: env.databaseUrl });
    await db.connect();
    const { rows } = await db.query<{ last_seen_at: Date | null }>(`SELECT last_seen_at FROM users WHERE id = $1`, [user]);
    await db.end();
    expect(rows[0]?.last_seen_at?.getTime()).toBeGreaterThanOrEqual(before - 1000);
  });
});

describe("cost of a connect and a disconnect (Redis backend)", () => {
  let app: FastifyInstance;
  let url: string;
  let monitor: { close(): void };
  let client: Redis;
  const seen: string[][] = [];

  beforeAll(async () => {
    ({ app, url } = await startApp(env, { PRESENCE_GRACE_MS: String(GRACE_MS) }));
    client = new Redis(REDIS_URL);
    // Every command naming this test's prefix, but not those a script runs inside Redis.
    monitor = await monitorRedis(REDIS_URL, (args, source) => {
      if (source !== "lua" && args.some((a) => a.includes(env.redisPrefix))) seen.push(args);
    });
  });
  afterAll(async () => {
    monitor?.close();
    client?.disconnect();
    await app?.close();
  });

  /**
   * Redis commands about `user` (the periodic sweep names no user) and SQL statements that
   * `action` causes, counted up to a fence command.
   */
  async function cost(user: string, action: () => Promise<void>) {
    seen.length = 0;
    const statements = app.chat.db.statementCount();
    await action();
    const sql = app.chat.db.statementCount() - statements;
    const fence = `${env.redisPrefix}:fence:${randomUUID()}`;
    await client.get(fence);
    await expect.poll(() => seen.some((args) => args.includes(fence))).toBe(true);
    // EVAL or EVALSHA: ioredis sends the script body once per connection, its hash afterwards.
    const commands = seen.filter((args) => args.some((a) => a.includes(user))).map((args) => args[0]!.toLowerCase().replace(/^eval(sha)?$/, "script"));
    return { sql, commands };
  }

  it("first socket: 1 SSUBSCRIBE, 1 script, 1 SPUBLISH per contact and 1 statement; more sockets: nothing; last socket: 1 SUNSUBSCRIBE, 1 script, 1 SPUBLISH per contact", async () => {
    const c = await makeConversation(app);
    await app.inject({ method: "POST", url: `/api/conversations/${c.conversationId}/messages`, headers: auth(c.buyerToken), payload: { clientId: randomUUID(), content: "hi" } });
    const seller = await connectSocket(url, c.sellerToken);
    // The seller's own announcement (on the buyer's channel) must be out of the way first.
    await expect
      .poll(() => seen.some((args) => args[0] === "spublish" && args[1] === `${env.redisPrefix}:u:${c.buyer}` && args[2]!.includes("presence.changed")))
      .toBe(true);
    let buyer!: ClientSocket;
    let second!: ClientSocket;
    try {
      const cold = await cost(c.buyer, async () => {
        const online = nextEvent(seller, "user:online");
        buyer = await connectSocket(url, c.buyerToken);
        await online;
      });
      // The handshake subscribes to the buyer's channel; the announcement loads the buyer's
      // contact list (one statement) and publishes on each contact's channel (the seller's).
      expect(cold).toEqual({ sql: 1, commands: ["ssubscribe", "script", "spublish"] });

      const more = await cost(c.buyer, async () => {
        second = await connectSocket(url, c.buyerToken);
      });
      expect(more).toEqual({ sql: 0, commands: [] });

      const last = await cost(c.buyer, async () => {
        const offline = nextEvent(seller, "user:offline");
        buyer.close();
        second.close();
        await offline;
      });
      // The channel is left with the last socket; presence waits for the grace period.
      expect(last).toEqual({ sql: 0, commands: ["sunsubscribe", "script", "spublish"] });
      // The last-seen write is batched: one statement a second at most, whatever the number of users.

      const again = await cost(c.buyer, async () => {
        const online = nextEvent(seller, "user:online");
        buyer = await connectSocket(url, c.buyerToken);
        await online;
      });
      // The contact list is loaded again: while this node held none of the buyer's sockets it
      // heard none of their events, so it cannot know whether they gained a contact since.
      expect(again).toEqual({ sql: 1, commands: ["ssubscribe", "script", "spublish"] });

      const lookup = await cost(c.buyer, async () => {
        const res = await app.inject({ method: "GET", url: `/api/presence?userIds=${c.buyer},${c.seller}`, headers: auth(c.sellerToken) });
        expect(res.json().map((p: Presence) => p.online)).toEqual([true, true]);
      });
      expect(lookup).toEqual({ sql: 1, commands: ["script"] });
    } finally {
      seller.close();
      buyer?.close();
      second?.close();
    }
  });
});

/**
 * Redis MONITOR on a plain socket (ioredis's monitor mode trips over replies arriving while it
 * disconnects): each executed command as its quoted arguments, with its source ("lua" for
 * commands run by scripts). Binary arguments arrive escaped, so lines are plain text.
 */
async function monitorRedis(url: string, onCommand: (args: string[], source: string) => void): Promise<{ close(): void }> {
  const { hostname, port, password } = new URL(url);
  const socket = createConnection(Number(port || 6379), hostname);
  socket.setEncoding("utf8");
  socket.on("error", (err) => console.error("redis monitor failed", err));
  let buffer = "";
  let ready: () => void;
  const started = new Promise<void>((resolve) => (ready = resolve));
  socket.on("data", (chunk: string) => {
    buffer += chunk;
    for (let end = buffer.indexOf("\r\n"); end >= 0; end = buffer.indexOf("\r\n")) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (line === "+OK") ready();
      const m = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
      if (m) onCommand([...m[2]!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((x) => x[1]!), m[1]!);
    }
  });
  if (password) socket.write(`AUTH ${decodeURIComponent(password)}\r\n`);
  socket.write("MONITOR\r\n");
  await started;
  return { close: () => socket.destroy() };
}
