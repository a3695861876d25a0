// Offer transitions and expiry (README, "Offers"). Making and countering an offer are sends (the
// send statement's offer variant in message-repository.ts takes the conversation's next seq);
// accepting, declining, withdrawing and expiring change an offer that already has its message, so
// they are one statement each here: a conditional UPDATE (… WHERE status = 'pending'), the
// conversation's offer_accepted_at for an accept (it lifts the contact-detail policy), and the
// webhook outbox row, committed together or not at all.
import type pg from "pg";
import type { ListingStatus } from "../contract/shapes.js";
import { MESSAGE_COLUMNS, toMessageRecord, type MessageRow } from "./message-sql.js";
import { OFFER_VIEW_SQL, OFFER_WEBHOOK_DATA_SQL, type OfferDecision } from "./offer-sql.js";
import type { MessageRecord } from "./records.js";

/** An offer as its participants' rules need it, read with its conversation. */
export interface OfferFacts {
  id: string;
  conversationId: string;
  messageId: string;
  byUserId: string;
  status: string;
  currency: string;
  /** Still before expiresAt (a pending offer past it is about to be expired by the sweep). */
  live: boolean;
  buyerId: string;
  sellerId: string;
  listingStatus: ListingStatus | null;
  blocked: boolean;
}

export interface OfferChange {
  /** The offer's message with the offer as it is after the change. */
  message: MessageRecord;
  buyerId: string;
  sellerId: string;
}

/** The offer of `o` with its conversation (alias c), listing (l) and whether the pair is blocked. */
const FACTS_SQL = `o.id, o.conversation_id, o.message_id, o.by_user_id, o.status::text AS status, o.currency,
  o.expires_at > now() AS live, c.buyer_id, c.seller_id, l.status::text AS listing_status,
  EXISTS (SELECT 1 FROM blocks k WHERE (k.blocker_id = c.buyer_id AND k.blocked_id = c.seller_id)
                                   OR (k.blocker_id = c.seller_id AND k.blocked_id = c.buyer_id)) AS blocked`;

interface FactsRow {
  id: string;
  conversation_id: string;
  message_id: string;
  by_user_id: string;
  status: string;
  currency: string;
  live: boolean;
  buyer_id: string;
  seller_id: string;
  listing_status: ListingStatus | null;
  blocked: boolean;
}

/**
 * A decision: `x` is the offer as the caller may see it (participants only, the seller once the
 * conversation has a message, as for every read), `u` the conditional update, which re-checks the
 * row under its lock: of two decisions racing on two nodes, the second finds it no longer pending
 * and changes nothing. An accept also needs the listing active and the pair not blocked, and sets
 * the conversation's offer_accepted_at in the same statement. The result carries the offer's
 * message with the offer as updated (the message columns read the statement's snapshot, from
 * before the update, so the offer is taken from u).
 */
const DECIDE_SQL = `
WITH x AS (
  SELECT ${FACTS_SQL}
  FROM offers o JOIN conversations c ON c.id = o.conversation_id LEFT JOIN listings l ON l.id = c.listing_id
  WHERE o.id = $1 AND (c.buyer_id = $2 OR (c.seller_id = $2 AND c.last_seq > 0))
), u AS (
  UPDATE offers o SET status = $3::offer_status, decided_at = now()
  FROM x
  WHERE o.id = x.id AND o.status = 'pending' AND o.expires_at > now()
    AND (CASE WHEN $3 = 'withdrawn' THEN o.by_user_id = $2 ELSE o.by_user_id <> $2 END)
    AND ($3 <> 'accepted' OR (x.listing_status = 'active' AND NOT x.blocked))
  RETURNING o.*
), accepted AS (
  UPDATE conversations c SET offer_accepted_at = COALESCE(c.offer_accepted_at, now())
  FROM u WHERE c.id = u.conversation_id AND u.status = 'accepted'
), w AS (
  INSERT INTO webhook_deliveries (type, payload)
  SELECT 'offer.' || u.status::text, ${OFFER_WEBHOOK_DATA_SQL("u", "c", "$2")}
  FROM u JOIN conversations c ON c.id = u.conversation_id
  WHERE $4
)
SELECT x.*, (SELECT ${OFFER_VIEW_SQL("u")} FROM u) AS updated,
       (SELECT row_to_json(r) FROM (SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.id = x.message_id) r) AS message
FROM x`;

