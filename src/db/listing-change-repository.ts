// Listing changes written into their conversations as system messages (README, "Listing changes
// in the thread"). A price or status change is a listing_changes row, inserted in the PUT's
// transaction (ListingRepository.upsert calls recordChanges), so it is as durable as the listing
// itself. Any node's worker (chat/listing-change-worker.ts) claims the oldest unfinished change of a
// listing with a lease, writes its messages in keyset batches of conversations, and deletes it at
// the end. Exactly one message per conversation and change:
// - the lease is a fencing token: every batch statement writes only while listing_changes.lease_until
//   still holds the value its worker claimed or last renewed (the statement locks that row, so a
//   node whose lease was taken over writes nothing);
// - the batch's messages and the change's cursor commit in one statement, so a node killed midway
//   leaves a cursor that matches what is stored, and the next claimer resumes after it;
// - a system message's client_id is the change id, unique per conversation among system messages
//   (a partial unique index), and the batch skips conversations that already have it.
import type pg from "pg";
import type { ListingStatus, SystemEventView } from "../contract/shapes.js";
import { MESSAGE_COLUMNS, toMessageRecord, type MessageRow } from "./message-sql.js";
import type { MessageRecord } from "./records.js";

/** The same advisory lock key as the single-send statement's (send-sql.ts: offers) and edits'. */
const LOCK_KEY = (idSql: string) => `hashtextextended(${idSql}::text, 0)`;

export interface ClaimedChange {
  id: string;
  listingId: string;
  /** Last conversation id done; null before the first batch. */
  cursor: string | null;
  /** The lease as claimed or last renewed: the fencing token of the next batch (ISO string, ms precision like the column). */
  lease: string;
}

export interface BatchResult {
  /** False when another node holds the change now: nothing was written. */
  leased: boolean;
  lease: string;
  messages: { message: MessageRecord; buyerId: string; sellerId: string }[];
}

export interface ListingBefore {
  priceCents: number | null;
  currency: string | null;
  status: ListingStatus;
}

