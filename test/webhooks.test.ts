// Webhooks (API.md, "Offline delivery: webhooks") against a real HTTP receiver on 127.0.0.1 that
// checks every signature: message.unread for offline recipients after WEBHOOK_DELAY_MS, none when
// read in time or online, retries with backoff, giving up, and two nodes sharing one outbox.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { insertWebhook } from "../src/db/webhook-outbox.js";
import { retryDelayMs } from "../src/webhooks/webhook-worker.js";
import { signWebhook, verifyWebhookSignature } from "../src/webhooks/webhook-signer.js";
import { auth, connectSocket, createTestEnv, makeConversation, startApp, type ClientSocket } from "./support/app.js";
import { uniqueName } from "./support/env.js";

const SECRET = "whsec-test-0123456789abcdef";
const DELAY_MS = 400;
const RETRY_BASE_MS = 200;

interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  body: { id: string; type: string; createdAt: string; data: Record<string, unknown> };
  at: number;
  signatureOk: boolean;
}

/** A webhook receiver: records every request, answers with what `respond` says (default 200). */
class Receiver {
  readonly received: Received[] = [];
  respond: (r: Received) => Promise<number> | number = () => 200;
  private server!: Server;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", async () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const r: Received = {
          headers: req.headers,
          raw,
          body: JSON.parse(raw),
          at: Date.now(),
          signatureOk: verifyWebhookSignature(SECRET, req.headers["x-chat-signature"] as string, raw),
        };
        this.received.push(r);
        const status = await this.respond(r);
        res.writeHead(status, { "content-type": "text/plain" }).end(status === 200 ? "ok" : `receiver says ${status}`);
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/chat`;
  }

  for(id: string): Received[] {
    return this.received.filter((r) => r.body.id === id);
  }

  about(messageId: string): Received[] {
    return this.received.filter((r) => (r.body.data.message as { id?: string } | undefined)?.id === messageId);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const closers: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

/**
 * A database of its own (every worker on a database sends all of its outbox, so apps that must not
 * see each other's rows must not share one), a receiver, and `nodes` apps sending to it.
 */
async function setup(
  extra: Record<string, string | undefined> = {},
  nodes = 1,
  options: { perNode?: Record<string, string>[]; beforeStart?: (db: pg.Pool) => Promise<unknown> } = {},
) {
  const env = await createTestEnv();
  closers.push(() => env.close());
  const db = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
  closers.push(() => db.end());
  await options.beforeStart?.(db);
  const receiver = new Receiver();
  await receiver.start();
  closers.push(() => receiver.stop());
  const prefix = uniqueName("wh");
  const apps = [];
  for (let i = 0; i < nodes; i++) {
    const started = await startApp(env, {
      REDIS_PREFIX: prefix,
      NODE_ID: `node-${i}`,
      WEBHOOK_URL: receiver.url,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_DELAY_MS: String(DELAY_MS),
      WEBHOOK_POLL_INTERVAL_MS: "50",
      WEBHOOK_RETRY_BASE_MS: String(RETRY_BASE_MS),
      WEBHOOK_TIMEOUT_MS: "1000",
      ...extra,
      ...options.perNode?.[i],
    });
    closers.push(() => started.app.close());
    apps.push(started);
  }
  const nodeUrls = apps.map((a) => a.url);
  const outboxRows = async (where: string, params: unknown[]) => {
    const { rows } = await db.query<{
      id: string;
      type: string;
      attempts: number;
      last_error: string | null;
      delivered_at: Date | null;
      failed_at: Date | null;
    }>(`SELECT id, type, attempts, last_error, delivered_at, failed_at FROM webhook_deliveries WHERE ${where}`, params);
    return rows;
  };
  return {
    db,
    receiver,
    app: apps[0]!.app,
    url: apps[0]!.url,
    nodeUrls,
    outboxRows,
    rowsAbout: (messageId: string) => outboxRows("payload->>'messageId' = $1", [messageId]),
  };
}

type Setup = Awaited<ReturnType<typeof setup>>;

async function send(app: FastifyInstance, jwt: string, conversationId: string, content: string) {
  const res = await app.inject({ method: "POST", url: `/api/conversations/${conversationId}/messages`, headers: auth(jwt), payload: { clientId: randomUUID(), content } });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: string; seq: number; createdAt: string; conversationId: string };
}

describe("message.unread", () => {
  let receiver: Receiver;
  let app: FastifyInstance;
  let url: string;
  let rowsAbout: Setup["rowsAbout"];

  beforeAll(async () => {
    ({ receiver, app, url, rowsAbout } = await setup());
  });

  it("reaches the marketplace once for an offline recipient, signed, after WEBHOOK_DELAY_MS", async () => {
    const c = await makeConversation(app);
    const message = await send(app, c.buyerToken, c.conversationId, "Is the lamp still available?");
    await expect.poll(() => receiver.about(message.id).length, { timeout: 10_000 }).toBe(1);
    const [hook] = receiver.about(message.id);
    expect(hook!.signatureOk).toBe(true);
    expect(hook!.headers["content-type"]).toBe("application/json");
    expect(hook!.headers["x-chat-delivery"]).toBe(hook!.body.id);
    expect(hook!.headers["x-chat-signature"]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const conversation = await app.inject({ method: "GET", url: `/api/conversations/${c.conversationId}`, headers: auth(c.sellerToken) });
    const stored = await app.inject({ method: "GET", url: `/api/conversations/${c.conversationId}/messages`, headers: auth(c.sellerToken) });
    expect(hook!.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: "message.unread",
      createdAt: message.createdAt,
      data: { userId: c.seller, conversation: conversation.json(), message: stored.json().items[0] },
    });
    expect((hook!.body.data.conversation as { unreadCount: number }).unreadCount).toBe(1);
    // Not before the delay: due_at is the message's time plus WEBHOOK_DELAY_MS.
    expect(hook!.at - Date.parse(message.createdAt)).toBeGreaterThanOrEqual(DELAY_MS - 5);
    // The sender is never told about their own message.
    expect(receiver.received.filter((r) => (r.body.data as { userId?: string }).userId === c.buyer)).toEqual([]);
    const [row] = await rowsAbout(message.id);
    expect(row).toMatchObject({ type: "message.unread", attempts: 1, last_error: null, failed_at: null });
    expect(row!.delivered_at).toBeInstanceOf(Date);
  });

  it("a message read before the delay sends nothing", async () => {
    const c = await makeConversation(app);
    const message = await send(app, c.buyerToken, c.conversationId, "read me quickly");
    const read = await app.inject({ method: "POST", url: `/api/conversations/${c.conversationId}/read`, headers: auth(c.sellerToken), payload: {} });
    expect(read.statusCode).toBe(204);
    expect(await rowsAbout(message.id)).toHaveLength(1);
    // The worker looks at the row when it is due and drops it.
    await expect.poll(async () => (await rowsAbout(message.id)).length, { timeout: 10_000 }).toBe(0);
    expect(receiver.about(message.id)).toEqual([]);
  });

  it("a recipient with a socket connected gets no webhook", async () => {
    const c = await makeConversation(app);
    const first = await send(app, c.buyerToken, c.conversationId, "hello");
    await expect.poll(() => receiver.about(first.id).length, { timeout: 10_000 }).toBe(1);
    const seller: ClientSocket = await connectSocket(url, c.sellerToken);
    try {
      const second = await send(app, c.buyerToken, c.conversationId, "are you there?");
      await expect.poll(async () => (await rowsAbout(second.id)).length, { timeout: 10_000 }).toBe(0);
      expect(receiver.about(second.id)).toEqual([]);
    } finally {
      seller.close();
    }
  });

  it("an unsent message sends nothing", async () => {
    const c = await makeConversation(app);
    const message = await send(app, c.buyerToken, c.conversationId, "oops, wrong chat");
    const del = await app.inject({ method: "DELETE", url: `/api/messages/${message.id}`, headers: auth(c.buyerToken) });
    expect(del.statusCode).toBe(204);
    await expect.poll(async () => (await rowsAbout(message.id)).length, { timeout: 10_000 }).toBe(0);
    expect(receiver.about(message.id)).toEqual([]);
  });

  it("each unread message is announced: two messages, two webhooks with their own ids", async () => {
    const c = await makeConversation(app);
    const a = await send(app, c.buyerToken, c.conversationId, "one");
    const b = await send(app, c.buyerToken, c.conversationId, "two");
    await expect.poll(() => receiver.about(a.id).length + receiver.about(b.id).length, { timeout: 10_000 }).toBe(2);
    expect(receiver.about(a.id)[0]!.body.id).not.toBe(receiver.about(b.id)[0]!.body.id);
    // The conversation is rendered when sent: both show the two unread messages.
    expect((receiver.about(b.id)[0]!.body.data.conversation as { unreadCount: number }).unreadCount).toBe(2);
  });
});

describe("retries", () => {
  it("a failing receiver (500, 500, then 200) gets the same delivery again with growing backoff", async () => {
    const { receiver, app, rowsAbout } = await setup();
    let calls = 0;
    receiver.respond = () => (++calls <= 2 ? 500 : 200);
    const c = await makeConversation(app);
    const message = await send(app, c.buyerToken, c.conversationId, "retry me");
    await expect.poll(() => receiver.about(message.id).length, { timeout: 15_000 }).toBe(3);
    const attempts = receiver.about(message.id);
    expect(new Set(attempts.map((r) => r.headers["x-chat-delivery"])).size).toBe(1);
    expect(new Set(attempts.map((r) => r.body.id)).size).toBe(1);
    expect(attempts.every((r) => r.signatureOk)).toBe(true);
    expect(attempts.map((r) => r.headers["x-chat-attempt"])).toEqual(["1", "2", "3"]);
    // Lower bounds only: the worker may not try again before base, then 2 × base.
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(RETRY_BASE_MS - 5);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(2 * RETRY_BASE_MS - 5);
    await expect.poll(async () => (await rowsAbout(message.id))[0]?.delivered_at ?? null).toBeInstanceOf(Date);
    const [row] = await rowsAbout(message.id);
    expect(row).toMatchObject({ attempts: 3, failed_at: null, last_error: "HTTP 500: receiver says 500" });
  });

  it("an attempt that times out is retried", async () => {
    const { receiver, app, rowsAbout } = await setup({ WEBHOOK_TIMEOUT_MS: "300" });
    let calls = 0;
    receiver.respond = async () => {
      if (++calls === 1) await new Promise((resolve) => setTimeout(resolve, 1000));
      return 200;
    };
    const c = await makeConversation(app);
    const message = await send(app, c.buyerToken, c.conversationId, "slow receiver");
    await expect.poll(async () => (await rowsAbout(message.id))[0]?.delivered_at ?? null, { timeout: 15_000 }).toBeInstanceOf(Date);
    const [row] = await rowsAbout(message.id);
    expect(row).toMatchObject({ attempts: 2, last_error: "timed out after 300 ms" });
  });

  it("gives up after WEBHOOK_MAX_ATTEMPTS: failed_at set, the row kept for inspection", async () => {
    const { receiver, app, rowsAbout } = await setup({ WEBHOOK_MAX_ATTEMPTS: "3", WEBHOOK_RETRY_BASE_MS: "50" });
    receiver.respond = () => 503;
    const c = await makeConversation(app);
    const message = await send(app, c.buyerToken, c.conversationId, "nobody listens");
    await expect.poll(async () => (await rowsAbout(message.id))[0]?.failed_at ?? null, { timeout: 15_000 }).toBeInstanceOf(Date);
    const [row] = await rowsAbout(message.id);
    expect(row).toMatchObject({ attempts: 3, delivered_at: null, last_error: "HTTP 503: receiver says 503" });
    // A given-up row is never claimed again: exactly the three attempts reached the receiver.
    expect(receiver.about(message.id)).toHaveLength(3);
  });

  it("a receiver that cannot be reached is retried like one that fails", async () => {
    const receiver = new Receiver();
    await receiver.start();
    const unreachable = receiver.url;
    await receiver.stop();
    const { app, rowsAbout } = await setup({
      WEBHOOK_URL: unreachable,
      WEBHOOK_DELAY_MS: "0",
      WEBHOOK_MAX_ATTEMPTS: "2",
      WEBHOOK_RETRY_BASE_MS: "50",
    });
    const c = await makeConversation(app);
    const message = await send(app, c.buyerToken, c.conversationId, "into the void");
    await expect.poll(async () => (await rowsAbout(message.id))[0]?.failed_at ?? null, { timeout: 15_000 }).toBeInstanceOf(Date);
    expect((await rowsAbout(message.id))[0]!.last_error).toMatch(/ECONNREFUSED/);
  });

  it("backoff doubles from the base up to the cap, plus at most 10%", () => {
    const exact = (n: number) => retryDelayMs(n, 1000, 60_000, () => 0);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(exact)).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]);
    expect(retryDelayMs(3, 1000, 60_000, () => 0.999)).toBe(4400);
    expect(retryDelayMs(1000, 1000, 60_000, () => 0)).toBe(60_000);
  });
});

describe("several nodes", () => {
  it("two workers on one outbox deliver each row once", async () => {
    const { receiver, db, outboxRows: outboxRow } = await setup({ WEBHOOK_POLL_INTERVAL_MS: "20", WEBHOOK_BATCH_SIZE: "5" }, 2);
    // Slow answers keep both workers busy at the same time.
    receiver.respond = async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return 200;
    };
    const tag = randomUUID();
    const n = 60;
    for (let i = 0; i < n; i++) await insertWebhook(db, { type: "report.created", data: { tag, n: i } });
    const ours = () => receiver.received.filter((r) => r.body.data.tag === tag);
    await expect.poll(() => new Set(ours().map((r) => r.body.id)).size, { timeout: 20_000 }).toBe(n);
    await expect
      .poll(async () => (await outboxRow("payload->>'tag' = $1 AND delivered_at IS NULL", [tag])).length, { timeout: 10_000 })
      .toBe(0);
    expect(ours()).toHaveLength(n);
    expect(ours().map((r) => r.body.data.n).sort((x, y) => Number(x) - Number(y))).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(ours().every((r) => r.signatureOk && r.body.type === "report.created")).toBe(true);
    const rows = await outboxRow("payload->>'tag' = $1", [tag]);
    expect(rows.every((r) => r.attempts === 1)).toBe(true);
  });

  it("a socket on another node counts as online (presence is cluster-wide)", async () => {
    // Only node 0 sends; the seller is connected to node 1.
    const { receiver, app, nodeUrls, rowsAbout } = await setup({}, 2, { perNode: [{}, { WEBHOOK_POLL_INTERVAL_MS: "60000" }] });
    const c = await makeConversation(app);
    await send(app, c.buyerToken, c.conversationId, "first, while the seller is away");
    const seller = await connectSocket(nodeUrls[1]!, c.sellerToken);
    try {
      const message = await send(app, c.buyerToken, c.conversationId, "seller is on node 1");
      await expect.poll(async () => (await rowsAbout(message.id)).length, { timeout: 10_000 }).toBe(0);
      expect(receiver.about(message.id)).toEqual([]);
    } finally {
      seller.close();
    }
  });

  it("delivered rows are deleted after WEBHOOK_RETENTION_MS; given-up rows are kept", async () => {
    const { outboxRows } = await setup({ WEBHOOK_RETENTION_MS: "3600000" }, 1, {
      beforeStart: (db) =>
        db.query(
          `INSERT INTO webhook_deliveries (type, payload, attempts, delivered_at, failed_at, due_at) VALUES
             ('report.created', '{"keep":"recent"}', 1, now() - interval '10 minutes', NULL, now() - interval '10 minutes'),
             ('report.created', '{"keep":"old"}', 1, now() - interval '2 hours', NULL, now() - interval '2 hours'),
             ('report.created', '{"keep":"failed"}', 10, NULL, now() - interval '30 days', now() - interval '30 days')`,
        ),
    });
    await expect.poll(async () => (await outboxRows("payload->>'keep' = 'old'", [])).length, { timeout: 10_000 }).toBe(0);
    expect((await outboxRows("payload->>'keep' IS NOT NULL ORDER BY payload->>'keep'", [])).map((r) => r.attempts)).toEqual([10, 1]);
  });

  it("moderation rows (written by others through insertWebhook) go out as they were stored", async () => {
    const { receiver, db } = await setup();
    const data = { userId: "banned-user", reason: "spam", bannedAt: new Date().toISOString() };
    await insertWebhook(db, { type: "user.banned", data });
    await expect.poll(() => receiver.received.filter((r) => r.body.type === "user.banned").length, { timeout: 10_000 }).toBe(1);
    const [hook] = receiver.received.filter((r) => r.body.type === "user.banned");
    expect(hook!.body).toEqual({ id: hook!.headers["x-chat-delivery"], type: "user.banned", createdAt: expect.any(String), data });
    expect(hook!.signatureOk).toBe(true);
  });
});

describe("the send path", () => {
  it("writes no outbox row without WEBHOOK_URL", async () => {
    const { app, rowsAbout } = await setup({ WEBHOOK_URL: undefined, WEBHOOK_SECRET: undefined });
    const c = await makeConversation(app);
    const message = await send(app, c.buyerToken, c.conversationId, "no webhooks here");
    expect(await rowsAbout(message.id)).toEqual([]);
  });

  it("with webhooks on, a message still costs 1 statement: the outbox row is part of the batch's write", async () => {
    // The worker polls through the same pool: keep it out of the count.
    const { app, rowsAbout } = await setup({ WEBHOOK_POLL_INTERVAL_MS: "60000" });
    const c = await makeConversation(app);
    await send(app, c.buyerToken, c.conversationId, "warm-up");
    // Count from and to a pool with nothing checked out.
    const idle = () => expect.poll(() => app.chat.db.pool.totalCount - app.chat.db.pool.idleCount).toBe(0);
    await idle();
    const before = app.chat.db.statementCount();
    const message = await send(app, c.buyerToken, c.conversationId, "counted");
    await idle();
    expect(app.chat.db.statementCount() - before).toBe(1);
    expect(await rowsAbout(message.id)).toHaveLength(1);
  });

  it("a resent clientId writes no second outbox row", async () => {
    const { app, rowsAbout } = await setup({ WEBHOOK_POLL_INTERVAL_MS: "60000" });
    const c = await makeConversation(app);
    const body = { clientId: randomUUID(), content: "once" };
    const post = () => app.inject({ method: "POST", url: `/api/conversations/${c.conversationId}/messages`, headers: auth(c.buyerToken), payload: body });
    const first = await post();
    expect(first.statusCode).toBe(201);
    expect((await post()).statusCode).toBe(200);
    expect(await rowsAbout(first.json().id)).toHaveLength(1);
  });
});

describe("signatures", () => {
  const body = JSON.stringify({ id: "x", type: "message.unread" });

  it("verify what they sign, at the time they sign it", () => {
    const header = signWebhook(SECRET, body, 1_700_000_000);
    expect(verifyWebhookSignature(SECRET, header, body, { nowSeconds: 1_700_000_010 })).toBe(true);
  });

  it.each([
    ["another body", SECRET, `${body} `, 1_700_000_000],
    ["another secret", "not-the-secret", body, 1_700_000_000],
    ["an old timestamp", SECRET, body, 1_699_999_000],
  ])("refuse %s", (_what, secret, signedBody, t) => {
    const header = signWebhook(secret, signedBody, t);
    expect(verifyWebhookSignature(SECRET, header, body, { nowSeconds: 1_700_000_010 })).toBe(false);
  });

  it("refuse malformed headers", () => {
    for (const header of [undefined, "", "t=abc,v1=00", "v1=deadbeef", "t=1700000000", "t=1700000000,v1=zz"]) {
      expect(verifyWebhookSignature(SECRET, header, body, { nowSeconds: 1_700_000_000 })).toBe(false);
    }
  });
});
