// Off-platform contact details (API.md): the policy (mask, flag, block, off) × listing state,
// the masked view per viewer on every path (ack, message:new to each side's sockets, notification,
// history, conversation lastMessage, search results and highlight, message.unread webhooks,
// edits), numbers split over consecutive messages, and GET /api/admin/flags.
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import {
  auth,
  connectSocket,
  createTestEnv,
  emitAck,
  makeConversation,
  nextEvent,
  pushListing,
  startApp,
  type ClientSocket,
  type TestEnv,
} from "./support/app.js";
import { token } from "./support/tokens.js";
import type { MessageView } from "../src/contract/shapes.js";

const PHONE = "0612345678";
const TEXT = `Call me on ${PHONE} tomorrow`;
const MASKED = "Call me on [contact hidden] tomorrow";
const ADMIN = token("flags-admin", { role: "admin" });
const WEBHOOK_SECRET = "whsec-contact-0123456789abcdef";

let env: TestEnv;
const apps: FastifyInstance[] = [];
const sockets: ClientSocket[] = [];
/** One app per policy, all on the same database (like nodes configured alike would be). */
const byPolicy: Record<string, { app: FastifyInstance; url: string }> = {};
let webhookServer: Server;
const webhooks: { data: { userId: string; message: MessageView; conversation: { lastMessage: MessageView | null } } }[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  webhookServer = createServer((req, res) => {
    let raw = "";
    req.on("data", (c: Buffer) => (raw += c.toString()));
    req.on("end", () => {
      webhooks.push(JSON.parse(raw));
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((resolve) => webhookServer.listen(0, "127.0.0.1", resolve));
  const webhookUrl = `http://127.0.0.1:${(webhookServer.address() as AddressInfo).port}/hook`;
  for (const policy of ["mask", "flag", "block", "off"]) {
    const started = await startApp(env, {
      CONTACT_INFO_POLICY: policy,
      CONTACT_INFO_ALLOWED_DOMAINS: "market.example",
      ...(policy === "mask"
        ? { WEBHOOK_URL: webhookUrl, WEBHOOK_SECRET, WEBHOOK_DELAY_MS: "0", WEBHOOK_POLL_INTERVAL_MS: "50" }
        : {}),
    });
    apps.push(started.app);
    byPolicy[policy] = started;
  }
});

afterAll(async () => {
  sockets.forEach((s) => s.close());
  for (const app of apps) await app.close();
  webhookServer?.closeAllConnections();
  await new Promise((resolve) => webhookServer?.close(resolve));
  await env?.close();
});

async function socket(url: string, jwt: string): Promise<ClientSocket> {
  const s = await connectSocket(url, jwt);
  sockets.push(s);
  return s;
}

function send(app: FastifyInstance, jwt: string, conversationId: string, content: string) {
  return app.inject({
    method: "POST",
    url: `/api/conversations/${conversationId}/messages`,
    headers: auth(jwt),
    payload: { clientId: randomUUID(), content },
  });
}

async function history(app: FastifyInstance, jwt: string, conversationId: string): Promise<MessageView[]> {
  const res = await app.inject({ method: "GET", url: `/api/conversations/${conversationId}/messages`, headers: auth(jwt) });
  expect(res.statusCode).toBe(200);
  return res.json().items;
}

async function flagsFor(app: FastifyInstance, conversationId: string) {
  const res = await app.inject({ method: "GET", url: "/api/admin/flags?limit=100", headers: auth(ADMIN) });
  expect(res.statusCode).toBe(200);
  return (res.json().items as { conversationId: string; action: string; rule: string; kinds: string[]; spans: { start: number; end: number; text: string }[]; message: MessageView | null }[]).filter(
    (f) => f.conversationId === conversationId,
  );
}

describe("mask (the default) on an active listing", () => {
  it("the sender and admins see the text as sent, everyone else masked, on every path; flags everywhere", async () => {
    const { app, url } = byPolicy.mask!;
    const c = await makeConversation(app);
    // An opening message, so the seller sees the conversation and can open sockets on it.
    expect((await send(app, c.buyerToken, c.conversationId, "Hello")).statusCode).toBe(201);
    const sellerJoined = await socket(url, c.sellerToken);
    expect(await emitAck(sellerJoined, "conversation:join", { conversationId: c.conversationId })).toMatchObject({ ok: true });
    const sellerElsewhere = await socket(url, c.sellerToken);
    const buyerOther = await socket(url, c.buyerToken);
    const buyer = await socket(url, c.buyerToken);
    const sellerGot = nextEvent<MessageView>(sellerJoined, "message:new");
    const notified = nextEvent<{ message: MessageView }>(sellerElsewhere, "notification");
    const buyerGot = nextEvent<MessageView>(buyerOther, "message:new");

    const ack = await emitAck<{ ok: boolean; data: MessageView }>(buyer, "message:send", {
      conversationId: c.conversationId,
      clientId: randomUUID(),
      content: TEXT,
    });
    expect(ack.ok).toBe(true);
    expect(ack.data).toMatchObject({ content: TEXT, flags: ["contact_info"] });
    expect(await buyerGot).toMatchObject({ content: TEXT, flags: ["contact_info"] });
    const seen = await sellerGot;
    expect(seen).toMatchObject({ id: ack.data.id, content: MASKED, flags: ["contact_info"] });
    expect(JSON.stringify(seen)).not.toContain(PHONE);
    const notification = await notified;
    expect(notification.message).toMatchObject({ content: MASKED, flags: ["contact_info"] });
    expect(JSON.stringify(notification)).not.toContain(PHONE);

    // History and the conversation's lastMessage, per viewer.
    expect((await history(app, c.buyerToken, c.conversationId)).at(-1)).toMatchObject({ content: TEXT, flags: ["contact_info"] });
    const sellerHistory = await history(app, c.sellerToken, c.conversationId);
    expect(sellerHistory.at(-1)).toMatchObject({ content: MASKED, flags: ["contact_info"] });
    const list = await app.inject({ method: "GET", url: "/api/conversations", headers: auth(c.sellerToken) });
    expect(JSON.stringify(list.json())).not.toContain(PHONE);
    const one = await app.inject({ method: "GET", url: `/api/conversations/${c.conversationId}`, headers: auth(c.sellerToken) });
    expect(one.json().lastMessage).toMatchObject({ content: MASKED });
    const mine = await app.inject({ method: "GET", url: `/api/conversations/${c.conversationId}`, headers: auth(c.buyerToken) });
    expect(mine.json().lastMessage).toMatchObject({ content: TEXT });

    // Search: the recipient neither finds the hidden number nor sees it in a highlight.
    const search = (jwt: string, q: string) =>
      app.inject({ method: "GET", url: `/api/search?q=${encodeURIComponent(q)}&conversationId=${c.conversationId}`, headers: auth(jwt) });
    expect((await search(c.sellerToken, PHONE)).json().items).toEqual([]);
    const byWord = (await search(c.sellerToken, "tomorrow")).json();
    expect(byWord.items).toHaveLength(1);
    expect(byWord.items[0].message).toMatchObject({ content: MASKED, flags: ["contact_info"] });
    expect(byWord.items[0].highlight).toContain("[contact hidden]");
    expect(byWord.items[0].highlight).not.toContain(PHONE);
    const own = (await search(c.buyerToken, PHONE)).json();
    expect(own.items[0].message.content).toBe(TEXT);
    expect(own.items[0].highlight).toContain(PHONE);

    // The admins' list: the message as sent, kinds and spans found.
    const flags = await flagsFor(app, c.conversationId);
    expect(flags).toHaveLength(1);
    expect(flags[0]).toMatchObject({ rule: "contact_info", action: "masked", kinds: ["phone"], message: { id: ack.data.id, content: TEXT } });
    expect(flags[0]!.spans[0]).toMatchObject({ text: PHONE });
    expect(TEXT.slice(flags[0]!.spans[0]!.start, flags[0]!.spans[0]!.end)).toBe(PHONE);
  });

  it("message.unread webhooks carry the recipient's (masked) view", async () => {
    const { app } = byPolicy.mask!;
    const c = await makeConversation(app);
    const sent = await send(app, c.buyerToken, c.conversationId, TEXT);
    expect(sent.statusCode).toBe(201);
    const id = sent.json().id as string;
    await expect.poll(() => webhooks.find((w) => w.data.message.id === id)).toBeTruthy();
    const hook = webhooks.find((w) => w.data.message.id === id)!;
    expect(hook.data.userId).toBe(c.seller);
    expect(hook.data.message).toMatchObject({ content: MASKED, flags: ["contact_info"] });
    expect(JSON.stringify(hook)).not.toContain(PHONE);
  });

  it("an edit is detected again: masked for the other side through message:updated, cleared when the detail goes", async () => {
    const { app, url } = byPolicy.mask!;
    const c = await makeConversation(app);
    const sent = await send(app, c.buyerToken, c.conversationId, "Is it still available?");
    const id = sent.json().id as string;
    expect(sent.json().flags).toEqual([]);
    const seller = await socket(url, c.sellerToken);
    const buyer = await socket(url, c.buyerToken);
    const sellerUpdate = nextEvent<MessageView>(seller, "message:updated");
    const buyerUpdate = nextEvent<MessageView>(buyer, "message:updated");
    const edited = await app.inject({ method: "PATCH", url: `/api/messages/${id}`, headers: auth(c.buyerToken), payload: { content: TEXT } });
    expect(edited.statusCode).toBe(200);
    expect(edited.json()).toMatchObject({ content: TEXT, flags: ["contact_info"] });
    expect(await sellerUpdate).toMatchObject({ content: MASKED, flags: ["contact_info"] });
    expect(await buyerUpdate).toMatchObject({ content: TEXT, flags: ["contact_info"] });
    const clean = await app.inject({ method: "PATCH", url: `/api/messages/${id}`, headers: auth(c.buyerToken), payload: { content: "Never mind" } });
    expect(clean.json()).toMatchObject({ content: "Never mind", flags: [] });
    expect((await history(app, c.sellerToken, c.conversationId)).at(-1)).toMatchObject({ content: "Never mind", flags: [] });
  });

  it("links to the marketplace's own domains are not contact details", async () => {
    const { app } = byPolicy.mask!;
    const c = await makeConversation(app);
    const own = await send(app, c.buyerToken, c.conversationId, "See https://market.example/item/42 please");
    expect(own.json().flags).toEqual([]);
    const other = await send(app, c.buyerToken, c.conversationId, "See https://elsewhere.example/item/42 please");
    expect(other.json().flags).toEqual(["contact_info"]);
    expect((await history(app, c.sellerToken, c.conversationId)).at(-1)!.content).toBe("See [contact hidden] please");
  });
});

describe("a number split over consecutive messages of one sender", () => {
  it("the part that completes it is masked for the recipient; the other side's message in between breaks the run", async () => {
    const { app } = byPolicy.mask!;
    const c = await makeConversation(app);
    for (const part of ["06 12", "34"]) expect((await send(app, c.buyerToken, c.conversationId, part)).json().flags).toEqual([]);
    const last = await send(app, c.buyerToken, c.conversationId, "56 78");
    expect(last.json()).toMatchObject({ content: "56 78", flags: ["contact_info"] });
    expect((await history(app, c.sellerToken, c.conversationId)).at(-1)).toMatchObject({ content: "[contact hidden]", flags: ["contact_info"] });
    expect((await flagsFor(app, c.conversationId))[0]).toMatchObject({ rule: "contact_info", action: "masked" });

    const d = await makeConversation(app);
    await send(app, d.buyerToken, d.conversationId, "06 12");
    await send(app, d.buyerToken, d.conversationId, "34");
    await send(app, d.sellerToken, d.conversationId, "ok");
    expect((await send(app, d.buyerToken, d.conversationId, "56 78")).json().flags).toEqual([]);
  });
});

describe("policy × listing state", () => {
  it("flag: shown unchanged with the flag, listed for admins", async () => {
    const { app } = byPolicy.flag!;
    const c = await makeConversation(app);
    const sent = await send(app, c.buyerToken, c.conversationId, TEXT);
    expect(sent.statusCode).toBe(201);
    expect(sent.json()).toMatchObject({ content: TEXT, flags: ["contact_info"] });
    expect((await history(app, c.sellerToken, c.conversationId)).at(-1)).toMatchObject({ content: TEXT, flags: ["contact_info"] });
    expect(await flagsFor(app, c.conversationId)).toMatchObject([{ action: "flagged", kinds: ["phone"] }]);
  });

  it("block: forbidden, nothing stored, the attempt listed for admins", async () => {
    const { app } = byPolicy.block!;
    const c = await makeConversation(app);
    const refused = await send(app, c.buyerToken, c.conversationId, TEXT);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe("forbidden");
    expect(await history(app, c.buyerToken, c.conversationId)).toEqual([]);
    expect(await flagsFor(app, c.conversationId)).toMatchObject([{ action: "blocked", message: null, kinds: ["phone"] }]);
    // A socket send is refused the same way; a clean message goes through.
    const buyer = await socket(byPolicy.block!.url, c.buyerToken);
    const ack = await emitAck<{ ok: boolean; error?: { code: string } }>(buyer, "message:send", { conversationId: c.conversationId, clientId: randomUUID(), content: TEXT });
    expect(ack).toMatchObject({ ok: false, error: { code: "forbidden" } });
    expect((await send(app, c.buyerToken, c.conversationId, "Still available?")).statusCode).toBe(201);
  });

  it("a stranger's message with contact details is not_found under block, and nothing is recorded", async () => {
    const { app } = byPolicy.block!;
    const c = await makeConversation(app);
    const res = await send(app, token("contact-stranger"), c.conversationId, TEXT);
    expect(res.statusCode).toBe(404);
    expect(await flagsFor(app, c.conversationId)).toEqual([]);
  });

  it("off: nothing detected, nothing flagged", async () => {
    const { app } = byPolicy.off!;
    const c = await makeConversation(app);
    const sent = await send(app, c.buyerToken, c.conversationId, TEXT);
    expect(sent.json()).toMatchObject({ content: TEXT, flags: [] });
    expect((await history(app, c.sellerToken, c.conversationId)).at(-1)).toMatchObject({ content: TEXT, flags: [] });
    expect(await flagsFor(app, c.conversationId)).toEqual([]);
  });

  for (const status of ["reserved", "sold"] as const) {
    for (const policy of ["mask", "flag", "block"] as const) {
      it(`${policy} on a ${status} listing: shown as sent without flags, only recorded for admins`, async () => {
        const { app } = byPolicy[policy]!;
        const c = await makeConversation(app);
        await pushListing(app, c.listingId, c.seller, { status });
        const sent = await send(app, c.buyerToken, c.conversationId, TEXT);
        expect(sent.statusCode).toBe(201);
        expect(sent.json()).toMatchObject({ content: TEXT, flags: [] });
        expect((await history(app, c.sellerToken, c.conversationId)).at(-1)).toMatchObject({ content: TEXT, flags: [] });
        expect(await flagsFor(app, c.conversationId)).toMatchObject([{ action: "recorded", kinds: ["phone"] }]);
      });
    }
  }
});

describe("policy × offer state", () => {
  it("an accepted offer lifts the policy: later messages are shown as sent and only recorded", async () => {
    const { app } = byPolicy.mask!;
    const c = await makeConversation(app);
    expect((await send(app, c.buyerToken, c.conversationId, TEXT)).json().flags).toEqual(["contact_info"]);
    // What accepting an offer writes (the offers feature sets it in the accept's transaction).
    const db = new pg.Client({ connectionString: env.databaseUrl });
    await db.connect();
    try {
      await db.query("UPDATE conversations SET offer_accepted_at = now() WHERE id = $1", [c.conversationId]);
    } finally {
      await db.end();
    }
    const after = await send(app, c.buyerToken, c.conversationId, TEXT);
    expect(after.json()).toMatchObject({ content: TEXT, flags: [] });
    const seen = await history(app, c.sellerToken, c.conversationId);
    expect(seen.map((m) => m.content)).toEqual([MASKED, TEXT]);
    expect((await flagsFor(app, c.conversationId)).map((f) => f.action)).toEqual(["recorded", "masked"]);
  });
});

describe("GET /api/admin/flags", () => {
  it("admins only; pages newest first with an opaque cursor", async () => {
    const { app } = byPolicy.flag!;
    const c = await makeConversation(app);
    for (let i = 0; i < 3; i++) await send(app, c.buyerToken, c.conversationId, `mail me: user${i}@mail.example`);
    expect((await app.inject({ method: "GET", url: "/api/admin/flags", headers: auth(c.buyerToken) })).statusCode).toBe(403);
    expect((await app.inject({ method: "GET", url: "/api/admin/flags" })).statusCode).toBe(401);
    const first = await app.inject({ method: "GET", url: "/api/admin/flags?limit=2", headers: auth(ADMIN) });
    expect(first.json().items).toHaveLength(2);
    expect(first.json().items[0].spans[0].text).toBe("user2@mail.example");
    const next = await app.inject({ method: "GET", url: `/api/admin/flags?limit=2&cursor=${first.json().nextCursor}`, headers: auth(ADMIN) });
    expect(next.json().items[0].spans[0].text).toBe("user0@mail.example");
    expect((await app.inject({ method: "GET", url: "/api/admin/flags?cursor=nonsense", headers: auth(ADMIN) })).statusCode).toBe(400);
  });
});
