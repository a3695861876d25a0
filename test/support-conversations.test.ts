// Support conversations (API.md additions, "Support conversations"; README, same heading) on two
// real nodes sharing PostgreSQL and Redis: a user opens theirs (one per user), an admin opens
// anyone's, every admin reads and writes in every support conversation as the team (HTTP and
// socket: join, send, read, typing, uploads, history), the admin inbox with the team's unread
// counts, webhooks for the user only, and everyone else gets not_found.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSocket, emitAck, nextEvent, record, type ClientSocket } from "./support/app.js";
import type { NodeProcess } from "./support/cluster.js";
import { useTwoNodes } from "./support/two-nodes.js";
import { adminToken, serviceToken, token } from "./support/tokens.js";
import type { ConversationView, MessageView } from "../src/contract/shapes.js";

const cluster = useTwoNodes({ SUPPORT_NAME: "Help desk", WEBHOOK_URL: "http://127.0.0.1:9/never", WEBHOOK_SECRET: "whsec-support-0123456789", WEBHOOK_DELAY_MS: "3600000" });
const http = cluster.http;
let a: NodeProcess;
let b: NodeProcess;
beforeAll(() => {
  ({ a, b } = cluster);
});

const TEAM = { id: "support", name: "Help desk" };

const adminSockets: ClientSocket[] = [];
afterAll(() => adminSockets.forEach((s) => s.close()));
/** A socket with an admin token (cluster.socket signs user tokens), optionally joined to a conversation. */
async function adminSocket(node: NodeProcess, id: string, joinConversation?: string): Promise<ClientSocket> {
  const s = await connectSocket(node.url, adminToken(id));
  adminSockets.push(s);
  if (joinConversation) expect(await emitAck(s, "conversation:join", { conversationId: joinConversation })).toMatchObject({ ok: true });
  return s;
}
const open = (node: NodeProcess, jwt: string, body?: unknown) => http(node, "POST", "/api/support/conversations", jwt, body);
const send = (node: NodeProcess, jwt: string, id: string, content: string) =>
  http(node, "POST", `/api/conversations/${id}/messages`, jwt, { clientId: randomUUID(), content });
const inbox = (node: NodeProcess, query = "") => http(node, "GET", `/api/admin/support${query}`, adminToken());

/** A user known to the service (pushed by the marketplace), with their token. */
async function user(tag: string) {
  const id = `u-${tag}-${randomUUID().slice(0, 8)}`;
  expect((await http(a, "PUT", `/api/internal/users/${id}`, serviceToken(), { name: `User ${tag}` })).status).toBe(201);
  return { id, jwt: token(id) };
}

