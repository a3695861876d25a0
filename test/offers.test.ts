// Offers (API.md, "Offers"; README, "Offers") on two real nodes sharing PostgreSQL and Redis, with
// a real webhook receiver: the state machine, message:new / message:updated to every socket of
// both participants exactly once, the offer.* webhooks written with each change, the contact
// policy lifted by an accept, bad input answered with the contract's errors and nothing written,
// accept against withdraw (and counter against withdraw) racing on the two nodes, and expiry by
// OFFER_TTL_MS done once in the cluster.
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatClient } from "@marketchat/client";
import { ERRORS } from "../src/errors/errors.js";
import { verifyWebhookSignature } from "../src/webhooks/webhook-signer.js";
import { auth, createTestEnv, record, startApp, type ClientSocket } from "./support/app.js";
import type { NodeProcess } from "./support/cluster.js";
import { serviceToken, token } from "./support/tokens.js";
import { useTwoNodes } from "./support/two-nodes.js";

const SECRET = "whsec-offers-0123456789abcdef";
const DAY_MS = 24 * 3_600_000;

interface Hook {
  id: string;
  type: string;
  createdAt: string;
  data: {
    offer: { id: string; status: string; amountCents: number; currency: string; byUserId: string; respondsToOfferId: string | null; expiresAt: string };
    counterOffer?: { id: string; status: string; respondsToOfferId: string | null };
    messageId: string;
    conversationId: string;
    listingId: string;
    buyerId: string;
    sellerId: string;
    actorId: string | null;
  };
}

/** Records every offer.* webhook whose signature checks out (others are answered 400). */
const hooks: Hook[] = [];
let receiver: Server;
const nodeEnv: Record<string, string> = {
  WEBHOOK_SECRET: SECRET,
  WEBHOOK_POLL_INTERVAL_MS: "100",
  // message.unread rows are written for offers too; they stay out of the way here.
  WEBHOOK_DELAY_MS: String(DAY_MS),
  OFFER_SWEEP_INTERVAL_MS: "100",
  CONTACT_INFO_POLICY: "mask",
  // The race loops send many requests per user.
  RATE_LIMIT_MESSAGES: "off",
};
// Before useTwoNodes' own beforeAll: the nodes need the receiver's URL.
beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      if (!verifyWebhookSignature(SECRET, req.headers["x-chat-signature"] as string, raw)) return void res.writeHead(400).end();
      const body = JSON.parse(raw) as Hook;
      if (body.type.startsWith("offer.")) hooks.push(body);
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  nodeEnv.WEBHOOK_URL = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
});
afterAll(async () => {
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
});

const cluster = useTwoNodes(nodeEnv);
const http = cluster.http;
let a: NodeProcess;
let b: NodeProcess;
let db: pg.Pool;
beforeAll(() => {
  ({ a, b } = cluster);
  db = new pg.Pool({ connectionString: cluster.env.databaseUrl, max: 2 });
});
// Registered after useTwoNodes, so it runs before the test database is dropped.
afterAll(() => db?.end());

interface Offer {
  id: string;
  amountCents: number;
  currency: string;
  status: string;
  byUserId: string;
  respondsToOfferId: string | null;
  expiresAt: string;
}
interface Msg {
  id: string;
  conversationId: string;
  seq: number;
  senderId: string | null;
  type: string;
  content: string | null;
  createdAt: string;
  flags: string[];
  offer?: Offer;
}

/** A buyer and a seller with a conversation about a listing in EUR (or as `listing` says). */
async function deal(tag: string, listing: Record<string, unknown> = { priceCents: 10_000, currency: "EUR" }) {
  const buyer = `b-${tag}`;
  const seller = `s-${tag}`;
  const listingId = `l-${tag}`;
  await http(a, "PUT", `/api/internal/users/${seller}`, serviceToken(), { name: "Seller" });
  expect((await http(b, "PUT", `/api/internal/listings/${listingId}`, serviceToken(), { sellerId: seller, title: "Sofa", ...listing })).status).toBeLessThan(300);
  const opened = await http(a, "POST", "/api/conversations", token(buyer), { listingId });
  expect(opened.status).toBe(201);
  return { buyer, seller, listingId, id: opened.body.id as string };
}

const makeOffer = (node: NodeProcess, user: string, conversationId: string, body: Record<string, unknown>) =>
  http(node, "POST", `/api/conversations/${conversationId}/offers`, token(user), { clientId: randomUUID(), currency: "EUR", ...body });
const act = (node: NodeProcess, user: string, offerId: string, action: "accept" | "decline" | "withdraw") =>
  http(node, "POST", `/api/offers/${offerId}/${action}`, token(user));
const counter = (node: NodeProcess, user: string, offerId: string, body: Record<string, unknown>) =>
  http(node, "POST", `/api/offers/${offerId}/counter`, token(user), { clientId: randomUUID(), ...body });
const say = (node: NodeProcess, user: string, conversationId: string, content: string) =>
  http(node, "POST", `/api/conversations/${conversationId}/messages`, token(user), { clientId: randomUUID(), content });
const history = async (user: string, conversationId: string): Promise<Msg[]> =>
  (await http(b, "GET", `/api/conversations/${conversationId}/messages?limit=100`, token(user))).body.items;

