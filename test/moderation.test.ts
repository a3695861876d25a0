// Blocks, reports, the admin queue, bans (one node and across two real nodes) and the webhook
// outbox rows that reports and bans write.
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
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
  testConfig,
  type ClientSocket,
  type TestEnv,
} from "./support/app.js";
import { startNode, type NodeProcess } from "./support/cluster.js";
import { uniqueName } from "./support/env.js";
import { adminToken, serviceToken, token } from "./support/tokens.js";
import { buildApp } from "../src/app.js";
import { ERRORS } from "../src/errors/errors.js";
import { insertWebhook } from "../src/db/webhook-outbox.js";

let env: TestEnv;
let app: FastifyInstance;
let url: string;
const sockets: ClientSocket[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  // Webhooks on: reports and bans write outbox rows. Nothing listens on port 9; only rows are checked.
  ({ app, url } = await startApp(env, { WEBHOOK_URL: "http://127.0.0.1:9/hooks", WEBHOOK_SECRET: "webhook-secret" }));
});
afterAll(async () => {
  sockets.forEach((s) => s.close());
  await app?.close();
  await env?.close();
});

async function socketFor(jwt: string, at = url) {
  const s = await connectSocket(at, jwt);
  sockets.push(s);
  return s;
}

/** JSON bodies of any type (objects, strings, null), as a client library would send them. */
function call(method: "GET" | "POST" | "DELETE", path: string, jwt: string | null, payload?: unknown) {
  return app.inject({
    method,
    url: path,
    headers: {
      ...(jwt ? auth(jwt) : {}),
      ...(payload !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
  });
}

const sql = async <T = Record<string, unknown>>(text: string, params: unknown[] = []) =>
  (await app.chat.db.pool.query(text, params)).rows as T[];
const count = async (text: string, params: unknown[] = []) => Number((await sql<{ n: string }>(text, params))[0]!.n);

const send = (jwt: string, conversationId: string, content: string) =>
  call("POST", `/api/conversations/${conversationId}/messages`, jwt, { clientId: randomUUID(), content });

function disconnected(socket: ClientSocket): Promise<string> {
  return new Promise((resolve) => socket.once("disconnect", (reason) => resolve(reason)));
}

describe("blocks", () => {
  it("blocks (201, then 200), lists newest first, unblocks idempotently (204)", async () => {
    const me = uniqueName("blocker");
    await pushUser(app, "blk-bob", "Bob");
    await pushUser(app, "blk-cat", "Cat");
    const first = await call("POST", "/api/blocks", token(me), { userId: "blk-bob" });
    expect(first.statusCode).toBe(201);
    expect(first.json()).toEqual({ user: { id: "blk-bob", name: "Bob", avatarUrl: null, responseTimeSeconds: null }, createdAt: expect.any(String) });
    const again = await call("POST", "/api/blocks", token(me), { userId: "blk-bob" });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    expect((await call("POST", "/api/blocks", token(me), { userId: "blk-cat" })).statusCode).toBe(201);

    const list = await call("GET", "/api/blocks", token(me));
    expect(list.statusCode).toBe(200);
    expect(list.json().items.map((b: { user: { id: string } }) => b.user.id)).toEqual(["blk-cat", "blk-bob"]);
    expect(list.json().items[1]).toEqual(first.json());
    expect(list.json().nextCursor).toBeNull();

    for (let i = 0; i < 2; i++) expect((await call("DELETE", "/api/blocks/blk-bob", token(me))).statusCode).toBe(204);
    expect((await call("DELETE", "/api/blocks/never-blocked", token(me))).statusCode).toBe(204);
    expect((await call("GET", "/api/blocks", token(me))).json().items.map((b: { user: { id: string } }) => b.user.id)).toEqual(["blk-cat"]);
    // Someone else's list is their own.
    expect((await call("GET", "/api/blocks", token("blk-bob"))).json().items).toEqual([]);
    // The longest user id there is (128 characters) works in the path too.
    const longest = "z".repeat(128);
    await pushUser(app, longest);
    expect((await call("POST", "/api/blocks", token(me), { userId: longest })).statusCode).toBe(201);
    expect((await call("DELETE", `/api/blocks/${longest}`, token(me))).statusCode).toBe(204);
    expect(await count(`SELECT count(*) AS n FROM blocks WHERE blocker_id = $1`, [me])).toBe(1);
  });

  it("pages the list with limit and an opaque cursor", async () => {
    const me = uniqueName("pager");
    for (const id of ["pg-1", "pg-2", "pg-3"]) {
      await pushUser(app, id);
      await call("POST", "/api/blocks", token(me), { userId: id });
    }
    const page1 = (await call("GET", "/api/blocks?limit=2", token(me))).json();
    expect(page1.items.map((b: { user: { id: string } }) => b.user.id)).toEqual(["pg-3", "pg-2"]);
    const page2 = (await call("GET", `/api/blocks?limit=2&cursor=${page1.nextCursor}`, token(me))).json();
    expect(page2.items.map((b: { user: { id: string } }) => b.user.id)).toEqual(["pg-1"]);
    expect(page2.nextCursor).toBeNull();
    for (const bad of ["limit=0", "limit=101", "limit=x", "cursor=garbage", `cursor=${"a".repeat(500)}`]) {
      const res = await call("GET", `/api/blocks?${bad}`, token(me));
      expect(res.json().error?.code, bad).toBe("validation_failed");
    }
  });

  it("a user the chat has never seen cannot be blocked: not_found, and no user row is made for the id", async () => {
    const me = uniqueName("blk-ghost");
    const ghost = uniqueName("ghost");
    const res = await call("POST", "/api/blocks", token(me), { userId: ghost });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe("not_found");
    expect(await count(`SELECT count(*) AS n FROM users WHERE id = $1`, [ghost])).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM blocks WHERE blocker_id = $1`, [me])).toBe(0);
    // Once the chat knows them (pushed, or seen with a token), they can be blocked.
    await pushUser(app, ghost);
    expect((await call("POST", "/api/blocks", token(me), { userId: ghost })).statusCode).toBe(201);
  });

  it("refuses bad input with the contract's errors and writes nothing", async () => {
    const me = uniqueName("badblk");
    const bad: unknown[] = [{}, { userId: 42 }, { userId: "" }, { userId: "a b" }, { userId: "x".repeat(129) }, { userId: null }, { userId: me }, ["x"], "x"];
    for (const body of bad) {
      const res = await call("POST", "/api/blocks", token(me), body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error.code).toBe("validation_failed");
    }
    expect((await call("POST", "/api/blocks", serviceToken(), { userId: "someone" })).json().error.code).toBe("forbidden");
    expect((await call("POST", "/api/blocks", null, { userId: "someone" })).json().error.code).toBe("unauthorized");
    expect((await call("GET", "/api/blocks", serviceToken())).json().error.code).toBe("forbidden");
    expect((await call("DELETE", "/api/blocks/a%20b", token(me))).json().error.code).toBe("not_found");
    expect(await count(`SELECT count(*) AS n FROM blocks WHERE blocker_id = $1 OR blocked_id = 'someone'`, [me])).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM users WHERE id IN ('a b', 'someone', $1)`, ["x".repeat(129)])).toBe(0);
  });

  it("a blocked pair cannot open a conversation, whichever of them blocked", async () => {
    const buyer = uniqueName("b");
    const seller = uniqueName("s");
    await pushUser(app, buyer);
    await pushUser(app, seller);
    await pushListing(app, `l-${seller}`, seller);
    const open = () => call("POST", "/api/conversations", token(buyer), { listingId: `l-${seller}` });
    await call("POST", "/api/blocks", token(buyer), { userId: seller });
    expect((await open()).json().error.code).toBe("blocked");
    await call("DELETE", `/api/blocks/${seller}`, token(buyer));
    await call("POST", "/api/blocks", token(seller), { userId: buyer });
    const refused = await open();
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe("blocked");
    expect(await count(`SELECT count(*) AS n FROM conversations WHERE buyer_id = $1`, [buyer])).toBe(0);
    await call("DELETE", `/api/blocks/${buyer}`, token(seller));
    expect((await open()).statusCode).toBe(201);
  });

  it("a blocked pair cannot send to each other over HTTP or socket, blocker and blocked alike; nothing is stored or delivered", async () => {
    const c = await makeConversation(app);
    expect((await send(c.buyerToken, c.conversationId, "hello")).statusCode).toBe(201);
    const buyer = await socketFor(c.buyerToken);
    const seller = await socketFor(c.sellerToken);
    const buyerGot = record<{ content: string }>(buyer, "message:new");
    const sellerGot = record<{ content: string }>(seller, "message:new");
    expect((await call("POST", "/api/blocks", c.sellerToken, { userId: c.buyer })).statusCode).toBe(201);

    for (const [who, jwt, socket] of [["blocked buyer", c.buyerToken, buyer], ["blocking seller", c.sellerToken, seller]] as const) {
      const http = await send(jwt, c.conversationId, `http from ${who}`);
      expect(http.statusCode, who).toBe(403);
      expect(http.json().error.code, who).toBe("blocked");
      const ack = await emitAck<{ ok: boolean; error?: { code: string } }>(socket, "message:send", {
        conversationId: c.conversationId,
        clientId: randomUUID(),
        content: `socket from ${who}`,
      });
      expect(ack, who).toEqual({ ok: false, error: { code: "blocked", message: expect.any(String) } });
    }

    expect((await call("DELETE", `/api/blocks/${c.buyer}`, c.sellerToken)).statusCode).toBe(204);
    const fence = await send(c.sellerToken, c.conversationId, "fence");
    expect(fence.statusCode).toBe(201);
    await expect.poll(() => buyerGot.length).toBe(1);
    await expect.poll(() => sellerGot.length).toBe(1);
    expect(buyerGot.map((m) => m.content)).toEqual(["fence"]);
    expect(sellerGot.map((m) => m.content)).toEqual(["fence"]);
    const history = (await call("GET", `/api/conversations/${c.conversationId}/messages`, c.buyerToken)).json();
    expect(history.items.map((m: { content: string; seq: number }) => [m.seq, m.content])).toEqual([[1, "hello"], [2, "fence"]]);
  });
});