describe("opening", () => {
  it("a user opens their own: 201 once, then 200 with the same conversation; kind support, no listing, the team as seller", async () => {
    const u = await user("own");
    const first = await open(a, u.jwt);
    expect(first.status).toBe(201);
    const c = first.body as ConversationView;
    expect(c).toMatchObject({
      kind: "support",
      listing: null,
      buyer: { id: u.id, name: "User own" },
      seller: { id: TEAM.id, name: TEAM.name },
      lastMessage: null,
      lastSeq: 0,
      unreadCount: 0,
      reads: [
        { userId: u.id, lastReadSeq: 0, lastReadAt: null },
        { userId: TEAM.id, lastReadSeq: 0, lastReadAt: null },
      ],
    });
    // Again, on the other node, without a body and with the user's own id: the same one.
    for (const again of [await open(b, u.jwt), await open(b, u.jwt, { userId: u.id })]) {
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(c.id);
    }
    // It is in the user's list like any other conversation.
    const list = await http(b, "GET", "/api/conversations", u.jwt);
    expect(list.body.items.map((x: ConversationView) => [x.id, x.kind, x.listing])).toEqual([[c.id, "support", null]]);
  });

  it("opened concurrently on both nodes: one conversation, one 201", async () => {
    const u = await user("race");
    const results = await Promise.all([open(a, u.jwt), open(b, u.jwt), open(a, u.jwt), open(b, u.jwt)]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 201]);
  });

  it("an admin opens one for a user (201, or 200 with the user's existing one) and sees it as the team", async () => {
    const u = await user("byadmin");
    const made = await open(a, adminToken("admin-open"), { userId: u.id });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ kind: "support", buyer: { id: u.id }, seller: TEAM, unreadCount: 0 });
    const mine = await open(b, u.jwt);
    expect(mine.status).toBe(200);
    expect(mine.body.id).toBe(made.body.id);
    expect((await open(b, adminToken("admin-other"), { userId: u.id })).body.id).toBe(made.body.id);
  });

  it("refuses: another user's id from a user (forbidden), an unknown user (not_found), the team itself and bad bodies (validation_failed)", async () => {
    const u = await user("refuse");
    const other = await user("victim");
    const forbiddenRes = await open(a, u.jwt, { userId: other.id });
    expect(forbiddenRes).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } });
    // Nothing was opened for the other user by the attempt.
    expect((await http(a, "GET", "/api/conversations", other.jwt)).body.items).toEqual([]);
    expect(await open(a, adminToken(), { userId: `nobody-${randomUUID()}` })).toMatchObject({ status: 404, body: { error: { code: "not_found" } } });
    for (const body of [{ userId: "support" }, { userId: 42 }, { userId: "" }, { userId: "a b" }, [1, 2]]) {
      expect(await open(b, adminToken(), body)).toMatchObject({ status: 400, body: { error: { code: "validation_failed" } } });
    }
    expect((await http(a, "POST", "/api/support/conversations", serviceToken(), {})).status).toBe(403);
    // "support" is reserved: no token and no marketplace push may use it.
    expect((await http(a, "GET", "/api/conversations", token("support"))).status).toBe(401);
    expect((await http(a, "PUT", "/api/internal/users/support", serviceToken(), { name: "Mallory" })).status).toBe(400);
    expect((await http(a, "PUT", "/api/internal/listings/l-sup", serviceToken(), { sellerId: "support", title: "x" })).status).toBe(400);
  });
});