/** What the database holds for a conversation: its last seq, and its offers by status. */
async function stored(conversationId: string) {
  const { rows: [c] } = await db.query<{ last_seq: number; messages: number }>(
    "SELECT last_seq, (SELECT count(*)::int FROM messages WHERE conversation_id = $1) AS messages FROM conversations WHERE id = $1",
    [conversationId],
  );
  const { rows } = await db.query<{ status: string; n: number }>(
    "SELECT status::text, count(*)::int AS n FROM offers WHERE conversation_id = $1 GROUP BY status",
    [conversationId],
  );
  return { lastSeq: c!.last_seq, messages: c!.messages, offers: Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number> };
}

/** Outbox rows of offer webhooks about one offer, by type: each change writes exactly one. */
async function outbox(offerId: string): Promise<Record<string, number>> {
  const { rows } = await db.query<{ type: string; n: number }>(
    "SELECT type, count(*)::int AS n FROM webhook_deliveries WHERE type LIKE 'offer.%' AND payload->'offer'->>'id' = $1 GROUP BY type",
    [offerId],
  );
  return Object.fromEntries(rows.map((r) => [r.type, r.n]));
}

const hooksAbout = (offerId: string, type: string) => {
  const byDelivery = new Map(hooks.filter((h) => h.type === type && h.data.offer.id === offerId).map((h) => [h.id, h]));
  return [...byDelivery.values()];
};

/**
 * Every socket of both participants, on both nodes, recording message:new and message:updated.
 * `settle` sends a text and waits until every socket has it: events of a conversation arrive in
 * order, so whatever was published before it has arrived by then, and counts are final.
 */
async function devices(c: { buyer: string; seller: string; id: string }) {
  const sockets: ClientSocket[] = [
    await cluster.socket(a, c.buyer),
    await cluster.socket(b, c.buyer),
    await cluster.socket(a, c.seller),
    await cluster.socket(b, c.seller),
  ];
  const created = sockets.map((s) => record<Msg>(s, "message:new"));
  const updated = sockets.map((s) => record<Msg>(s, "message:updated"));
  return {
    created,
    updated,
    async settle() {
      const marker = await say(a, c.buyer, c.id, `marker ${randomUUID()}`);
      expect(marker.status).toBe(201);
      for (const got of created) await expect.poll(() => got.some((m) => m.id === marker.body.id)).toBe(true);
    },
    /** How many times each socket got `messageId` as message:new / message:updated. */
    newCounts: (messageId: string) => created.map((got) => got.filter((m) => m.id === messageId).length),
    updatedOf: (messageId: string) => updated.map((got) => got.filter((m) => m.id === messageId)),
  };
}