describe("reports", () => {
  it("reports a message: 201 receipt; the admin queue shows it with the message and the sender as the reported user", async () => {
    const c = await makeConversation(app);
    await send(c.buyerToken, c.conversationId, "hi");
    const m = (await send(c.sellerToken, c.conversationId, "pay by wire transfer please")).json();
    const res = await call("POST", "/api/reports", c.buyerToken, { messageId: m.id, reason: " scam ", note: "asks for a wire transfer 😀" });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ id: expect.any(String), status: "open", reason: "scam", createdAt: expect.any(String) });

    const queue = (await call("GET", "/api/admin/reports?status=open", adminToken())).json();
    const item = queue.items.find((r: { id: string }) => r.id === res.json().id);
    expect(item).toEqual({
      id: res.json().id,
      status: "open",
      reason: "scam",
      note: "asks for a wire transfer 😀",
      reporterId: c.buyer,
      userId: c.seller,
      messageId: m.id,
      conversationId: c.conversationId,
      message: m,
      createdAt: res.json().createdAt,
      resolvedAt: null,
      resolvedById: null,
    });
  });

  it("reports a user or a conversation (the other participant becomes the reported user)", async () => {
    const c = await makeConversation(app);
    await send(c.buyerToken, c.conversationId, "hi");
    const byUser = await call("POST", "/api/reports", c.sellerToken, { userId: c.buyer, reason: "abuse" });
    expect(byUser.statusCode).toBe(201);
    const byConversation = await call("POST", "/api/reports", c.sellerToken, { conversationId: c.conversationId, reason: "spam", note: null });
    expect(byConversation.statusCode).toBe(201);
    const rows = await sql<{ id: string; user_id: string; conversation_id: string | null; message_id: string | null }>(
      `SELECT id, user_id, conversation_id, message_id FROM reports WHERE reporter_id = $1 ORDER BY created_at`,
      [c.seller],
    );
    expect(rows).toEqual([
      { id: byUser.json().id, user_id: c.buyer, conversation_id: null, message_id: null },
      { id: byConversation.json().id, user_id: c.buyer, conversation_id: c.conversationId, message_id: null },
    ]);
  });

  it("what the reporter cannot see is not_found, never forbidden, and nothing is written", async () => {
    const c = await makeConversation(app);
    const m = (await send(c.buyerToken, c.conversationId, "hi")).json();
    const quiet = await makeConversation(app);
    const before = await count(`SELECT count(*) AS n FROM reports`);
    const cases: [string, Record<string, unknown>][] = [
      [token("stranger"), { messageId: m.id, reason: "spam" }],
      [token("stranger"), { conversationId: c.conversationId, reason: "spam" }],
      [c.buyerToken, { messageId: randomUUID(), reason: "spam" }],
      [c.buyerToken, { conversationId: randomUUID(), reason: "spam" }],
      [c.buyerToken, { userId: "nobody-the-chat-knows", reason: "spam" }],
      // The seller does not see a conversation before its first message.
      [quiet.sellerToken, { conversationId: quiet.conversationId, reason: "spam" }],
    ];
    for (const [jwt, body] of cases) {
      const res = await call("POST", "/api/reports", jwt, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(404);
      expect(res.json().error.code).toBe("not_found");
    }
    expect(await count(`SELECT count(*) AS n FROM reports`)).toBe(before);
  });

  it("refuses bad input with validation_failed and writes nothing", async () => {
    const c = await makeConversation(app);
    const m = (await send(c.buyerToken, c.conversationId, "hi")).json();
    const other = await makeConversation(app, uniqueName("o"));
    // The same buyer in another conversation, so both ids are visible to them but do not match.
    const otherOfBuyer = await call("POST", "/api/conversations", c.buyerToken, { listingId: other.listingId });
    const before = await count(`SELECT count(*) AS n FROM reports`);
    const bad: unknown[] = [
      { reason: "spam" },
      { userId: null, messageId: null, conversationId: null, reason: "spam" },
      { messageId: m.id },
      { messageId: m.id, reason: "" },
      { messageId: m.id, reason: "   " },
      { messageId: m.id, reason: "x".repeat(101) },
      { messageId: m.id, reason: "two\nlines" },
      { messageId: m.id, reason: 42 },
      { messageId: m.id, reason: "spam", note: "x".repeat(1001) },
      { messageId: m.id, reason: "spam", note: 7 },
      { messageId: m.id, reason: "spam", note: "nul \u0000 inside" },
      { messageId: "not-a-uuid", reason: "spam" },
      { conversationId: 5, reason: "spam" },
      { userId: ["x"], reason: "spam" },
      { userId: c.buyer, reason: "spam" },
      { messageId: m.id, conversationId: otherOfBuyer.json().id, reason: "spam" },
      null,
      [],
      "spam",
    ];
    for (const body of bad) {
      const res = await call("POST", "/api/reports", c.buyerToken, body);
      expect(res.statusCode, JSON.stringify(body)?.slice(0, 80)).toBe(400);
      expect(res.json().error.code).toBe("validation_failed");
    }
    expect(await count(`SELECT count(*) AS n FROM reports`)).toBe(before);
    // Limits count code points: 100 / 1000 astral characters are fine.
    const edge = await call("POST", "/api/reports", c.buyerToken, { messageId: m.id, reason: "😀".repeat(100), note: "😀".repeat(1000) });
    expect(edge.statusCode).toBe(201);
  });

  it("is for users: service tokens are forbidden, no token is unauthorized", async () => {
    expect((await call("POST", "/api/reports", serviceToken(), { userId: "x", reason: "spam" })).json().error.code).toBe("forbidden");
    expect((await call("POST", "/api/reports", null, { userId: "x", reason: "spam" })).json().error.code).toBe("unauthorized");
  });
});

