// The pre-send moderation hook (README, "Moderation hook") against a real HTTP receiver on
// 127.0.0.1 that checks every signature and answers allow, mask, flag, block, garbage, slowly or
// not at all, with MODERATION_FAIL open and closed.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { verifyWebhookSignature } from "../src/webhooks/webhook-signer.js";
import { auth, createTestEnv, makeConversation, startApp, type TestEnv } from "./support/app.js";
import { token } from "./support/tokens.js";
import type { MessageView } from "../src/contract/shapes.js";

const SECRET = "modsec-test-0123456789abcdef";
const TIMEOUT_MS = 300;
const ADMIN = token("hook-admin", { role: "admin" });

interface Reviewed {
  headers: IncomingHttpHeaders;
  body: { conversation: { id: string }; sender: { id: string }; message: { content: string | null; contactInfo: unknown[] } };
  signatureOk: boolean;
}

/** The marketplace's moderation service: records each request and answers what `answer` says. */
const reviewed: Reviewed[] = [];
let answer: (r: Reviewed) => Promise<{ status: number; body: string }> | { status: number; body: string } = () => ({ status: 200, body: '{"action":"allow"}' });
let receiver: Server;
let receiverUrl: string;

let env: TestEnv;
const apps: FastifyInstance[] = [];
let open: FastifyInstance;
let closed: FastifyInstance;
let down: FastifyInstance;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let raw = "";
    req.on("data", (c: Buffer) => (raw += c.toString()));
    req.on("end", async () => {
      const r: Reviewed = { headers: req.headers, body: JSON.parse(raw), signatureOk: verifyWebhookSignature(SECRET, req.headers["x-chat-signature"] as string, raw) };
      reviewed.push(r);
      const { status, body } = await answer(r);
      if (!res.destroyed) res.writeHead(status, { "content-type": "application/json" }).end(body);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/moderate`;
  env = await createTestEnv();
  const hook = { MODERATION_URL: receiverUrl, MODERATION_SECRET: SECRET, MODERATION_TIMEOUT_MS: String(TIMEOUT_MS) };
  open = (await startApp(env, hook)).app;
  closed = (await startApp(env, { ...hook, MODERATION_FAIL: "closed" })).app;
  // A hook nobody listens on: connection refused.
  down = (await startApp(env, { ...hook, MODERATION_URL: "http://127.0.0.1:9/moderate", MODERATION_FAIL: "closed" })).app;
  apps.push(open, closed, down);
});

afterAll(async () => {
  for (const app of apps) await app.close();
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
  await env?.close();
});

function send(app: FastifyInstance, jwt: string, conversationId: string, content: string) {
  return app.inject({ method: "POST", url: `/api/conversations/${conversationId}/messages`, headers: auth(jwt), payload: { clientId: randomUUID(), content } });
}

async function lastSeenBy(app: FastifyInstance, jwt: string, conversationId: string): Promise<MessageView | undefined> {
  const res = await app.inject({ method: "GET", url: `/api/conversations/${conversationId}/messages`, headers: auth(jwt) });
  return (res.json().items as MessageView[]).at(-1);
}

async function flagsFor(app: FastifyInstance, conversationId: string) {
  const res = await app.inject({ method: "GET", url: "/api/admin/flags?rule=moderation", headers: auth(ADMIN) });
  return (res.json().items as { conversationId: string; action: string; reason: string | null; spans: { text: string }[] }[]).filter((f) => f.conversationId === conversationId);
}

describe("answers", () => {
  it("is sent { conversation, sender, message } signed like webhooks, before storing; allow stores it unchanged", async () => {
    answer = () => ({ status: 200, body: '{"action":"allow"}' });
    const c = await makeConversation(open);
    const before = reviewed.length;
    const res = await send(open, c.buyerToken, c.conversationId, "Is the bike still available?");
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ content: "Is the bike still available?", flags: [] });
    const r = reviewed[before]!;
    expect(r.signatureOk).toBe(true);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(r.body).toMatchObject({
      conversation: { id: c.conversationId },
      sender: { id: c.buyer },
      message: { content: "Is the bike still available?", contactInfo: [] },
    });
    expect(await flagsFor(open, c.conversationId)).toEqual([]);
  });

  it("mask: the spans it names are hidden from the other side, the flag is 'moderation', admins see why", async () => {
    answer = () => ({ status: 200, body: JSON.stringify({ action: "mask", spans: [{ start: 8, end: 16 }], reason: "payment off-platform" }) });
    const c = await makeConversation(open);
    const res = await send(open, c.buyerToken, c.conversationId, "Pay via WireCash only");
    expect(res.json()).toMatchObject({ content: "Pay via WireCash only", flags: ["moderation"] });
    expect(await lastSeenBy(open, c.sellerToken, c.conversationId)).toMatchObject({ content: "Pay via [contact hidden] only", flags: ["moderation"] });
    expect(await flagsFor(open, c.conversationId)).toMatchObject([{ action: "masked", reason: "payment off-platform", spans: [{ text: "WireCash" }] }]);
  });

  it("flag: shown unchanged with the flag", async () => {
    answer = () => ({ status: 200, body: JSON.stringify({ action: "flag", reason: "pushy" }) });
    const c = await makeConversation(open);
    const res = await send(open, c.buyerToken, c.conversationId, "Answer me NOW");
    expect(res.json()).toMatchObject({ content: "Answer me NOW", flags: ["moderation"] });
    expect(await lastSeenBy(open, c.sellerToken, c.conversationId)).toMatchObject({ content: "Answer me NOW", flags: ["moderation"] });
    expect(await flagsFor(open, c.conversationId)).toMatchObject([{ action: "flagged", reason: "pushy" }]);
  });

  it("block: forbidden, nothing stored, recorded for admins", async () => {
    answer = () => ({ status: 200, body: JSON.stringify({ action: "block", reason: "scam pattern" }) });
    const c = await makeConversation(open);
    const res = await send(open, c.buyerToken, c.conversationId, "Send the deposit by gift card");
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe("forbidden");
    expect(await lastSeenBy(open, c.buyerToken, c.conversationId)).toBeUndefined();
    expect(await flagsFor(open, c.conversationId)).toMatchObject([{ action: "blocked", reason: "scam pattern" }]);
  });

  it("edits are reviewed too", async () => {
    answer = () => ({ status: 200, body: '{"action":"allow"}' });
    const c = await makeConversation(open);
    const id = (await send(open, c.buyerToken, c.conversationId, "Hello")).json().id as string;
    answer = () => ({ status: 200, body: JSON.stringify({ action: "block" }) });
    const edit = await open.inject({ method: "PATCH", url: `/api/messages/${id}`, headers: auth(c.buyerToken), payload: { content: "Send the deposit by gift card" } });
    expect(edit.statusCode).toBe(403);
    expect(await lastSeenBy(open, c.sellerToken, c.conversationId)).toMatchObject({ content: "Hello", editedAt: null });
  });
});

describe("failures: open lets the message through, closed refuses it", () => {
  const failures: [string, () => Promise<{ status: number; body: string }> | { status: number; body: string }][] = [
    ["answers garbage", () => ({ status: 200, body: "<html>oops</html>" })],
    ["answers an unknown action", () => ({ status: 200, body: '{"action":"maybe"}' })],
    ["answers spans outside the text", () => ({ status: 200, body: '{"action":"mask","spans":[{"start":0,"end":999}]}' })],
    ["answers 500", () => ({ status: 500, body: '{"action":"allow"}' })],
    ["is slower than MODERATION_TIMEOUT_MS", () => new Promise((resolve) => setTimeout(() => resolve({ status: 200, body: '{"action":"block"}' }), TIMEOUT_MS * 4))],
  ];
  for (const [what, behave] of failures) {
    it(`when the hook ${what}`, async () => {
      answer = behave;
      const c = await makeConversation(open);
      const allowed = await send(open, c.buyerToken, c.conversationId, "Still available?");
      expect(allowed.statusCode).toBe(201);
      expect(allowed.json().flags).toEqual([]);
      const refused = await send(closed, c.buyerToken, c.conversationId, "Still there?");
      expect(refused.statusCode).toBe(403);
      expect(refused.json().error.code).toBe("forbidden");
      const items = (await closed.inject({ method: "GET", url: `/api/conversations/${c.conversationId}/messages`, headers: auth(c.buyerToken) })).json().items;
      expect(items.map((m: MessageView) => m.content)).toEqual(["Still available?"]);
    });
  }

  it("when the hook is down (connection refused), closed refuses", async () => {
    const c = await makeConversation(down);
    const refused = await send(down, c.buyerToken, c.conversationId, "Hello?");
    expect(refused.statusCode).toBe(403);
    expect(await flagsFor(down, c.conversationId)).toMatchObject([{ action: "blocked" }]);
  });
});