describe("making an offer", () => {
  it("is a message of type offer with the conversation's next seq, delivered once to every socket; a repeated clientId answers 200 with the same message and delivers nothing", async () => {
    const c = await deal("make");
    const d = await devices(c);
    expect((await say(b, c.buyer, c.id, "hi")).status).toBe(201);
    const body = { clientId: randomUUID(), amountCents: 8_000, currency: "EUR" };
    const made = await http(a, "POST", `/api/conversations/${c.id}/offers`, token(c.buyer), body);
    expect(made.status).toBe(201);
    const m = made.body as Msg;
    expect(m).toMatchObject({ conversationId: c.id, seq: 2, senderId: c.buyer, type: "offer", content: null });
    expect(m.offer).toEqual({
      id: expect.any(String),
      amountCents: 8_000,
      currency: "EUR",
      status: "pending",
      byUserId: c.buyer,
      respondsToOfferId: null,
      expiresAt: new Date(Date.parse(m.createdAt) + 2 * DAY_MS).toISOString(),
    });
    const again = await http(b, "POST", `/api/conversations/${c.id}/offers`, token(c.buyer), body);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(m);
    await d.settle();
    expect(d.newCounts(m.id)).toEqual([1, 1, 1, 1]);
    expect(d.created[2]!.find((x) => x.id === m.id)).toEqual(m);
    // The seller sees it in history and as the conversation's last message; unread for them.
    const seller = await http(b, "GET", `/api/conversations/${c.id}`, token(c.seller));
    expect(seller.body.unreadCount).toBe(3);
    expect((await history(c.seller, c.id)).find((x) => x.id === m.id)).toEqual(m);
    // offer.created: one outbox row, delivered signed with the offer, where it is and who made it.
    expect(await outbox(m.offer!.id)).toEqual({ "offer.created": 1 });
    await expect.poll(() => hooksAbout(m.offer!.id, "offer.created").length).toBe(1);
    expect(hooksAbout(m.offer!.id, "offer.created")[0]!.data).toEqual({
      offer: m.offer,
      messageId: m.id,
      conversationId: c.id,
      listingId: c.listingId,
      buyerId: c.buyer,
      sellerId: c.seller,
      actorId: c.buyer,
    });
  });

  it("as the conversation's first message opens it for the seller (conversation:new); the seller may offer too once it has a message", async () => {
    const c = await deal("first");
    const seller = await cluster.socket(b, c.seller);
    const opened = record<{ id: string }>(seller, "conversation:new");
    const made = await makeOffer(a, c.buyer, c.id, { amountCents: 9_000 });
    expect(made.status).toBe(201);
    expect(made.body.seq).toBe(1);
    await expect.poll(() => opened.map((o) => o.id)).toEqual([c.id]);
    expect((await act(b, c.buyer, made.body.offer.id, "withdraw")).status).toBe(200);
    const bySeller = await makeOffer(b, c.seller, c.id, { amountCents: 9_500 });
    expect(bySeller.status).toBe(201);
    expect(bySeller.body.offer).toMatchObject({ byUserId: c.seller, status: "pending" });
  });

  it("is conflict while another offer is pending (from either side) or the listing is not active; nothing is written", async () => {
    const c = await deal("pending");
    const first = await makeOffer(a, c.buyer, c.id, { amountCents: 5_000 });
    expect(first.status).toBe(201);
    const before = await stored(c.id);
    for (const [node, user] of [[a, c.buyer], [b, c.seller]] as const) {
      const res = await makeOffer(node, user, c.id, { amountCents: 6_000 });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe("conflict");
    }
    expect(await stored(c.id)).toEqual(before);
    expect((await act(b, c.seller, first.body.offer.id, "decline")).status).toBe(200);
    for (const status of ["reserved", "sold", "deleted"]) {
      await http(a, "PUT", `/api/internal/listings/${c.listingId}`, serviceToken(), { sellerId: c.seller, title: "Sofa", priceCents: 10_000, currency: "EUR", status });
      // The status change's system message is written in the background (README, "Listing changes in the thread"): count after it.
      await expect.poll(async () => (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM listing_changes")).rows[0]!.n, { timeout: 10_000 }).toBe(0);
      const mid = await stored(c.id);
      const res = await makeOffer(a, c.buyer, c.id, { amountCents: 6_000 });
      expect([res.status, res.body.error.code]).toEqual([409, "conflict"]);
      expect(await stored(c.id)).toEqual(mid);
    }
  });
});

describe("bad input: the contract's errors, nothing written", () => {
  it("amounts that are not a positive whole number of cents up to the maximum, a currency other than the listing's, a bad clientId are validation_failed", async () => {
    const c = await deal("bad");
    expect((await say(a, c.buyer, c.id, "hi")).status).toBe(201);
    const before = await stored(c.id);
    const bodies: Record<string, unknown>[] = [
      { amountCents: 0 },
      { amountCents: -100 },
      { amountCents: 12.5 },
      { amountCents: "100" },
      { amountCents: null },
      { amountCents: 1_000_000_001 },
      { amountCents: 1e12 },
      { amountCents: 2 ** 53 },
      { amountCents: undefined },
      { amountCents: 100, currency: "USD" },
      { amountCents: 100, currency: "eur" },
      { amountCents: 100, currency: "EURO" },
      { amountCents: 100, currency: undefined },
      { amountCents: 100, clientId: "not-a-uuid" },
      { amountCents: 100, clientId: undefined },
    ];
    for (const body of bodies) {
      const res = await makeOffer(a, c.buyer, c.id, body);
      expect([JSON.stringify(body), res.status, res.body.error.code]).toEqual([JSON.stringify(body), 400, "validation_failed"]);
    }
    const notJson = await fetch(`${a.url}/api/conversations/${c.id}/offers`, {
      method: "POST",
      headers: { authorization: `Bearer ${token(c.buyer)}`, "content-type": "application/json" },
      body: "[1,2",
    });
    expect(notJson.status).toBe(400);
    expect(await stored(c.id)).toEqual(before);
    // The largest amount is fine.
    expect((await makeOffer(a, c.buyer, c.id, { amountCents: 1_000_000_000 })).status).toBe(201);
  });

  it("a listing without a currency takes no offers (validation_failed); a counter with a bad amount is validation_failed", async () => {
    const c = await deal("nocur", {});
    expect((await say(a, c.buyer, c.id, "hi")).status).toBe(201);
    const res = await makeOffer(a, c.buyer, c.id, { amountCents: 100 });
    expect([res.status, res.body.error.code]).toEqual([400, "validation_failed"]);
    const d = await deal("badcounter");
    const made = await makeOffer(a, d.buyer, d.id, { amountCents: 100 });
    const before = await stored(d.id);
    for (const amountCents of [0, -1, 1.5, "7", 5_000_000_000]) {
      const r = await counter(b, d.seller, made.body.offer.id, { amountCents });
      expect([r.status, r.body.error.code]).toEqual([400, "validation_failed"]);
    }
    const noClientId = await http(b, "POST", `/api/offers/${made.body.offer.id}/counter`, token(d.seller), { amountCents: 100 });
    expect([noClientId.status, noClientId.body.error.code]).toEqual([400, "validation_failed"]);
    expect(await stored(d.id)).toEqual(before);
  });

  it("strangers, foreign and unknown offer ids are not_found; the wrong side is forbidden; transitions out of order are conflict", async () => {
    const c = await deal("authz");
    const other = await deal("authz-other");
    const made = await makeOffer(a, c.buyer, c.id, { amountCents: 4_000 });
    const offerId = made.body.offer.id as string;
    const otherOffer = (await makeOffer(a, other.buyer, other.id, { amountCents: 4_000 })).body.offer.id as string;
    const stranger = "stranger-authz";
    const expectError = async (res: Promise<{ status: number; body: { error?: { code: string } } }>, status: number, code: string) => {
      const r = await res;
      expect([r.status, r.body.error?.code]).toEqual([status, code]);
    };
    const before = await stored(c.id);
    // Strangers (and a participant of another conversation) see nothing.
    await expectError(makeOffer(a, stranger, c.id, { amountCents: 1 }), 404, "not_found");
    await expectError(makeOffer(a, other.buyer, c.id, { amountCents: 1 }), 404, "not_found");
    for (const action of ["accept", "decline", "withdraw"] as const) {
      await expectError(act(a, stranger, offerId, action), 404, "not_found");
      await expectError(act(b, other.seller, offerId, action), 404, "not_found");
      await expectError(act(a, c.seller, otherOffer, action), 404, "not_found");
      await expectError(act(a, c.seller, randomUUID(), action), 404, "not_found");
      await expectError(act(a, c.seller, "not-an-id", action), 404, "not_found");
    }
    await expectError(counter(a, stranger, offerId, { amountCents: 1 }), 404, "not_found");
    await expectError(counter(a, c.seller, otherOffer, { amountCents: 1 }), 404, "not_found");
    await expectError(counter(a, c.seller, randomUUID(), { amountCents: 1 }), 404, "not_found");
    await expectError(makeOffer(a, c.buyer, "not-an-id", { amountCents: 1 }), 404, "not_found");
    // The wrong side.
    await expectError(act(a, c.buyer, offerId, "accept"), 403, "forbidden");
    await expectError(act(a, c.buyer, offerId, "decline"), 403, "forbidden");
    await expectError(counter(a, c.buyer, offerId, { amountCents: 1 }), 403, "forbidden");
    await expectError(act(b, c.seller, offerId, "withdraw"), 403, "forbidden");
    expect(await stored(c.id)).toEqual(before);
    expect((await history(c.buyer, c.id)).at(-1)!.offer!.status).toBe("pending");
    // Out of order: once decided, nothing else applies (the wrong side is still forbidden).
    expect((await act(b, c.seller, offerId, "accept")).body.offer.status).toBe("accepted");
    await expectError(act(b, c.seller, offerId, "accept"), 409, "conflict");
    await expectError(act(b, c.seller, offerId, "decline"), 409, "conflict");
    await expectError(act(a, c.buyer, offerId, "withdraw"), 409, "conflict");
    await expectError(counter(b, c.seller, offerId, { amountCents: 4_500 }), 409, "conflict");
    await expectError(act(a, c.buyer, offerId, "accept"), 403, "forbidden");
    const declined = (await makeOffer(a, c.buyer, c.id, { amountCents: 4_100 })).body.offer.id as string;
    expect((await act(b, c.seller, declined, "decline")).status).toBe(200);
    await expectError(act(b, c.seller, declined, "accept"), 409, "conflict");
    await expectError(act(a, c.buyer, declined, "withdraw"), 409, "conflict");
    const withdrawn = (await makeOffer(a, c.buyer, c.id, { amountCents: 4_200 })).body.offer.id as string;
    expect((await act(a, c.buyer, withdrawn, "withdraw")).status).toBe(200);
    await expectError(act(b, c.seller, withdrawn, "accept"), 409, "conflict");
    await expectError(counter(b, c.seller, withdrawn, { amountCents: 4_000 }), 409, "conflict");
    expect((await stored(c.id)).offers).toEqual({ accepted: 1, declined: 1, withdrawn: 1 });
  });

  it("an offer message cannot be edited, nor unsent while pending", async () => {
    const c = await deal("edit");
    const made = await makeOffer(a, c.buyer, c.id, { amountCents: 4_000 });
    const edit = await http(a, "PATCH", `/api/messages/${made.body.id}`, token(c.buyer), { content: "free please" });
    expect([edit.status, edit.body.error.code]).toEqual([409, "conflict"]);
    const unsend = await http(a, "DELETE", `/api/messages/${made.body.id}`, token(c.buyer));
    expect([unsend.status, unsend.body.error.code]).toEqual([409, "conflict"]);
    expect((await history(c.buyer, c.id))[0]).toEqual(made.body);
  });
});

describe("generated bodies", () => {
  it("offers and counters answer 2xx or the contract's error, never 500, and a refusal writes nothing", async () => {
    const c = await deal("fuzz");
    const pending = await makeOffer(a, c.buyer, c.id, { amountCents: 1_000 });
    const offerId = pending.body.offer.id as string;
    const body = fc.oneof(
      fc.anything(),
      fc.constantFrom(null, 0, -1, 1e308, "", [], {}, "x".repeat(100_000)),
      fc.record(
        {
          clientId: fc.oneof(fc.uuid(), fc.string(), fc.constant(null), fc.integer()),
          amountCents: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null), fc.bigInt().map(String), fc.constantFrom(0, -0, 2 ** 31, 2 ** 53 + 1)),
          currency: fc.oneof(fc.constantFrom("EUR", "USD", "eur", "", "EU\u0000"), fc.string(), fc.integer()),
          respondsToOfferId: fc.oneof(fc.uuid(), fc.string()),
        },
        { requiredKeys: [] },
      ),
    );
    const codes = Object.keys(ERRORS);
    await fc.assert(
      fc.asyncProperty(fc.boolean(), body, async (counterIt, payload) => {
        const before = await stored(c.id);
        const res = await fetch(counterIt ? `${b.url}/api/offers/${offerId}/counter` : `${a.url}/api/conversations/${c.id}/offers`, {
          method: "POST",
          headers: { authorization: `Bearer ${token(counterIt ? c.seller : c.buyer)}`, "content-type": "application/json" },
          body: JSON.stringify(payload ?? null),
        });
        const json = (await res.json()) as { error?: { code: string }; offer?: Offer };
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400) {
          expect(codes).toContain(json.error!.code);
          expect(await stored(c.id)).toEqual(before);
          return;
        }
        // A generated body that is valid: put the conversation back to one pending offer (the buyer's).
        if (counterIt) expect((await act(a, c.buyer, json.offer!.id, "decline")).status).toBe(200);
      }),
      { numRuns: 120 },
    );
  });
});

