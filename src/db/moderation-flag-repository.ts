// moderation_flags: every detection (contact details, the moderation hook's answers, spam), for
// GET /api/admin/flags. Flags of a send are written by the send statement itself
// (message-repository.ts, the `flagged` CTE); this file holds the other writes (a split number
// found after the statement, a spam refusal) and the admin's list.
import type pg from "pg";
import { MESSAGE_COLUMNS, iso, toMessageRecord, type MessageRow } from "./message-sql.js";
import type { MessageRecord } from "./records.js";

export type FlagRule = "contact_info" | "moderation" | "spam";
export type FlagAction = "masked" | "flagged" | "blocked" | "recorded" | "rate_limited";

/** A span of the text as sent: UTF-16 offsets, end exclusive, with what it held. */
export interface FlagSpan {
  start: number;
  end: number;
  kind: string;
  text: string;
}

/** One moderation_flags row to write with a message. */
export interface FlagDraft {
  rule: FlagRule;
  /** The action when the contact policy applies; contact_info rows become "recorded" when it does not. */
  action: FlagAction;
  kinds: string[];
  spans: FlagSpan[];
  reason: string | null;
}

/** What a message becomes, decided before it is stored. */
export interface ModerationEffect {
  flags: string[];
  /** The content as others see it; null when nothing is hidden. */
  masked: string | null;
  block: boolean;
}

/**
 * The send statement's moderation parameter: the effect while the contact policy applies (listing
 * active, no offer accepted) and otherwise — only the statement knows which — plus the rows to
 * record. Null (nearly every message): nothing found.
 */
export interface SendModeration {
  applied: ModerationEffect;
  otherwise: ModerationEffect;
  flags: FlagDraft[];
}

export interface FlagRecord {
  id: string;
  rule: FlagRule;
  action: FlagAction;
  conversationId: string;
  conversation: { id: string; listingId: string | null; buyerId: string; sellerId: string } | null;
  senderId: string;
  messageId: string | null;
  message: MessageRecord | null;
  kinds: string[];
  spans: FlagSpan[];
  reason: string | null;
  createdAt: string;
}

export class ModerationFlagRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * A number completed over several messages, found once the message was stored: masks or flags
   * it and records it, before the message is published (on the offer path, on the connection that
   * holds the conversation's lock; null: any pooled connection). Returns the message as it is now.
   */
  async amendStored(
    client: pg.PoolClient | null,
    messageId: string,
    effect: { flags: string[]; masked: string | null },
    flag: FlagDraft & { conversationId: string; senderId: string },
  ): Promise<MessageRecord> {
    const { rows } = await (client ?? this.pool).query<MessageRow>(
      `WITH f AS (
         INSERT INTO moderation_flags (rule, action, conversation_id, sender_id, message_id, kinds, spans, reason)
         VALUES ($4::flag_rule, $5::flag_action, $6, $7, $1, $8::text[], $9::jsonb, $10)
       ), u AS (
         UPDATE messages SET flags = $2::text[], masked_content = $3 WHERE id = $1 RETURNING *
       )
       SELECT ${MESSAGE_COLUMNS} FROM u m`,
      [messageId, effect.flags, effect.masked, flag.rule, flag.action, flag.conversationId, flag.senderId, flag.kinds, JSON.stringify(flag.spans), flag.reason],
    );
    return toMessageRecord(rows[0]!);
  }

  /** A spam refusal (nothing stored), recorded only when the sender takes part in the conversation. */
  async recordRefusal(conversationId: string, senderId: string, rule: FlagRule, reason: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO moderation_flags (rule, action, conversation_id, sender_id, reason)
       SELECT $3::flag_rule, 'rate_limited', c.id, $2, $4 FROM conversations c
       WHERE c.id = $1::uuid AND (c.buyer_id = $2 OR c.seller_id = $2)`,
      [conversationId, senderId, rule, reason],
    );
  }

  /** Newest first, keyset on (created_at, id); `limit` + 1 rows so the caller knows if there is more. */
  async list(opts: { limit: number; rule?: FlagRule; before?: { createdAt: Date; id: string } }): Promise<FlagRecord[]> {
    const params: unknown[] = [opts.limit + 1];
    const where: string[] = [];
    if (opts.rule) {
      params.push(opts.rule);
      where.push(`f.rule = $${params.length}::flag_rule`);
    }
    if (opts.before) {
      params.push(opts.before.createdAt, opts.before.id);
      where.push(`(f.created_at, f.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    const { rows } = await this.pool.query<FlagRow>(
      `SELECT f.id, f.rule::text AS rule, f.action::text AS action, f.conversation_id, f.sender_id, f.message_id,
              COALESCE(f.kinds, '{}') AS kinds, f.spans, f.reason, f.created_at,
              c.listing_id, c.buyer_id, c.seller_id,
              (SELECT row_to_json(x) FROM (SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.id = f.message_id) x) AS message
       FROM moderation_flags f LEFT JOIN conversations c ON c.id = f.conversation_id
       ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY f.created_at DESC, f.id DESC LIMIT $1`,
      params,
    );
    return rows.map((r) => ({
      id: r.id,
      rule: r.rule,
      action: r.action,
      conversationId: r.conversation_id,
      conversation: r.buyer_id === null ? null : { id: r.conversation_id, listingId: r.listing_id, buyerId: r.buyer_id, sellerId: r.seller_id! },
      senderId: r.sender_id,
      messageId: r.message_id,
      message: r.message ? toMessageRecord(r.message) : null,
      kinds: r.kinds,
      spans: r.spans,
      reason: r.reason,
      createdAt: iso(r.created_at),
    }));
  }
}

interface FlagRow {
  id: string;
  rule: FlagRule;
  action: FlagAction;
  conversation_id: string;
  sender_id: string;
  message_id: string | null;
  kinds: string[];
  spans: FlagSpan[];
  reason: string | null;
  created_at: Date;
  listing_id: string | null;
  buyer_id: string | null;
  seller_id: string | null;
  message: MessageRow | null;
}