/** Formats cents the way the system message's text shows them ("1,250.00 EUR"). */
export function formatPrice(cents: number, currency: string | null): string {
  const amount = (cents / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return currency ? `${amount} ${currency}` : amount;
}

/**
 * The system events a listing update announces, price first. A price is announced when the new
 * price is set and differs (a price removed, or only the currency changed, is not: the contract's
 * data holds a `toCents`); a status when it differs.
 */
export function changesOf(before: ListingBefore, after: ListingBefore): { system: SystemEventView; content: string }[] {
  const out: { system: SystemEventView; content: string }[] = [];
  if (after.priceCents !== null && after.priceCents !== before.priceCents) {
    out.push({
      system: { event: "listing.price_changed", data: { fromCents: before.priceCents, toCents: after.priceCents, currency: after.currency } },
      content:
        before.priceCents === null
          ? `Price set to ${formatPrice(after.priceCents, after.currency)}`
          : `Price changed from ${formatPrice(before.priceCents, before.currency)} to ${formatPrice(after.priceCents, after.currency)}`,
    });
  }
  if (after.status !== before.status) {
    out.push({
      system: { event: "listing.status_changed", data: { from: before.status, to: after.status } },
      content: STATUS_TEXT[after.status],
    });
  }
  return out;
}

const STATUS_TEXT: Record<ListingStatus, string> = {
  active: "The listing is available again",
  reserved: "The listing is now reserved",
  sold: "The listing has been sold",
  deleted: "The listing has been deleted",
};

/** Inserts the change rows on the PUT's connection (inside its transaction). */
export async function recordChanges(client: pg.PoolClient, listingId: string, before: ListingBefore, after: ListingBefore): Promise<number> {
  const changes = changesOf(before, after);
  for (const c of changes) {
    await client.query(`INSERT INTO listing_changes (listing_id, event, data, content) VALUES ($1, $2, $3, $4)`, [
      listingId,
      c.system.event,
      JSON.stringify(c.system.data),
      c.content,
    ]);
  }
  return changes.length;
}

/**
 * One batch's write: renews the lease (fencing on the old one), then for each conversation of
 * $2 that had a message when the change was made (its first message is not younger than the
 * change: a conversation opened by a message sent just after the PUT gets no notice of what
 * happened before it) and not yet this change's message: the next seq, the message, the
 * seller's "not unread" count (participants.system_skipped; unread for the buyer only).
 * $1 change id, $2 conversation ids, $3 new cursor, $4 lease ms, $5 lease token.
 */
const BATCH_SQL = `
WITH lease AS (
  UPDATE listing_changes SET cursor = $3::uuid, lease_until = now() + $4::int * interval '1 millisecond'
  WHERE id = $1::uuid AND lease_until = $5::timestamptz
  RETURNING id, event, data, content, lease_until, created_at
), c AS (
  UPDATE conversations SET last_seq = conversations.last_seq + 1, last_activity_at = now(), updated_at = now()
  FROM lease
  WHERE conversations.id = ANY($2::uuid[]) AND conversations.last_seq > 0
    AND EXISTS (SELECT 1 FROM messages f WHERE f.conversation_id = conversations.id AND f.seq = 1 AND f.created_at <= lease.created_at)
    AND NOT EXISTS (SELECT 1 FROM messages x WHERE x.conversation_id = conversations.id AND x.sender_id IS NULL AND x.client_id = $1::uuid)
  RETURNING conversations.id, conversations.last_seq, conversations.last_activity_at, conversations.buyer_id, conversations.seller_id
), m AS (
  INSERT INTO messages (conversation_id, seq, sender_id, client_id, type, content, system, created_at)
  SELECT c.id, c.last_seq, NULL, lease.id, 'system', lease.content,
         jsonb_build_object('event', lease.event, 'data', lease.data), c.last_activity_at
  FROM c, lease
  RETURNING *
), skipped AS (
  UPDATE participants SET system_skipped = participants.system_skipped + 1
  FROM c WHERE participants.conversation_id = c.id AND participants.user_id = c.seller_id
)
SELECT (SELECT to_json(lease_until)#>>'{}' FROM lease) AS lease_until,
       COALESCE((SELECT json_agg(row_to_json(x)) FROM (
         SELECT ${MESSAGE_COLUMNS}, c.buyer_id, c.seller_id FROM m JOIN c ON c.id = m.conversation_id ORDER BY m.conversation_id
       ) x), '[]'::json) AS messages`;

export class ListingChangeRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Claims the oldest change whose lease has run out and that no earlier change of the same
   * listing precedes (a listing's changes are written in order). SKIP LOCKED: nodes polling at
   * once take different rows; the re-check of lease_until under the row lock keeps a row just
   * claimed elsewhere from being claimed again.
   */
  async claim(leaseMs: number): Promise<ClaimedChange | null> {
    const { rows } = await this.pool.query<{ id: string; listing_id: string; cursor: string | null; lease: string }>(
      `UPDATE listing_changes SET lease_until = now() + $1::int * interval '1 millisecond'
       WHERE id = (
         SELECT lc.id FROM listing_changes lc
         WHERE lc.lease_until <= now()
           AND NOT EXISTS (SELECT 1 FROM listing_changes e WHERE e.listing_id = lc.listing_id AND e.position < lc.position)
         ORDER BY lc.position LIMIT 1 FOR UPDATE SKIP LOCKED)
         AND lease_until <= now()
       RETURNING id, listing_id, cursor, to_json(lease_until)#>>'{}' AS lease`,
      [leaseMs],
    );
    const r = rows[0];
    return r ? { id: r.id, listingId: r.listing_id, cursor: r.cursor, lease: r.lease } : null;
  }

  /** The next conversations of the listing (with a message) after the cursor, in id order. */
  async nextConversations(listingId: string, cursor: string | null, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM conversations WHERE listing_id = $1 AND ($2::uuid IS NULL OR id > $2::uuid) AND last_seq > 0
       ORDER BY id LIMIT $3`,
      [listingId, cursor, limit],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Writes one batch under the conversations' advisory locks (taken in id order, one connection,
   * session-level like an offer's: an offer into one of them waits), calls `publish` with what was
   * stored, then unlocks. The UPDATE locks the conversation rows in id order too, as message
   * batches do (db/send-batch-sql.ts), so the two cannot deadlock; delivering nodes keep the seq
   * order of system messages and messages alike (README, "Ordering").
   */
  async writeBatch(
    change: ClaimedChange,
    conversationIds: string[],
    leaseMs: number,
    publish: (messages: BatchResult["messages"]) => Promise<void>,
  ): Promise<BatchResult> {
    const client = await this.pool.connect();
    let locked = false;
    try {
      await client.query(
        `SELECT pg_advisory_lock(${LOCK_KEY("u.id")}) FROM unnest($1::uuid[]) WITH ORDINALITY u(id, n) ORDER BY u.n`,
        [conversationIds],
      );
      locked = true;
      const { rows } = await client.query<{ lease_until: string | null; messages: (MessageRow & { buyer_id: string; seller_id: string })[] }>(
        BATCH_SQL,
        [change.id, conversationIds, conversationIds.at(-1)!, leaseMs, change.lease],
      );
      const row = rows[0]!;
      if (row.lease_until === null) return { leased: false, lease: change.lease, messages: [] };
      const messages = row.messages.map((m) => ({ message: toMessageRecord(m), buyerId: m.buyer_id, sellerId: m.seller_id }));
      if (messages.length > 0) await publish(messages);
      return { leased: true, lease: row.lease_until, messages };
    } finally {
      if (locked) {
        try {
          await client.query(`SELECT pg_advisory_unlock(${LOCK_KEY("u.id")}) FROM unnest($1::uuid[]) u(id)`, [conversationIds]);
          client.release();
        } catch (err) {
          // Destroying the connection ends its session, which releases the locks anyway.
          client.release(err as Error);
        }
      } else {
        client.release();
      }
    }
  }

  /** Deletes a finished change, if this worker still holds it. */
  async finish(change: ClaimedChange): Promise<void> {
    await this.pool.query(`DELETE FROM listing_changes WHERE id = $1 AND lease_until = $2::timestamptz`, [change.id, change.lease]);
  }

  /** Gives a change back (its worker stopped or failed): any node may claim it at once instead of after the lease. */
  async release(change: ClaimedChange): Promise<void> {
    await this.pool.query(`UPDATE listing_changes SET lease_until = now() WHERE id = $1 AND lease_until = $2::timestamptz`, [change.id, change.lease]);
  }

  /** Unfinished changes (metrics and tests). */
  async pending(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM listing_changes`);
    return rows[0]!.n;
  }
}