describe("decisions", () => {
  it("between a blocked pair: making, countering and accepting are blocked, declining and withdrawing still work", async () => {
    const c = await deal("blocked");
    const first = await makeOffer(a, c.buyer, c.id, { amountCents: 2_000 });
    expect((await http(b, "POST", "/api/blocks", token(c.seller), { userId: c.buyer })).status).toBe(201);
    const before = await stored(c.id);
    for (const res of [await act(b, c.seller, first.body.offer.id, "accept"), await counter(b, c.seller, first.body.offer.id, { amountCents: 2_500 })]) {
      expect([res.status, res.body.error.code]).toEqual([403, "blocked"]);
    }
    expect(await stored(c.id)).toEqual(before);
    expect((await act(b, c.seller, first.body.offer.id, "decline")).body.offer.status).toBe("declined");
    const again = await makeOffer(a, c.buyer, c.id, { amountCents: 2_100 });
    expect([again.status, again.body.error.code]).toEqual([403, "blocked"]);
    expect((await http(b, "DELETE", `/api/blocks/${c.buyer}`, token(c.seller))).status).toBe(204);
    const made = await makeOffer(a, c.buyer, c.id, { amountCents: 2_200 });
    expect((await http(b, "POST", "/api/blocks", token(c.buyer), { userId: c.seller })).status).toBe(201);
    expect((await act(a, c.buyer, made.body.offer.id, "withdraw")).body.offer.status).toBe("withdrawn");
  });

  it("an accept or a counter while the listing is no longer active is conflict; decline still works", async () => {
    const c = await deal("sold");
    const made = await makeOffer(a, c.buyer, c.id, { amountCents: 2_000 });
    await http(a, "PUT", `/api/internal/listings/${c.listingId}`, serviceToken(), { sellerId: c.seller, title: "Sofa", priceCents: 10_000, currency: "EUR", status: "sold" });
    for (const res of [await act(b, c.seller, made.body.offer.id, "accept"), await counter(b, c.seller, made.body.offer.id, { amountCents: 2_500 })]) {
      expect([res.status, res.body.error.code]).toEqual([409, "conflict"]);
    }
    expect((await act(b, c.seller, made.body.offer.id, "decline")).body.offer.status).toBe("declined");
  });

  it("through @marketchat/client: makeOffer, counterOffer, acceptOffer", async () => {
    const c = await deal("sdk");
    const buyer = new ChatClient({ url: a.url, token: token(c.buyer), socket: { transports: ["websocket"], reconnection: false } });
    const seller = new ChatClient({ url: b.url, token: token(c.seller), socket: { transports: ["websocket"], reconnection: false } });
    try {
      const made = await buyer.makeOffer(c.id, { amountCents: 6_500, currency: "EUR" });
      expect(made.offer).toMatchObject({ status: "pending", amountCents: 6_500 });
      const countered = await seller.counterOffer(made.offer!.id, { amountCents: 7_000 });
      expect(countered.offer).toMatchObject({ status: "pending", respondsToOfferId: made.offer!.id });
      const accepted = await buyer.acceptOffer(countered.offer!.id);
      expect(accepted.offer!.status).toBe("accepted");
      await expect(seller.withdrawOffer(countered.offer!.id)).rejects.toMatchObject({ code: "conflict" });
    } finally {
      buyer.close();
      seller.close();
    }
  });

  it("accept: 200 with the offer accepted, message:updated once to every socket, offer.accepted, and contact details are no longer masked", async () => {
    const c = await deal("accept");
    const d = await devices(c);
    const masked = await say(b, c.buyer, c.id, "call me on 0612345678");
    expect(masked.body.flags).toEqual(["contact_info"]);
    const made = await makeOffer(a, c.buyer, c.id, { amountCents: 7_500 });
    const offer = made.body.offer as Offer;
    const accepted = await act(b, c.seller, offer.id, "accept");
    expect(accepted.status).toBe(200);
    expect(accepted.body).toEqual({ ...made.body, offer: { ...offer, status: "accepted" } });
    await d.settle();
    for (const got of d.updatedOf(made.body.id)) expect(got).toEqual([accepted.body]);
    expect(await outbox(offer.id)).toEqual({ "offer.created": 1, "offer.accepted": 1 });
    await expect.poll(() => hooksAbout(offer.id, "offer.accepted").length).toBe(1);
    expect(hooksAbout(offer.id, "offer.accepted")[0]!.data).toMatchObject({ offer: { ...offer, status: "accepted" }, actorId: c.seller, listingId: c.listingId });
    // The contact policy no longer applies in this conversation.
    const open = await say(a, c.seller, c.id, "sure, 0698765432");
    expect(open.body.flags).toEqual([]);
    const seen = (await history(c.buyer, c.id)).find((m) => m.id === open.body.id)!;
    expect(seen.content).toBe("sure, 0698765432");
    // The listing itself is the marketplace's: unchanged.
    const conv = await http(a, "GET", `/api/conversations/${c.id}`, token(c.buyer));
    expect(conv.body.listing).toMatchObject({ status: "active", priceCents: 10_000 });
  });

  it("decline and withdraw: message:updated to every socket once and offer.declined / offer.withdrawn", async () => {
    const c = await deal("decline");
    const d = await devices(c);
    const first = await makeOffer(a, c.buyer, c.id, { amountCents: 3_000 });
    const declined = await act(b, c.seller, first.body.offer.id, "decline");
    expect(declined.body.offer.status).toBe("declined");
    const second = await makeOffer(b, c.buyer, c.id, { amountCents: 3_500 });
    const withdrawn = await act(a, c.buyer, second.body.offer.id, "withdraw");
    expect(withdrawn.body.offer.status).toBe("withdrawn");
    await d.settle();
    for (const got of d.updatedOf(first.body.id)) expect(got).toEqual([declined.body]);
    for (const got of d.updatedOf(second.body.id)) expect(got).toEqual([withdrawn.body]);
    expect(await outbox(first.body.offer.id)).toEqual({ "offer.created": 1, "offer.declined": 1 });
    expect(await outbox(second.body.offer.id)).toEqual({ "offer.created": 1, "offer.withdrawn": 1 });
    await expect.poll(() => hooksAbout(second.body.offer.id, "offer.withdrawn").length).toBe(1);
    expect(hooksAbout(second.body.offer.id, "offer.withdrawn")[0]!.data.actorId).toBe(c.buyer);
  });

  it("counter: 201 a new offer answering the old one, which becomes countered, in one step; repeat 200; both events and both webhooks", async () => {
    const c = await deal("counter");
    const d = await devices(c);
    const made = await makeOffer(a, c.buyer, c.id, { amountCents: 6_000 });
    const body = { clientId: randomUUID(), amountCents: 8_000 };
    const countered = await http(b, "POST", `/api/offers/${made.body.offer.id}/counter`, token(c.seller), body);
    expect(countered.status).toBe(201);
    expect(countered.body).toMatchObject({ type: "offer", seq: made.body.seq + 1, senderId: c.seller });
    expect(countered.body.offer).toMatchObject({ amountCents: 8_000, currency: "EUR", status: "pending", byUserId: c.seller, respondsToOfferId: made.body.offer.id });
    const repeat = await http(a, "POST", `/api/offers/${made.body.offer.id}/counter`, token(c.seller), body);
    expect([repeat.status, repeat.body]).toEqual([200, countered.body]);
    const items = await history(c.buyer, c.id);
    expect(items.map((m) => m.offer?.status)).toEqual(["countered", "pending"]);
    await d.settle();
    expect(d.newCounts(countered.body.id)).toEqual([1, 1, 1, 1]);
    for (const got of d.updatedOf(made.body.id)) expect(got).toEqual([items[0]]);
    expect(await outbox(made.body.offer.id)).toEqual({ "offer.created": 1, "offer.countered": 1 });
    expect(await outbox(countered.body.offer.id)).toEqual({ "offer.created": 1 });
    await expect.poll(() => hooksAbout(made.body.offer.id, "offer.countered").length).toBe(1);
    expect(hooksAbout(made.body.offer.id, "offer.countered")[0]!.data).toMatchObject({
      offer: { id: made.body.offer.id, status: "countered" },
      counterOffer: countered.body.offer,
      actorId: c.seller,
    });
    // The buyer answers the counter: accepted.
    expect((await act(a, c.buyer, countered.body.offer.id, "accept")).body.offer.status).toBe("accepted");
  });
});