describe("the team", () => {
  it("every admin reads and writes as the team, across nodes: messages carry the admin's own id, events reach the user and every admin", async () => {
    const u = await user("team");
    const c = (await open(a, u.jwt)).body as ConversationView;
    const admin1 = "admin-t1";
    const admin2 = "admin-t2";
    // The user on node b; admin 1 joined on node a; admin 2 not joined, on node b.
    const userSocket = await cluster.socket(b, u.id, c.id);
    const admin1Socket = await adminSocket(a, admin1);
    const join = await emitAck<{ ok: true; data: ConversationView }>(admin1Socket, "conversation:join", { conversationId: c.id });
    expect(join).toMatchObject({ ok: true, data: { id: c.id, kind: "support", seller: TEAM } });
    const admin2Socket = await adminSocket(b, admin2);
    const userNew = record<MessageView>(userSocket, "message:new");
    const admin1New = record<MessageView>(admin1Socket, "message:new");
    const admin2New = record<MessageView>(admin2Socket, "message:new");
    const admin2Notified = nextEvent<{ conversationId: string; message: MessageView }>(admin2Socket, "notification");
    const admin2Opened = nextEvent<ConversationView>(admin2Socket, "conversation:new");

    // The user writes first (HTTP on node b): the team gets the conversation and the message.
    const hello = await send(b, u.jwt, c.id, "I was charged twice, my number is 0612345678");
    expect(hello.status).toBe(201);
    // No listing: the contact-detail policy does not apply (nothing masked, no flag).
    expect(hello.body).toMatchObject({ senderId: u.id, content: "I was charged twice, my number is 0612345678", flags: [], reactions: [] });
    expect((await admin2Opened).id).toBe(c.id);
    expect((await admin2Notified).message.id).toBe(hello.body.id);

    // Admin 1 answers over the socket on node a: their own id as sender.
    const reply = await emitAck<{ ok: true; data: MessageView }>(admin1Socket, "message:send", {
      conversationId: c.id,
      clientId: randomUUID(),
      content: "Sorry about that, refunding now",
    });
    expect(reply).toMatchObject({ ok: true, data: { seq: 2, senderId: admin1 } });
    // Admin 2 answers over HTTP on node b.
    const more = await send(b, adminToken(admin2), c.id, "Refund done");
    expect(more).toMatchObject({ status: 201, body: { seq: 3, senderId: admin2 } });

    for (const got of [userNew, admin1New, admin2New]) {
      await expect.poll(() => got.map((m) => [m.seq, m.senderId])).toEqual([
        [1, u.id],
        [2, admin1],
        [3, admin2],
      ]);
    }
    // The team's pointer moved with the admins' sends; the user has two unread.
    const userView = (await http(a, "GET", `/api/conversations/${c.id}`, u.jwt)).body as ConversationView;
    expect(userView.unreadCount).toBe(2);
    expect(userView.reads).toEqual([
      expect.objectContaining({ userId: u.id, lastReadSeq: 1 }),
      expect.objectContaining({ userId: TEAM.id, lastReadSeq: 3 }),
    ]);

    // The user reads: admins see it. Admin edits their own message; another admin cannot.
    const readSeen = nextEvent<{ userId: string; seq: number }>(admin2Socket, "message:read", (p) => p.userId === u.id);
    expect(await emitAck(userSocket, "messages:read", { conversationId: c.id })).toEqual({ ok: true, data: {} });
    expect(await readSeen).toMatchObject({ userId: u.id, seq: 3 });
    const edited = await http(a, "PATCH", `/api/messages/${reply.data.id}`, adminToken(admin1), { content: "Sorry, refunding" });
    expect(edited).toMatchObject({ status: 200, body: { content: "Sorry, refunding", senderId: admin1 } });
    expect(await http(b, "PATCH", `/api/messages/${reply.data.id}`, adminToken(admin2), { content: "x" })).toMatchObject({
      status: 403,
      body: { error: { code: "forbidden" } },
    });

    // History is the same for the user and any admin.
    const history = (await http(b, "GET", `/api/conversations/${c.id}/messages`, adminToken("admin-t3"))).body;
    expect(history.items.map((m: MessageView) => m.senderId)).toEqual([u.id, admin1, admin2]);
    expect((await http(a, "GET", `/api/conversations/${c.id}/messages`, u.jwt)).body.items.map((m: MessageView) => m.id)).toEqual(
      history.items.map((m: MessageView) => m.id),
    );
  });

  it("the team's read pointer: any admin moves it (message:read names the team), the inbox shows the team's unread count", async () => {
    const u = await user("inbox");
    const c = (await open(b, u.jwt)).body as ConversationView;
    for (const text of ["one", "two", "three"]) expect((await send(a, u.jwt, c.id, text)).status).toBe(201);
    const item = (await inbox(a)).body.items.find((x: ConversationView) => x.id === c.id);
    expect(item).toMatchObject({ kind: "support", buyer: { id: u.id }, seller: TEAM, unreadCount: 3, lastSeq: 3 });
    // An admin's socket on node a reads up to seq 2 over message:read; the user sees the team's pointer.
    const userSocket = await cluster.socket(b, u.id);
    const seen = nextEvent<{ conversationId: string; userId: string; seq: number }>(userSocket, "message:read");
    const reader = await adminSocket(a, "admin-reader");
    const history = (await http(a, "GET", `/api/conversations/${c.id}/messages`, adminToken("admin-reader"))).body.items as MessageView[];
    expect(await emitAck(reader, "message:read", { messageId: history[1]!.id })).toEqual({ ok: true, data: {} });
    expect(await seen).toMatchObject({ conversationId: c.id, userId: TEAM.id, seq: 2 });
    // Another admin sees the same team count: 1.
    const after = (await inbox(b)).body.items.find((x: ConversationView) => x.id === c.id);
    expect(after.unreadCount).toBe(1);
    expect((await http(b, "GET", `/api/conversations/${c.id}`, adminToken("admin-someone"))).body.unreadCount).toBe(1);
    // HTTP read by a third admin: everything.
    expect((await http(b, "POST", `/api/conversations/${c.id}/read`, adminToken("admin-3"), {})).status).toBe(204);
    expect((await inbox(a)).body.items.find((x: ConversationView) => x.id === c.id).unreadCount).toBe(0);
    // The user's own unread count is untouched by the team's reads.
    expect((await http(a, "GET", "/api/unread", u.jwt)).body.total).toBe(0);
  });

  it("the inbox: latest activity first, paged by cursor, empty conversations left out, admins only", async () => {
    const users = [await user("p1"), await user("p2"), await user("p3")];
    const ids: string[] = [];
    for (const u of users) {
      const c = (await open(a, u.jwt)).body as ConversationView;
      ids.push(c.id);
      expect((await send(b, u.jwt, c.id, "help")).status).toBe(201);
    }
    const silent = await user("silent");
    const empty = (await open(a, silent.jwt)).body.id as string;
    // The first one gets new activity: it moves to the top.
    expect((await send(a, users[0]!.jwt, ids[0]!, "still there?")).status).toBe(201);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { status: number; body: { items: ConversationView[]; nextCursor: string | null } } = await inbox(
        b,
        `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      );
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((x) => x.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).not.toContain(empty);
    const mine = seen.filter((id) => ids.includes(id));
    expect(mine).toEqual([ids[0], ids[2], ids[1]]);
    expect(await http(a, "GET", "/api/admin/support", users[0]!.jwt)).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } });
    expect(await inbox(a, "?cursor=garbage")).toMatchObject({ status: 400, body: { error: { code: "validation_failed" } } });
    expect(await inbox(a, "?limit=0")).toMatchObject({ status: 400, body: { error: { code: "validation_failed" } } });
    // An admin's own conversation list is theirs only: support conversations live in the inbox.
    const own = (await http(a, "GET", "/api/conversations", adminToken())).body.items as ConversationView[];
    expect(own.filter((x) => ids.includes(x.id))).toEqual([]);
  });

  it("typing reaches the user and the other admins; uploads sent by an admin are the user's to fetch, and every admin's", async () => {
    const u = await user("typing");
    const c = (await open(a, u.jwt)).body as ConversationView;
    const userSocket = await cluster.socket(b, u.id, c.id);
    const adminA = await adminSocket(a, "admin-ty1", c.id);
    const adminB = await adminSocket(b, "admin-ty2", c.id);
    const toUser = nextEvent<{ userId: string }>(userSocket, "typing:start");
    const toOtherAdmin = nextEvent<{ userId: string }>(adminB, "typing:start");
    adminA.emit("typing:start", { conversationId: c.id });
    expect(await toUser).toEqual({ conversationId: c.id, userId: "admin-ty1" });
    expect(await toOtherAdmin).toEqual({ conversationId: c.id, userId: "admin-ty1" });
    const toAdmins = nextEvent<{ userId: string }>(adminA, "typing:start", (p) => p.userId === u.id);
    userSocket.emit("typing:start", { conversationId: c.id });
    expect(await toAdmins).toEqual({ conversationId: c.id, userId: u.id });

    // An admin uploads a PDF (node b) and sends it; the user and another admin fetch it with their
    // bearer token (the signature stripped from the URL).
    const form = new FormData();
    form.append("file", new Blob([Buffer.from("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")], { type: "application/pdf" }), "invoice.pdf");
    const uploaded = await fetch(`${b.url}/api/uploads`, { method: "POST", headers: { authorization: `Bearer ${adminToken("admin-ty2")}` }, body: form });
    expect(uploaded.status).toBe(201);
    const attachment = ((await uploaded.json()) as { attachments: { id: string }[] }).attachments[0]!;
    const sent = await http(a, "POST", `/api/conversations/${c.id}/messages`, adminToken("admin-ty2"), {
      clientId: randomUUID(),
      attachmentIds: [attachment.id],
    });
    expect(sent).toMatchObject({ status: 201, body: { type: "file", senderId: "admin-ty2" } });
    for (const jwt of [u.jwt, adminToken("admin-ty1")]) {
      const res = await fetch(`${a.url}/api/attachments/${attachment.id}`, { headers: { authorization: `Bearer ${jwt}` } });
      expect(res.status).toBe(200);
    }
    const stranger = await user("peek");
    expect((await fetch(`${a.url}/api/attachments/${attachment.id}`, { headers: { authorization: `Bearer ${stranger.jwt}` } })).status).toBe(404);
  });
});

describe("canned answers", () => {
  it("an admin may send the same text into more support conversations than SPAM_DUPLICATE_LIMIT (default 5) allows users", async () => {
    const text = "Thanks for reaching out, we are looking into it right now.";
    for (let i = 0; i < 7; i++) {
      const u = await user(`canned${i}`);
      const c = (await open(a, u.jwt)).body as ConversationView;
      expect((await send(i % 2 ? a : b, adminToken("admin-canned"), c.id, text)).status).toBe(201);
    }
  });
});

describe("strangers", () => {
  it("another user gets not_found everywhere: get, history, send, read, join, typing, search, unsend", async () => {
    const u = await user("private");
    const c = (await open(a, u.jwt)).body as ConversationView;
    const msg = (await send(a, u.jwt, c.id, "my private problem")).body as MessageView;
    const s = await user("stranger");
    const notFound = { error: { code: "not_found" } };
    expect(await http(b, "GET", `/api/conversations/${c.id}`, s.jwt)).toMatchObject({ status: 404, body: notFound });
    expect(await http(b, "GET", `/api/conversations/${c.id}/messages`, s.jwt)).toMatchObject({ status: 404, body: notFound });
    expect(await send(b, s.jwt, c.id, "let me in")).toMatchObject({ status: 404, body: notFound });
    expect(await http(b, "POST", `/api/conversations/${c.id}/read`, s.jwt, {})).toMatchObject({ status: 404, body: notFound });
    expect(await http(b, "GET", `/api/search?q=private&conversationId=${c.id}`, s.jwt)).toMatchObject({ status: 404, body: notFound });
    expect(await http(b, "PATCH", `/api/messages/${msg.id}`, s.jwt, { content: "x" })).toMatchObject({ status: 404, body: notFound });
    expect(await http(b, "DELETE", `/api/messages/${msg.id}`, s.jwt)).toMatchObject({ status: 404, body: notFound });
    const socket = await cluster.socket(a, s.id);
    expect(await emitAck(socket, "conversation:join", { conversationId: c.id })).toMatchObject({ ok: false, error: { code: "not_found" } });
    expect(await emitAck(socket, "typing:start", { conversationId: c.id })).toMatchObject({ ok: false, error: { code: "not_found" } });
    expect(await emitAck(socket, "message:read", { messageId: msg.id })).toMatchObject({ ok: false, error: { code: "not_found" } });
    // Their own support conversation is a different one.
    expect((await open(a, s.jwt)).body.id).not.toBe(c.id);
    // Search by an admin finds it by naming the conversation.
    const found = await http(a, "GET", `/api/search?q=private&conversationId=${c.id}`, adminToken());
    expect(found.body.items.map((r: { message: MessageView }) => r.message.id)).toEqual([msg.id]);
  });
});

describe("webhooks", () => {
  it("message.unread is written for the user when an admin writes, never for the team", async () => {
    const u = await user("hook");
    const c = (await open(a, u.jwt)).body as ConversationView;
    const fromUser = (await send(a, u.jwt, c.id, "hello team")).body as MessageView;
    const fromAdmin = (await send(b, adminToken("admin-hook"), c.id, "hello user")).body as MessageView;
    const db = new pg.Client({ connectionString: cluster.env.databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query<{ user_id: string; message_id: string }>(
        `SELECT payload->>'userId' AS user_id, payload->>'messageId' AS message_id FROM webhook_deliveries
         WHERE type = 'message.unread' AND payload->>'conversationId' = $1`,
        [c.id],
      );
      expect(rows).toEqual([{ user_id: u.id, message_id: fromAdmin.id }]);
      expect(rows.some((r) => r.message_id === fromUser.id)).toBe(false);
    } finally {
      await db.end();
    }
  });
});
