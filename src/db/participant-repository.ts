// Read pointers and unread counts. Unread is last_seq - last_read_seq - system_skipped: sending
// moves the sender's own pointer to their message, so everything above a pointer is the other
// party's, except a listing's system messages, which count for the buyer only (the seller's
// system_skipped counts those above their pointer; README, "Listing changes in the thread").
import type pg from "pg";
import { ACTOR_SQL, BLOCKED_SQL, VISIBLE_SQL } from "./access-sql.js";

export interface ReadResult {
  moved: boolean;
  /** Whose pointer: the caller's, or the team's for an admin in a support conversation. */
  userId: string;
  seq: number;
  readAt: Date | null;
  buyerId: string;
  sellerId: string;
}

export class ParticipantRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Moves the pointer forward to min(seq, lastSeq) (lastSeq when seq is null) in one statement.
   * Null when the conversation is not the user's; `moved: false` when it was a no-op.
   */
  async markRead(userId: string, conversationId: string, seq: number | null, admin = false): Promise<ReadResult | null> {
    const { rows } = await this.pool.query<{
      moved: boolean;
      actor: string;
      seq: number;
      read_at: Date | null;
      buyer_id: string;
      seller_id: string;
    }>(
      `WITH target AS (
         SELECT c.id, c.buyer_id, c.seller_id, c.last_seq, LEAST(COALESCE($3::int, c.last_seq), c.last_seq) AS seq,
                ${ACTOR_SQL("$2", "$4")} AS actor
         FROM conversations c
         WHERE c.id = $1 AND ${VISIBLE_SQL("$2", "$4")}
       ), moved AS (
         UPDATE participants p SET last_read_seq = t.seq, last_read_at = now(),
                -- Zero once read to the end (nearly always); otherwise the system messages still above.
                system_skipped = CASE WHEN p.system_skipped = 0 OR t.seq >= t.last_seq THEN 0 ELSE (
                  SELECT count(*)::int FROM messages x
                  WHERE x.conversation_id = t.id AND x.seq > t.seq AND x.sender_id IS NULL AND x.type = 'system') END
         FROM target t
         WHERE p.conversation_id = t.id AND p.user_id = t.actor AND t.seq > p.last_read_seq
         RETURNING p.last_read_seq, p.last_read_at
       )
       SELECT (SELECT count(*) FROM moved) > 0 AS moved,
              COALESCE((SELECT last_read_seq FROM moved), t.seq) AS seq,
              (SELECT last_read_at FROM moved) AS read_at, t.buyer_id, t.seller_id, t.actor
       FROM target t`,
      [conversationId, userId, seq, admin],
    );
    const row = rows[0];
    return row
      ? { moved: row.moved, userId: row.actor, seq: row.seq, readAt: row.read_at, buyerId: row.buyer_id, sellerId: row.seller_id }
      : null;
  }

  /** Conversations with unread messages for the user (hidden ones excluded), from pointers only. */
  async unread(userId: string): Promise<{ conversationId: string; unreadCount: number }[]> {
    const { rows } = await this.pool.query<{ id: string; unread: number }>(
      `SELECT c.id, c.last_seq - p.last_read_seq - p.system_skipped AS unread
       FROM participants p JOIN conversations c ON c.id = p.conversation_id
       WHERE p.user_id = $1 AND c.last_seq > p.last_read_seq + p.system_skipped
         AND (p.hidden_at_seq IS NULL OR c.last_seq > p.hidden_at_seq)
       ORDER BY c.last_activity_at DESC`,
      [userId],
    );
    return rows.map((r) => ({ conversationId: r.id, unreadCount: r.unread }));
  }

  /** The conversation and seq of a message the user may see, for message:read { messageId }. */
  async messagePosition(userId: string, messageId: string, admin = false): Promise<{ conversationId: string; seq: number } | null> {
    const { rows } = await this.pool.query<{ conversation_id: string; seq: number }>(
      `SELECT m.conversation_id, m.seq FROM messages m JOIN conversations c ON c.id = m.conversation_id
       WHERE m.id = $1 AND ${VISIBLE_SQL("$2", "$3")}`,
      [messageId, userId, admin],
    );
    const row = rows[0];
    return row ? { conversationId: row.conversation_id, seq: row.seq } : null;
  }

  /** Whether the user may see the conversation (history reads). */
  async canSee(userId: string, conversationId: string, admin = false): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `SELECT 1 FROM conversations c WHERE c.id = $1 AND ${VISIBLE_SQL("$2", "$3")}`,
      [conversationId, userId, admin],
    );
    return (rowCount ?? 0) > 0;
  }

  /**
   * The conversation's two people, when the user may see it and they have not blocked each other
   * (typing indicators: nothing live passes between a blocked pair); null otherwise.
   */
  async canTalk(userId: string, conversationId: string, admin = false): Promise<{ buyerId: string; sellerId: string } | null> {
    const { rows } = await this.pool.query<{ buyer_id: string; seller_id: string }>(
      `SELECT c.buyer_id, c.seller_id FROM conversations c
       WHERE c.id = $1 AND ${VISIBLE_SQL("$2", "$3")} AND NOT ${BLOCKED_SQL}`,
      [conversationId, userId, admin],
    );
    const row = rows[0];
    return row ? { buyerId: row.buyer_id, sellerId: row.seller_id } : null;
  }
}