describe("races between two nodes", () => {
  it("accept (or counter) against withdraw, fired at once on the two nodes 24 times: exactly one wins each time, one event and one webhook per change, seq without gaps", async () => {
    const c = await deal("race");
    const d = await devices(c);
    const rounds = 24;
    const outcomes: string[] = [];
    for (let i = 0; i < rounds; i++) {
      const made = await makeOffer(i % 2 ? a : b, c.buyer, c.id, { amountCents: 1_000 + i });
      expect(made.status).toBe(201);
      const offerId = made.body.offer.id as string;
      const viaCounter = i % 3 === 2;
      const [seller, buyer] = await Promise.all([
        viaCounter ? counter(b, c.seller, offerId, { amountCents: 2_000 + i }) : act(b, c.seller, offerId, "accept"),
        act(a, c.buyer, offerId, "withdraw"),
      ]);
      const sellerWon = seller.status !== 409;
      expect([seller.status, buyer.status]).toEqual(sellerWon ? [viaCounter ? 201 : 200, 409] : [409, 200]);
      expect((sellerWon ? buyer : seller).body.error.code).toBe("conflict");
      const final = (await history(c.buyer, c.id)).find((m) => m.id === made.body.id)!.offer!.status;
      const winner = sellerWon ? (viaCounter ? "countered" : "accepted") : "withdrawn";
      expect(final).toBe(winner);
      outcomes.push(winner);
      expect(await outbox(offerId)).toEqual({ "offer.created": 1, [`offer.${winner}`]: 1 });
      // A counter that won left a pending offer: the buyer declines it for the next round.
      if (winner === "countered") expect((await act(a, c.buyer, seller.body.offer.id, "decline")).status).toBe(200);
    }
    await d.settle();
    const items = await history(c.buyer, c.id);
    expect(items.map((m) => m.seq)).toEqual(Array.from({ length: items.length }, (_, i) => i + 1));
    const offers = items.filter((m) => m.type === "offer");
    for (const m of offers) {
      expect(d.newCounts(m.id)).toEqual([1, 1, 1, 1]);
      for (const got of d.updatedOf(m.id)) expect(got).toEqual([m]);
    }
    const s = await stored(c.id);
    expect(s.offers.pending ?? 0).toBe(0);
    expect(s.lastSeq).toBe(s.messages);
    // Both sides won some rounds on this machine, or the race was not a race: print, don't assert timing.
    console.log(`offer races: ${outcomes.filter((o) => o === "withdrawn").length} withdrawn, ${outcomes.filter((o) => o !== "withdrawn").length} accepted/countered of ${rounds}`);
  });

  it("two offers made at once from both sides on the two nodes: one is stored, the other is conflict, nothing half-written", async () => {
    const c = await deal("race-make");
    expect((await say(a, c.buyer, c.id, "hi")).status).toBe(201);
    for (let i = 0; i < 10; i++) {
      const [x, y] = await Promise.all([makeOffer(a, c.buyer, c.id, { amountCents: 100 + i }), makeOffer(b, c.seller, c.id, { amountCents: 200 + i })]);
      expect([x.status, y.status].sort()).toEqual([201, 409]);
      const won = x.status === 201 ? x : y;
      expect((await act(won === x ? b : a, won === x ? c.seller : c.buyer, won.body.offer.id, "decline")).status).toBe(200);
    }
    const s = await stored(c.id);
    expect(s).toEqual({ lastSeq: 11, messages: 11, offers: { declined: 10 } });
  });
});

