// The delivery side of the webhook outbox (webhook_deliveries; rows are written by
// webhook-outbox.ts and, for message.unread, by the send statement in message-repository.ts).
//
// A row is pending while delivered_at and failed_at are both null; due_at is when it may next be
// tried. Claiming a row bumps `attempts` and pushes due_at past the attempt's timeout (a lease):
// other nodes skip it meanwhile, and if this node dies mid-attempt the row becomes due again, so
// every row is delivered at least once and never twice by one attempt.
import type pg from "pg";
import { MESSAGE_COLUMNS, iso, toMessageRecord, type MessageRow } from "./message-sql.js";
import type { MessageRecord } from "./records.js";

export interface ClaimedWebhook {
  id: string;
  type: string;
  /** The envelope's data; for message.unread a reference the worker renders (UnreadReference). */
  payload: unknown;
  /** Attempts so far, this one included. */
  attempts: number;
  createdAt: string;
}

/** What the send statement stores for message.unread (message-repository.ts, UNREAD_WEBHOOK_CTE). */
export interface UnreadReference {
  userId: string;
  conversationId: string;
  messageId: string;
}

export interface UnreadState {
  message: MessageRecord;
  /** The recipient's read pointer has not reached the message. */
  unread: boolean;
}

export type AttemptOutcome =
  | { kind: "delivered" }
  | { kind: "retry"; error: string; delayMs: number }
  | { kind: "failed"; error: string }
  /** Not attempted after all (the node is shutting down): due again at once, the attempt not counted. */
  | { kind: "released" };

export class WebhookRepository {
  constructor(private readonly pool: pg.Pool) {}

  /** Up to `limit` due rows, oldest first, leased to this node for `leaseMs`. */
  async claim(limit: number, leaseMs: number): Promise<ClaimedWebhook[]> {
    const { rows } = await this.pool.query<{ id: string; type: string; payload: unknown; attempts: number; created_at: Date }>(
      `UPDATE webhook_deliveries d
       SET attempts = d.attempts + 1, due_at = now() + $2::int * interval '1 millisecond'
       WHERE d.id IN (
         SELECT id FROM webhook_deliveries
         WHERE delivered_at IS NULL AND failed_at IS NULL AND due_at <= now()
         ORDER BY due_at
         LIMIT $1
         FOR UPDATE SKIP LOCKED
       )
       RETURNING d.id, d.type, d.payload, d.attempts, d.created_at`,
      [limit, leaseMs],
    );
    return rows
      .map((r) => ({ id: r.id, type: r.type, payload: r.payload, attempts: r.attempts, createdAt: iso(r.created_at) }))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /**
   * For message.unread rows (by row id): the message as it is now and whether the recipient has
   * still not read it. Rows whose message or conversation is gone are absent.
   */
  async unreadStates(rows: { id: string; ref: UnreadReference }[]): Promise<Map<string, UnreadState>> {
    const result = new Map<string, UnreadState>();
    if (rows.length === 0) return result;
    const { rows: found } = await this.pool.query<MessageRow & { row_id: string; last_read_seq: number }>(
      `SELECT r.row_id, p.last_read_seq, ${MESSAGE_COLUMNS}
       FROM unnest($1::uuid[], $2::text[], $3::uuid[]) AS r(row_id, user_id, message_id)
       JOIN messages m ON m.id = r.message_id
       JOIN participants p ON p.conversation_id = m.conversation_id AND p.user_id = r.user_id`,
      [rows.map((r) => r.id), rows.map((r) => r.ref.userId), rows.map((r) => r.ref.messageId)],
    );
    for (const row of found) {
      result.set(row.row_id, { message: toMessageRecord(row), unread: row.last_read_seq < row.seq });
    }
    return result;
  }

  /** Rows that need no webhook after all (read in time, recipient online, message unsent). */
  async discard(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.pool.query("DELETE FROM webhook_deliveries WHERE id = ANY($1::uuid[])", [ids]);
  }

  async finish(id: string, outcome: AttemptOutcome): Promise<void> {
    switch (outcome.kind) {
      case "delivered":
        await this.pool.query("UPDATE webhook_deliveries SET delivered_at = now() WHERE id = $1", [id]);
        return;
      case "retry":
        await this.pool.query(
          `UPDATE webhook_deliveries SET due_at = now() + $2::int * interval '1 millisecond', last_error = $3 WHERE id = $1`,
          [id, Math.round(outcome.delayMs), outcome.error],
        );
        return;
      case "failed":
        await this.pool.query("UPDATE webhook_deliveries SET failed_at = now(), last_error = $2 WHERE id = $1", [id, outcome.error]);
        return;
      case "released":
        await this.pool.query(
          "UPDATE webhook_deliveries SET due_at = now(), attempts = GREATEST(attempts - 1, 0) WHERE id = $1",
          [id],
        );
        return;
    }
  }

  /** Rows neither delivered nor given up (pending, due or not): the outbox's backlog. */
  async backlog(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM webhook_deliveries WHERE delivered_at IS NULL AND failed_at IS NULL",
    );
    return rows[0]!.n;
  }

  /** Deletes up to `limit` rows delivered more than `retentionMs` ago; returns how many. */
  async prune(retentionMs: number, limit: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      `DELETE FROM webhook_deliveries WHERE id IN (
         SELECT id FROM webhook_deliveries
         WHERE delivered_at IS NOT NULL AND delivered_at < now() - $1::bigint * interval '1 millisecond'
         LIMIT $2
       )`,
      [retentionMs, limit],
    );
    return rowCount ?? 0;
  }
}