describe("admin", () => {
  async function reportSomething(tag: string) {
    const c = await makeConversation(app, uniqueName(tag));
    await send(c.buyerToken, c.conversationId, "hi");
    const res = await call("POST", "/api/reports", c.sellerToken, { conversationId: c.conversationId, reason: "spam" });
    expect(res.statusCode).toBe(201);
    return res.json() as { id: string; createdAt: string };
  }

  it("lists the queue newest first in keyset pages, filters by status, resolves idempotently", async () => {
    const r1 = await reportSomething("q1");
    const r2 = await reportSomething("q2");
    const r3 = await reportSomething("q3");
    const page1 = (await call("GET", "/api/admin/reports?limit=2", adminToken())).json();
    expect(page1.items.map((r: { id: string }) => r.id)).toEqual([r3.id, r2.id]);
    expect(page1.nextCursor).toEqual(expect.any(String));
    const page2 = (await call("GET", `/api/admin/reports?limit=2&cursor=${page1.nextCursor}`, adminToken())).json();
    expect(page2.items[0].id).toBe(r1.id);

    const resolved = await call("POST", `/api/admin/reports/${r2.id}/resolve`, adminToken("admin-ann"));
    expect(resolved.statusCode).toBe(200);
    expect(resolved.json()).toMatchObject({ id: r2.id, status: "resolved", resolvedAt: expect.any(String), resolvedById: "admin-ann" });
    const again = await call("POST", `/api/admin/reports/${r2.id}/resolve`, adminToken("admin-bob"));
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(resolved.json());

    const open = (await call("GET", "/api/admin/reports?status=open&limit=100", adminToken())).json();
    expect(open.items.map((r: { id: string }) => r.id)).toEqual(expect.arrayContaining([r1.id, r3.id]));
    expect(open.items.map((r: { id: string }) => r.id)).not.toContain(r2.id);
    expect(open.items.every((r: { status: string }) => r.status === "open")).toBe(true);
    const done = (await call("GET", "/api/admin/reports?status=resolved", adminToken())).json();
    expect(done.items.map((r: { id: string }) => r.id)).toContain(r2.id);

    for (const bad of ["status=closed", "limit=0", "cursor=garbage", `cursor=${Buffer.from('["x","y"]').toString("base64url")}`]) {
      expect((await call("GET", `/api/admin/reports?${bad}`, adminToken())).json().error?.code, bad).toBe("validation_failed");
    }
    for (const id of [randomUUID(), "not-a-uuid"]) {
      const res = await call("POST", `/api/admin/reports/${id}/resolve`, adminToken());
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe("not_found");
    }
  });

  it("admin endpoints refuse other roles: forbidden for users (and service on the queue), unauthorized without a token", async () => {
    const r = await reportSomething("roles");
    const endpoints: ["GET" | "POST", string][] = [
      ["GET", "/api/admin/reports"],
      ["POST", `/api/admin/reports/${r.id}/resolve`],
      ["POST", "/api/admin/users/roles-victim/ban"],
      ["POST", "/api/admin/users/roles-victim/unban"],
    ];
    for (const [method, path] of endpoints) {
      const res = await call(method, path, token("plain-user"));
      expect(res.statusCode, path).toBe(403);
      expect(res.json().error.code).toBe("forbidden");
      expect((await call(method, path, null)).json().error.code, path).toBe("unauthorized");
    }
    for (const [method, path] of endpoints.slice(0, 2)) {
      expect((await call(method, path, serviceToken())).json().error.code, path).toBe("forbidden");
    }
    expect(await count(`SELECT count(*) AS n FROM reports WHERE id = $1 AND status = 'open'`, [r.id])).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM users WHERE id = 'roles-victim'`)).toBe(0);
    // The marketplace's own backend may ban (it owns the users): README, "Moderation".
    expect((await call("POST", "/api/admin/users/service-banned/ban", serviceToken())).statusCode).toBe(204);
    expect((await call("GET", "/api/unread", token("service-banned"))).json().error.code).toBe("forbidden");
  });

  it("a ban: 204; the user's sockets go, HTTP is forbidden, connect fails 'forbidden'; unban lets them back", async () => {
    const victim = uniqueName("victim");
    expect((await call("GET", "/api/unread", token(victim))).statusCode).toBe(200);
    const s1 = await socketFor(token(victim));
    const s2 = await socketFor(token(victim));
    const bystander = await socketFor(token(uniqueName("bystander")));
    const gone = [disconnected(s1), disconnected(s2)];
    const ban = await call("POST", `/api/admin/users/${victim}/ban`, adminToken());
    expect(ban.statusCode).toBe(204);
    expect(ban.body).toBe("");
    expect(await Promise.all(gone)).toEqual(["io server disconnect", "io server disconnect"]);
    const refused = await call("GET", "/api/unread", token(victim));
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe("forbidden");
    await expect(connectSocket(url, token(victim))).rejects.toMatchObject({ message: "forbidden" });
    expect(bystander.connected).toBe(true);
    expect((await call("POST", `/api/admin/users/${victim}/ban`, adminToken())).statusCode).toBe(204);

    expect((await call("POST", `/api/admin/users/${victim}/unban`, adminToken())).statusCode).toBe(204);
    expect((await call("POST", `/api/admin/users/${victim}/unban`, adminToken())).statusCode).toBe(204);
    expect((await call("GET", "/api/unread", token(victim))).statusCode).toBe(200);
    expect((await socketFor(token(victim))).connected).toBe(true);
  });

  it("a banned user cannot send, even on a connection opened before the ban reached it", async () => {
    const c = await makeConversation(app);
    await send(c.buyerToken, c.conversationId, "hi");
    await call("POST", `/api/admin/users/${c.seller}/ban`, adminToken());
    const res = await send(c.sellerToken, c.conversationId, "still here?");
    expect(res.json().error.code).toBe("forbidden");
    expect(await count(`SELECT count(*) AS n FROM messages WHERE conversation_id = $1`, [c.conversationId])).toBe(1);
  });

  it("bans a user the chat has not seen yet; refuses bad ids and self-bans", async () => {
    const future = uniqueName("future");
    expect((await call("POST", `/api/admin/users/${future}/ban`, adminToken())).statusCode).toBe(204);
    expect((await call("GET", "/api/unread", token(future))).json().error.code).toBe("forbidden");
    const self = await call("POST", "/api/admin/users/admin-self/ban", adminToken("admin-self"));
    expect(self.statusCode).toBe(400);
    expect(self.json().error.code).toBe("validation_failed");
    for (const bad of ["a%20b", "x".repeat(129), "x".repeat(600), "%E0%A4%A"]) {
      expect((await call("POST", `/api/admin/users/${bad}/ban`, adminToken())).json().error.code, bad).toBe("not_found");
    }
    // The longest id there is (128 characters) works in a path.
    expect((await call("POST", `/api/admin/users/${"y".repeat(128)}/ban`, adminToken())).statusCode).toBe(204);
    expect(await count(`SELECT count(*) AS n FROM users WHERE id IN ('a b', $1) OR (id = 'admin-self' AND banned_at IS NOT NULL)`, ["x".repeat(129)])).toBe(0);
  });
});

describe("webhook outbox", () => {
  it("report.created and user.banned rows are written with the change; a repeated ban writes no second row", async () => {
    const c = await makeConversation(app);
    const m = (await send(c.buyerToken, c.conversationId, "hi")).json();
    const report = (await call("POST", "/api/reports", c.sellerToken, { messageId: m.id, reason: "spam", note: "n" })).json();
    const rows = await sql<{ type: string; payload: unknown; due: boolean }>(
      `SELECT type, payload, due_at <= now() AS due FROM webhook_deliveries WHERE payload->'report'->>'id' = $1`,
      [report.id],
    );
    expect(rows).toEqual([
      {
        type: "report.created",
        due: true,
        payload: {
          report: {
            id: report.id,
            status: "open",
            reason: "spam",
            note: "n",
            reporterId: c.seller,
            userId: c.buyer,
            messageId: m.id,
            conversationId: c.conversationId,
            createdAt: report.createdAt,
            resolvedAt: null,
            resolvedById: null,
          },
        },
      },
    ]);

    await call("POST", `/api/admin/users/${c.buyer}/ban`, adminToken("admin-hook"));
    await call("POST", `/api/admin/users/${c.buyer}/ban`, adminToken("admin-hook"));
    await call("POST", `/api/admin/users/${c.buyer}/unban`, adminToken("admin-hook"));
    const bans = await sql<{ type: string; payload: Record<string, unknown> }>(
      `SELECT type, payload FROM webhook_deliveries WHERE payload->>'userId' = $1 ORDER BY created_at, type`,
      [c.buyer],
    );
    expect(bans).toEqual([
      { type: "user.banned", payload: { userId: c.buyer, bannedAt: expect.any(String), bannedById: "admin-hook" } },
      { type: "user.unbanned", payload: { userId: c.buyer, unbannedById: "admin-hook" } },
    ]);
  });

  it("without WEBHOOK_URL nothing goes to the outbox", async () => {
    const quiet = await buildApp(testConfig(env));
    try {
      await pushUser(quiet, "quiet-target");
      const res = await quiet.inject({ method: "POST", url: "/api/reports", headers: auth(token("quiet-reporter")), payload: { userId: "quiet-target", reason: "spam" } });
      expect(res.statusCode).toBe(201);
      expect((await quiet.inject({ method: "POST", url: "/api/admin/users/quiet-target/ban", headers: auth(adminToken()) })).statusCode).toBe(204);
      expect(await count(`SELECT count(*) AS n FROM webhook_deliveries WHERE payload->'report'->>'id' = $1 OR payload->>'userId' = 'quiet-target'`, [res.json().id])).toBe(0);
    } finally {
      await quiet.close();
    }
  });

  it("insertWebhook also writes through a pg transaction (the send path's client): rolled back with it, delayed by delayMs", async () => {
    const client = await app.chat.db.pool.connect();
    const marker = randomUUID();
    try {
      await client.query("BEGIN");
      await insertWebhook(client, { type: "message.unread", data: { marker, rolledBack: true } });
      await client.query("ROLLBACK");
      await client.query("BEGIN");
      await insertWebhook(client, { type: "message.unread", data: [marker], delayMs: 30_000 });
      await client.query("COMMIT");
    } finally {
      client.release();
    }
    const rows = await sql<{ payload: unknown; delay_ms: number }>(
      `SELECT payload, round(extract(epoch FROM due_at - created_at) * 1000)::int AS delay_ms
       FROM webhook_deliveries WHERE payload @> $1::jsonb OR payload->>'marker' = $2`,
      [JSON.stringify([marker]), marker],
    );
    expect(rows).toEqual([{ payload: [marker], delay_ms: 30_000 }]);
  });
});

describe("bans across nodes", () => {
  let a: NodeProcess;
  let b: NodeProcess;
  beforeAll(async () => {
    [a, b] = await Promise.all([startNode(env, "mod-a"), startNode(env, "mod-b")]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  const get = (node: NodeProcess, path: string, jwt: string) => fetch(`${node.url}${path}`, { headers: auth(jwt) });

  it("a ban on one node disconnects the user's sockets on every node and ends their cached admission there", async () => {
    const victim = uniqueName("multi");
    // Both nodes have admitted (and cached) the user before the ban.
    expect((await get(a, "/api/unread", token(victim))).status).toBe(200);
    expect((await get(b, "/api/unread", token(victim))).status).toBe(200);
    const onA = await socketFor(token(victim), a.url);
    const onB = await socketFor(token(victim), b.url);
    const other = await socketFor(token(uniqueName("other")), b.url);
    const gone = [disconnected(onA), disconnected(onB)];

    const ban = await fetch(`${a.url}/api/admin/users/${victim}/ban`, { method: "POST", headers: auth(adminToken()) });
    expect(ban.status).toBe(204);
    expect(await Promise.all(gone)).toEqual(["io server disconnect", "io server disconnect"]);
    for (const node of [a, b]) {
      const res = await get(node, "/api/unread", token(victim));
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("forbidden");
      await expect(connectSocket(node.url, token(victim))).rejects.toMatchObject({ message: "forbidden" });
    }
    expect(other.connected).toBe(true);

    // Unbanning on the other node lets the user back in on both.
    expect((await fetch(`${b.url}/api/admin/users/${victim}/unban`, { method: "POST", headers: auth(adminToken()) })).status).toBe(204);
    for (const node of [a, b]) {
      await expect.poll(async () => (await get(node, "/api/unread", token(victim))).status).toBe(200);
    }
  });
});

describe("generated input", () => {
  it("POST bodies and list queries get 2xx or the contract's error, never 500; refusals write nothing", async () => {
    const c = await makeConversation(app);
    const m = (await send(c.buyerToken, c.conversationId, "hi")).json();
    const rows = async () =>
      count(`SELECT (SELECT count(*) FROM blocks) + (SELECT count(*) FROM reports) + (SELECT count(*) FROM broadcasts) AS n`);
    const text = fc.oneof(fc.string(), fc.constant(""), fc.constant("a\u0000b"), fc.constant("y".repeat(4001)), fc.integer(), fc.object(), fc.constant(null));
    const body = fc.oneof(
      fc.anything(),
      fc.constantFrom(null, 0, "", [], {}, "x".repeat(100_000)),
      fc.record(
        {
          userId: fc.oneof(fc.constant(c.seller), fc.string(), fc.integer(), fc.constant(null)),
          messageId: fc.oneof(fc.constant(m.id), fc.uuid(), fc.string(), fc.array(fc.string())),
          conversationId: fc.oneof(fc.constant(c.conversationId), fc.uuid(), fc.string(), fc.integer()),
          reason: text,
          note: text,
          content: text,
        },
        { requiredKeys: [] },
      ),
    );
    const posts = ["/api/blocks", "/api/reports", "/api/admin/broadcast"];
    const lists = ["/api/blocks", "/api/admin/reports", "/api/broadcasts"];
    const codes = Object.keys(ERRORS);
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 5 }), body, fc.dictionary(fc.constantFrom("limit", "cursor", "status", "after"), fc.string()), async (i, payload, query) => {
        const before = await rows();
        const res =
          i < 3
            ? await app.inject({
                method: "POST",
                url: posts[i]!,
                headers: { ...auth(i === 2 ? adminToken() : c.buyerToken), "content-type": "application/json" },
                payload: JSON.stringify(payload ?? null),
              })
            : await app.inject({ method: "GET", url: lists[i - 3]!, query, headers: auth(i === 4 ? adminToken() : c.buyerToken) });
        expect(res.statusCode).toBeLessThan(500);
        if (res.statusCode >= 400) {
          expect(codes).toContain(res.json().error.code);
          expect(await rows()).toBe(before);
        }
      }),
      { numRuns: 100 },
    );
  });
});