describe("expiry", () => {
  it("a pending offer expires OFFER_TTL_MS after it was made, once in the cluster (three nodes sweeping): message:updated once per socket, one offer.expired", async () => {
    // A third node makes offers with a 1 s lifetime; all three nodes sweep every 100 ms.
    const c3 = await cluster.startNode("node-c", { ...nodeEnv, OFFER_TTL_MS: "1000" });
    const deals = await Promise.all(["exp-1", "exp-2", "exp-3"].map((t) => deal(t)));
    const watchers = await Promise.all(deals.map((c) => devices(c)));
    const made = await Promise.all(deals.map((c) => makeOffer(c3, c.buyer, c.id, { amountCents: 5_000 })));
    for (const m of made) {
      expect(m.status).toBe(201);
      expect(Date.parse(m.body.offer.expiresAt) - Date.parse(m.body.createdAt)).toBe(1000);
    }
    for (const [i, c] of deals.entries()) {
      await expect.poll(async () => (await history(c.buyer, c.id)).find((m) => m.id === made[i]!.body.id)?.offer?.status).toBe("expired");
    }
    for (const [i, c] of deals.entries()) {
      const offer = made[i]!.body as Msg;
      const d = watchers[i]!;
      // The sweep commits, then publishes: wait for the event itself, then settle (no second one after it).
      await expect.poll(() => d.updatedOf(offer.id).every((got) => got.length > 0)).toBe(true);
      await d.settle();
      const expired = (await history(c.buyer, c.id)).find((m) => m.id === offer.id)!;
      expect(expired.offer).toEqual({ ...offer.offer, status: "expired" });
      for (const got of d.updatedOf(offer.id)) expect(got).toEqual([expired]);
      expect(await outbox(offer.offer!.id)).toEqual({ "offer.created": 1, "offer.expired": 1 });
      await expect.poll(() => hooksAbout(offer.offer!.id, "offer.expired").length).toBe(1);
      expect(hooksAbout(offer.offer!.id, "offer.expired")[0]!.data).toMatchObject({ offer: { status: "expired" }, actorId: null });
      // Expired is final; a new offer may be made.
      const late = await act(a, c.seller, offer.offer!.id, "accept");
      expect([late.status, late.body.error.code]).toEqual([409, "conflict"]);
      expect((await makeOffer(a, c.buyer, c.id, { amountCents: 5_100 })).status).toBe(201);
    }
  });
});

