// Sellers' response time (API.md: User.responseTimeSeconds; README, "Response time"): the median
// of the waits from a buyer's first unanswered message to the seller's next message, over the
// last 30 days, kept by the send statement and the sample sweep. Clocks are controlled by
// writing the times a wait started and samples were taken; nothing sleeps.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { auth, makeConversation, useTestApp } from "./support/app.js";
import { ResponseTimeRepository } from "../src/db/response-time-repository.js";

const fixture = useTestApp();

async function send(jwt: string, conversationId: string, content: string) {
  const res = await fixture.send(jwt, conversationId, { clientId: randomUUID(), content });
  expect(res.statusCode).toBe(201);
  return res.json() as { seq: number };
}

const sql = <T extends Record<string, unknown>>(text: string, values: unknown[] = []) =>
  fixture.app.chat.db.pool.query<T>(text, values).then((r) => r.rows);

/** The wait started `seconds` ago (as if the buyer's message had been sent then). */
const backdateWait = (conversationId: string, seconds: number) =>
  sql(`UPDATE conversations SET buyer_waiting_since = now() - $2::int * interval '1 second' WHERE id = $1`, [conversationId, seconds]);

const waitingSince = async (conversationId: string) =>
  (await sql<{ w: Date | null }>(`SELECT buyer_waiting_since AS w FROM conversations WHERE id = $1`, [conversationId]))[0]!.w;

const samples = async (sellerId: string) =>
  (await sql<{ seconds: number }>(`SELECT seconds FROM response_samples WHERE seller_id = $1 ORDER BY id`, [sellerId])).map((r) => r.seconds);

/** The seller's responseTimeSeconds as the buyer sees it in the conversation. */
async function shown(buyerToken: string, conversationId: string): Promise<number | null> {
  const res = await fixture.app.inject({ method: "GET", url: `/api/conversations/${conversationId}`, headers: auth(buyerToken) });
  expect(res.statusCode).toBe(200);
  return res.json().seller.responseTimeSeconds;
}

describe("response time", () => {
  it("is null until the seller answers; the wait runs from the buyer's first unanswered message to the seller's next one", async () => {
    const c = await makeConversation(fixture.app);
    expect(await shown(c.buyerToken, c.conversationId)).toBeNull();
    await send(c.buyerToken, c.conversationId, "hello?");
    expect(await waitingSince(c.conversationId)).not.toBeNull();
    await backdateWait(c.conversationId, 600);
    // A second buyer message while waiting does not restart the wait.
    await send(c.buyerToken, c.conversationId, "anyone?");
    expect(Math.round((Date.now() - (await waitingSince(c.conversationId))!.getTime()) / 1000)).toBeGreaterThanOrEqual(600);
    await send(c.sellerToken, c.conversationId, "yes, here");
    expect(await waitingSince(c.conversationId)).toBeNull();
    expect(await samples(c.seller)).toEqual([600]);
    expect(await shown(c.buyerToken, c.conversationId)).toBe(600);
    // The seller's further messages answer nothing: no sample.
    await send(c.sellerToken, c.conversationId, "still available");
    expect(await samples(c.seller)).toEqual([600]);
    // The buyer's own view of themselves: they sell nothing, so null.
    const res = await fixture.app.inject({ method: "GET", url: `/api/conversations/${c.conversationId}`, headers: auth(c.sellerToken) });
    expect(res.json().buyer.responseTimeSeconds).toBeNull();
  });

  it("is the median over the seller's conversations, samples older than 30 days left out", async () => {
    const c1 = await makeConversation(fixture.app);
    const seller = c1.seller;
    // Earlier samples of this seller: two recent ones, and one 31 days old that must not count.
    await sql(
      `INSERT INTO response_samples (seller_id, seconds, responded_at) VALUES ($1, 100, now() - interval '1 day'),
         ($1, 200, now() - interval '2 days'), ($1, 99999, now() - interval '31 days')`,
      [seller],
    );
    await send(c1.buyerToken, c1.conversationId, "price?");
    await backdateWait(c1.conversationId, 300);
    await send(c1.sellerToken, c1.conversationId, "as listed");
    // Median of 100, 200, 300.
    expect(await shown(c1.buyerToken, c1.conversationId)).toBe(200);
    // A second conversation of the same seller (another listing, another buyer): 100, 200, 300, 1000 → 250.
    const other = await makeConversation(fixture.app);
    await sql(`UPDATE listings SET seller_id = $1 WHERE id = $2`, [seller, other.listingId]);
    await sql(`UPDATE conversations SET seller_id = $1 WHERE id = $2`, [seller, other.conversationId]);
    await sql(`UPDATE participants SET user_id = $1 WHERE conversation_id = $2 AND role = 'seller'`, [seller, other.conversationId]);
    await send(other.buyerToken, other.conversationId, "hi");
    await backdateWait(other.conversationId, 1000);
    await send(c1.sellerToken, other.conversationId, "hello");
    expect(await shown(other.buyerToken, other.conversationId)).toBe(250);
    expect(await shown(c1.buyerToken, c1.conversationId)).toBe(250);
  });

  it("the sweep drops samples older than 30 days and recomputes: a seller with none left is unknown again", async () => {
    const c = await makeConversation(fixture.app);
    await send(c.buyerToken, c.conversationId, "hi");
    await backdateWait(c.conversationId, 42);
    await send(c.sellerToken, c.conversationId, "hello");
    expect(await shown(c.buyerToken, c.conversationId)).toBe(42);
    // Time passes: the sample is now 31 days old.
    await sql(`UPDATE response_samples SET responded_at = now() - interval '31 days' WHERE seller_id = $1`, [c.seller]);
    const d = await makeConversation(fixture.app);
    await send(d.buyerToken, d.conversationId, "hi");
    await backdateWait(d.conversationId, 10);
    await sql(`INSERT INTO response_samples (seller_id, seconds, responded_at) VALUES ($1, 50, now() - interval '40 days')`, [d.seller]);
    await send(d.sellerToken, d.conversationId, "hello");
    expect(await shown(d.buyerToken, d.conversationId)).toBe(10);

    expect(await new ResponseTimeRepository(fixture.app.chat.db.background).sweep()).toBeGreaterThanOrEqual(2);
    expect(await samples(c.seller)).toEqual([]);
    expect(await shown(c.buyerToken, c.conversationId)).toBeNull();
    // A seller who keeps recent samples keeps their median.
    expect(await samples(d.seller)).toEqual([10]);
    expect(await shown(d.buyerToken, d.conversationId)).toBe(10);
  });
});