/**
 * The expiry sweep: due pending offers, claimed with SKIP LOCKED so that nodes sweeping at the
 * same moment split them (and an offer being accepted right now is left to its accept), moved to
 * expired by the same conditional update as a decision, with their offer.expired outbox rows.
 */
const EXPIRE_SQL = `
WITH due AS (
  SELECT id FROM offers WHERE status = 'pending' AND expires_at <= now()
  ORDER BY expires_at LIMIT $1
  FOR UPDATE SKIP LOCKED
), u AS (
  UPDATE offers o SET status = 'expired', decided_at = now()
  FROM due WHERE o.id = due.id AND o.status = 'pending'
  RETURNING o.*
), w AS (
  INSERT INTO webhook_deliveries (type, payload)
  SELECT 'offer.expired', ${OFFER_WEBHOOK_DATA_SQL("u", "c", "NULL::text")}
  FROM u JOIN conversations c ON c.id = u.conversation_id
  WHERE $2
)
SELECT c.buyer_id, c.seller_id, ${OFFER_VIEW_SQL("u")} AS updated, ${MESSAGE_COLUMNS}
FROM u JOIN conversations c ON c.id = u.conversation_id JOIN messages m ON m.id = u.message_id
ORDER BY u.expires_at`;

type OfferJson = NonNullable<MessageRow["offer"]>;

export class OfferRepository {
  constructor(
    private readonly pool: pg.Pool,
    /** Write offer.* webhook outbox rows (WEBHOOK_URL is set). */
    private readonly webhooks: boolean,
    /** The expiry sweep's pool: background work stays off the request pool (Database.background). */
    private readonly sweepPool: pg.Pool = pool,
  ) {}

  /** The offer, if `userId` is one of its conversation's participants (and may see it). */
  async find(offerId: string, userId: string): Promise<OfferFacts | null> {
    const { rows } = await this.pool.query<FactsRow>(
      `SELECT ${FACTS_SQL}
       FROM offers o JOIN conversations c ON c.id = o.conversation_id LEFT JOIN listings l ON l.id = c.listing_id
       WHERE o.id = $1 AND (c.buyer_id = $2 OR (c.seller_id = $2 AND c.last_seq > 0))`,
      [offerId, userId],
    );
    return rows[0] ? toFacts(rows[0]) : null;
  }

  /**
   * Accept, decline or withdraw. Null: not an offer the caller may see. Otherwise the offer as it
   * was (`before`, to tell why nothing changed) and, when this call changed it, the change.
   */
  async decide(
    offerId: string,
    userId: string,
    to: OfferDecision,
  ): Promise<{ before: OfferFacts; change: OfferChange | null } | null> {
    const { rows } = await this.pool.query<FactsRow & { updated: OfferJson | null; message: MessageRow }>(DECIDE_SQL, [
      offerId,
      userId,
      to,
      this.webhooks,
    ]);
    const row = rows[0];
    if (!row) return null;
    const before = toFacts(row);
    if (!row.updated) return { before, change: null };
    return { before, change: { message: withOffer(row.message, row.updated), buyerId: row.buyer_id, sellerId: row.seller_id } };
  }

  /** Expires up to `limit` due offers (any node; each offer once). */
  async expireDue(limit: number): Promise<OfferChange[]> {
    const { rows } = await this.sweepPool.query<MessageRow & { buyer_id: string; seller_id: string; updated: OfferJson }>(EXPIRE_SQL, [
      limit,
      this.webhooks,
    ]);
    return rows.map((row) => ({ message: withOffer(row, row.updated), buyerId: row.buyer_id, sellerId: row.seller_id }));
  }

  /** An offer's message as it is now, through `db` (the connection that just changed it). */
  async messageOf(db: pg.ClientBase | pg.Pool, offerId: string): Promise<MessageRecord | null> {
    const { rows } = await db.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.id = (SELECT message_id FROM offers WHERE id = $1)`,
      [offerId],
    );
    return rows[0] ? toMessageRecord(rows[0]) : null;
  }
}

function withOffer(row: MessageRow, offer: OfferJson): MessageRecord {
  return toMessageRecord({ ...row, offer });
}

function toFacts(row: FactsRow): OfferFacts {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    messageId: row.message_id,
    byUserId: row.by_user_id,
    status: row.status,
    currency: row.currency,
    live: row.live,
    buyerId: row.buyer_id,
    sellerId: row.seller_id,
    listingStatus: row.listing_status,
    blocked: row.blocked,
  };
}