describe("embedded mode (PGlite, one node)", () => {
  it("makes, counters, accepts and expires offers with the same statements", async () => {
    const env = await createTestEnv("embedded");
    const { app } = await startApp(env, { OFFER_TTL_MS: "1000", OFFER_SWEEP_INTERVAL_MS: "100" });
    try {
      const inject = async (method: "POST" | "PUT", url: string, jwt: string, payload?: unknown) => {
        const res = await app.inject({ method, url, headers: auth(jwt), ...(payload === undefined ? {} : { payload: payload as object }) });
        return { status: res.statusCode, body: res.json() };
      };
      await inject("PUT", "/api/internal/users/emb-seller", serviceToken(), { name: "Seller" });
      await inject("PUT", "/api/internal/listings/emb-listing", serviceToken(), { sellerId: "emb-seller", title: "Lamp", priceCents: 3_000, currency: "EUR" });
      const id = (await inject("POST", "/api/conversations", token("emb-buyer"), { listingId: "emb-listing" })).body.id as string;
      const made = await inject("POST", `/api/conversations/${id}/offers`, token("emb-buyer"), { clientId: randomUUID(), amountCents: 2_000, currency: "EUR" });
      expect(made.status).toBe(201);
      const countered = await inject("POST", `/api/offers/${made.body.offer.id}/counter`, token("emb-seller"), { clientId: randomUUID(), amountCents: 2_500 });
      expect([countered.status, countered.body.offer.respondsToOfferId]).toEqual([201, made.body.offer.id]);
      const accepted = await inject("POST", `/api/offers/${countered.body.offer.id}/accept`, token("emb-buyer"));
      expect([accepted.status, accepted.body.offer.status]).toEqual([200, "accepted"]);
      const late = await inject("POST", `/api/conversations/${id}/offers`, token("emb-buyer"), { clientId: randomUUID(), amountCents: 2_600, currency: "EUR" });
      expect(late.status).toBe(201);
      await expect
        .poll(async () => {
          const res = await app.inject({ method: "GET", url: `/api/conversations/${id}/messages`, headers: auth(token("emb-buyer")) });
          return (res.json().items as Msg[]).map((m) => m.offer?.status);
        })
        .toEqual(["countered", "accepted", "expired"]);
    } finally {
      await app.close();
      await env.close();
    }
  });
});

describe("cost", () => {
  it("an offer costs 2 statements (the send statement, the unlock), a message 1 (its batch); a decision 1; a counter 4 (the offer is read first for its conversation and side, and its message after, for message:updated)", async () => {
    const env = await createTestEnv();
    const { app } = await startApp(env);
    try {
      const inject = async (method: "POST" | "PUT", url: string, jwt: string, payload?: unknown) => {
        const res = await app.inject({ method, url, headers: auth(jwt), ...(payload === undefined ? {} : { payload: payload as object }) });
        return { status: res.statusCode, body: res.json() };
      };
      await inject("PUT", "/api/internal/users/cost-seller", serviceToken(), { name: "Seller" });
      await inject("PUT", "/api/internal/listings/cost-listing", serviceToken(), { sellerId: "cost-seller", title: "Lamp", priceCents: 3_000, currency: "EUR" });
      const id = (await inject("POST", "/api/conversations", token("cost-buyer"), { listingId: "cost-listing" })).body.id as string;
      // Warm-up: the first message also reads the seller's conversation (conversation:new); users are cached.
      expect((await inject("POST", `/api/conversations/${id}/messages`, token("cost-buyer"), { clientId: randomUUID(), content: "hi" })).status).toBe(201);
      expect((await inject("POST", `/api/conversations/${id}/messages`, token("cost-seller"), { clientId: randomUUID(), content: "hello" })).status).toBe(201);
      const pool = app.chat.db.pool;
      const cost = async (action: () => Promise<{ status: number; body: { offer?: Offer } }>) => {
        // Count from and to a pool with nothing checked out.
        await expect.poll(() => pool.totalCount - pool.idleCount).toBe(0);
        const before = app.chat.db.statementCount();
        const res = await action();
        await expect.poll(() => pool.totalCount - pool.idleCount).toBe(0);
        return { statements: app.chat.db.statementCount() - before, res };
      };
      const made = await cost(() => inject("POST", `/api/conversations/${id}/offers`, token("cost-buyer"), { clientId: randomUUID(), amountCents: 2_000, currency: "EUR" }));
      expect([made.res.status, made.statements]).toEqual([201, 2]);
      const countered = await cost(() => inject("POST", `/api/offers/${made.res.body.offer!.id}/counter`, token("cost-seller"), { clientId: randomUUID(), amountCents: 2_500 }));
      expect([countered.res.status, countered.statements]).toEqual([201, 4]);
      const accepted = await cost(() => inject("POST", `/api/offers/${countered.res.body.offer!.id}/accept`, token("cost-buyer")));
      expect([accepted.res.status, accepted.statements]).toEqual([200, 1]);
      const text = await cost(() => inject("POST", `/api/conversations/${id}/messages`, token("cost-buyer"), { clientId: randomUUID(), content: "deal" }));
      expect([text.res.status, text.statements]).toEqual([201, 1]);
    } finally {
      await app.close();
      await env.close();
    }
  });
});
