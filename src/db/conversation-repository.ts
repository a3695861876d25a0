// Conversation queries. A conversation page is one statement: conversation, listing, both users,
// the caller's read pointer, both participants' pointers and the last message (with attachments
// and reactions) come back together.
import type pg from "pg";
import type { ConversationKind, ListingStatus } from "../contract/shapes.js";
import { MESSAGE_COLUMNS, iso, toMessageRecord, type MessageRow } from "./message-sql.js";
import type { ConversationRecord } from "./records.js";
import type { ConversationLock } from "./message-repository.js";
import { ACTOR_SQL, VISIBLE_SQL } from "./access-sql.js";

/**
 * A conversation as caller $1 sees it (their read pointer: their own, or the team's for an admin
 * in a support conversation, see access-sql.ts); `admin` is the SQL of the caller's admin flag.
 */
const VIEW_SELECT = (admin: string) => `
  SELECT c.id, c.kind::text AS kind, c.buyer_id, c.seller_id, c.last_seq, c.created_at, c.updated_at, c.last_activity_at,
         p.last_read_seq, p.system_skipped,
         (SELECT json_agg(json_build_object('userId', r.user_id, 'lastReadSeq', r.last_read_seq, 'lastReadAt', r.last_read_at)
                          ORDER BY r.role)
          FROM participants r WHERE r.conversation_id = c.id) AS reads,
         l.id AS listing_id, l.title, l.image_url, l.price_cents, l.currency, l.status::text AS status,
         b.name AS buyer_name, b.avatar_url AS buyer_avatar, b.response_time_seconds AS buyer_response_time,
         s.name AS seller_name, s.avatar_url AS seller_avatar, s.response_time_seconds AS seller_response_time,
         lm.message AS last_message
  FROM conversations c
  JOIN participants p ON p.conversation_id = c.id AND p.user_id = ${ACTOR_SQL("$1", admin)}
  LEFT JOIN listings l ON l.id = c.listing_id
  JOIN users b ON b.id = c.buyer_id
  JOIN users s ON s.id = c.seller_id
  LEFT JOIN LATERAL (
    SELECT row_to_json(x) AS message FROM (
      SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.conversation_id = c.id AND m.seq = c.last_seq
    ) x
  ) lm ON true`;

/** The seller sees a conversation from its first message on (API.md, "Opening a conversation"). */
const VISIBLE_TO_CALLER = `(c.buyer_id = $1 OR (c.seller_id = $1 AND c.last_seq > 0))`;

/** The support conversations of the admin inbox, as the team sees them ($1 = the team's id). */
export interface SupportFilter {
  limit: number;
  after?: { activityAt: Date; id: string };
}

interface ConversationRow {
  id: string;
  kind: ConversationKind;
  buyer_id: string;
  seller_id: string;
  last_seq: number;
  created_at: Date;
  updated_at: Date;
  last_activity_at: Date;
  last_read_seq: number;
  /** The caller's system messages above their pointer that are not unread for them (participant-repository.ts). */
  system_skipped: number;
  /** lastReadAt as json_build_object renders a timestamptz (ISO 8601 with the session's offset). */
  reads: { userId: string; lastReadSeq: number; lastReadAt: string | null }[];
  /** The listing's columns are null for support conversations. */
  listing_id: string | null;
  title: string;
  image_url: string | null;
  price_cents: number | null;
  currency: string | null;
  status: ListingStatus;
  buyer_name: string | null;
  buyer_avatar: string | null;
  buyer_response_time: number | null;
  seller_name: string | null;
  seller_avatar: string | null;
  seller_response_time: number | null;
  last_message: MessageRow | null;
}

export interface ListFilter {
  limit: number;
  role?: "buyer" | "seller";
  q?: string;
  after?: { activityAt: Date; id: string };
}

export interface ListingForOpening {
  id: string;
  sellerId: string;
  status: ListingStatus;
  blocked: boolean;
  existingId: string | null;
}

export class ConversationRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * One conversation as seen by `userId`, or null when it is not theirs to see. Pass the lock
   * when holding one: the read then runs on the locked connection instead of waiting for a second
   * one from a pool that other senders may hold.
   */
  async findForUser(userId: string, conversationId: string, via?: ConversationLock, admin = false): Promise<ConversationRecord | null> {
    const { rows } = await (via?.client ?? this.pool).query<ConversationRow>(
      `${VIEW_SELECT("$3")} WHERE c.id = $2 AND ${VISIBLE_SQL("$1", "$3")}`,
      [userId, conversationId, admin],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** The caller's conversations, latest activity first, keyset-paginated on (activity, id). */
  async listForUser(
    userId: string,
    filter: ListFilter,
  ): Promise<ConversationPage> {
    const params: unknown[] = [userId];
    const where = [VISIBLE_TO_CALLER, "(p.hidden_at_seq IS NULL OR c.last_seq > p.hidden_at_seq)"];
    if (filter.role === "buyer") where.push("c.buyer_id = $1");
    if (filter.role === "seller") where.push("c.seller_id = $1");
    if (filter.q) {
      params.push(`%${filter.q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`);
      const q = `$${params.length}`;
      where.push(
        `(l.title ILIKE ${q} OR (CASE WHEN c.buyer_id = $1 THEN s.name ELSE b.name END) ILIKE ${q})`,
      );
    }
    if (filter.after) {
      params.push(filter.after.activityAt, filter.after.id);
      where.push(`(c.last_activity_at, c.id) < ($${params.length - 1}, $${params.length}::uuid)`);
    }
    params.push(filter.limit + 1);
    const { rows } = await this.pool.query<ConversationRow>(
      `${VIEW_SELECT("false")} WHERE ${where.join(" AND ")}
       ORDER BY c.last_activity_at DESC, c.id DESC LIMIT $${params.length}`,
      params,
    );
    return toPage(rows, filter.limit);
  }

  /**
   * The admin inbox: support conversations with a message, latest activity first, as the team
   * (`teamId`, their seller) sees them. Served by the seller's activity index: every support
   * conversation has the same seller.
   */
  async listSupport(teamId: string, filter: SupportFilter): Promise<ConversationPage> {
    const params: unknown[] = [teamId];
    const where = ["c.seller_id = $1", "c.kind = 'support'", "c.last_seq > 0"];
    if (filter.after) {
      params.push(filter.after.activityAt, filter.after.id);
      where.push(`(c.last_activity_at, c.id) < ($${params.length - 1}, $${params.length}::uuid)`);
    }
    params.push(filter.limit + 1);
    const { rows } = await this.pool.query<ConversationRow>(
      `${VIEW_SELECT("false")} WHERE ${where.join(" AND ")}
       ORDER BY c.last_activity_at DESC, c.id DESC LIMIT $${params.length}`,
      params,
    );
    return toPage(rows, filter.limit);
  }

  /**
   * Get-or-create `userId`'s support conversation with the team (`team`: its user row is written
   * here too, so its name follows SUPPORT_NAME) in one statement; one per user (a partial unique
   * index). Null when the user does not exist.
   */
  async openSupport(userId: string, team: { id: string; name: string }): Promise<{ id: string; created: boolean } | null> {
    const { rows } = await this.pool.query<{ id: string; created: boolean }>(
      `WITH target AS (
         SELECT id FROM users WHERE id = $1
       ), team AS (
         INSERT INTO users (id, name) SELECT $2, $3 FROM target
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name WHERE users.name IS DISTINCT FROM EXCLUDED.name
       ), inserted AS (
         INSERT INTO conversations (kind, listing_id, buyer_id, seller_id)
         SELECT 'support', NULL, id, $2 FROM target
         ON CONFLICT (buyer_id) WHERE kind = 'support' DO NOTHING
         RETURNING id
       ), members AS (
         INSERT INTO participants (conversation_id, user_id, role)
         SELECT id, $1, 'buyer'::participant_role FROM inserted
         UNION ALL SELECT id, $2, 'seller'::participant_role FROM inserted
       )
       SELECT id, true AS created FROM inserted
       UNION ALL
       SELECT c.id, false AS created FROM conversations c
       WHERE c.buyer_id = $1 AND c.kind = 'support' AND NOT EXISTS (SELECT 1 FROM inserted)`,
      [userId, team.id, team.name],
    );
    if (rows[0]) return rows[0];
    // No row: an unknown user, or a concurrent open committed after this statement's snapshot
    // (the insert did nothing, the fallback could not see it yet). A new statement tells which.
    const { rows: existing } = await this.pool.query<{ id: string }>(
      `SELECT id FROM conversations WHERE buyer_id = $1 AND kind = 'support'`,
      [userId],
    );
    return existing[0] ? { id: existing[0].id, created: false } : null;
  }

  /** What opening a conversation about a listing needs to know, in one statement. */
  async listingForOpening(buyerId: string, listingId: string): Promise<ListingForOpening | null> {
    const { rows } = await this.pool.query<{
      id: string;
      seller_id: string;
      status: ListingStatus;
      blocked: boolean;
      existing_id: string | null;
    }>(
      `SELECT l.id, l.seller_id, l.status::text AS status,
              EXISTS (SELECT 1 FROM blocks k
                      WHERE (k.blocker_id = $1 AND k.blocked_id = l.seller_id)
                         OR (k.blocker_id = l.seller_id AND k.blocked_id = $1)) AS blocked,
              (SELECT c.id FROM conversations c
               WHERE c.listing_id = l.id AND c.buyer_id = $1 AND c.seller_id = l.seller_id) AS existing_id
       FROM listings l WHERE l.id = $2`,
      [buyerId, listingId],
    );
    const row = rows[0];
    return row
      ? { id: row.id, sellerId: row.seller_id, status: row.status, blocked: row.blocked, existingId: row.existing_id }
      : null;
  }

  /**
   * Creates the conversation and both participant rows in one statement. Returns the id and
   * whether this call created it (a concurrent open of the same conversation returns the other's).
   */
  async create(listingId: string, buyerId: string, sellerId: string): Promise<{ id: string; created: boolean }> {
    const { rows } = await this.pool.query<{ id: string; created: boolean }>(
      `WITH inserted AS (
         INSERT INTO conversations (listing_id, buyer_id, seller_id) VALUES ($1, $2, $3)
         ON CONFLICT (listing_id, buyer_id, seller_id) DO NOTHING
         RETURNING id
       ), members AS (
         INSERT INTO participants (conversation_id, user_id, role)
         SELECT id, $2, 'buyer'::participant_role FROM inserted
         UNION ALL SELECT id, $3, 'seller'::participant_role FROM inserted
       )
       SELECT id, true AS created FROM inserted
       UNION ALL
       SELECT id, false AS created FROM conversations
       WHERE listing_id = $1 AND buyer_id = $2 AND seller_id = $3 AND NOT EXISTS (SELECT 1 FROM inserted)`,
      [listingId, buyerId, sellerId],
    );
    if (rows[0]) return rows[0];
    // A concurrent open committed the row after this statement took its snapshot: the insert did
    // nothing and the fallback SELECT could not see it yet. A new statement sees it.
    const { rows: existing } = await this.pool.query<{ id: string }>(
      `SELECT id FROM conversations WHERE listing_id = $1 AND buyer_id = $2 AND seller_id = $3`,
      [listingId, buyerId, sellerId],
    );
    return { id: existing[0]!.id, created: false };
  }

  /** Hides the conversation for one participant until a newer message arrives. */
  async hide(userId: string, conversationId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE participants p SET hidden_at_seq = c.last_seq
       FROM conversations c
       WHERE p.conversation_id = c.id AND c.id = $2 AND p.user_id = $1 AND ${VISIBLE_TO_CALLER}`,
      [userId, conversationId],
    );
    return (rowCount ?? 0) > 0;
  }
}

export interface ConversationPage {
  items: ConversationRecord[];
  last: { activityAt: Date; id: string } | null;
  more: boolean;
}

function toPage(rows: ConversationRow[], limit: number): ConversationPage {
  const page = rows.slice(0, limit);
  const lastRow = page.at(-1);
  return {
    items: page.map(toRecord),
    last: lastRow ? { activityAt: lastRow.last_activity_at, id: lastRow.id } : null,
    more: rows.length > limit,
  };
}

function toRecord(row: ConversationRow): ConversationRecord {
  return {
    id: row.id,
    kind: row.kind,
    buyerId: row.buyer_id,
    sellerId: row.seller_id,
    listing:
      row.listing_id === null
        ? null
        : {
            id: row.listing_id,
            title: row.title,
            imageUrl: row.image_url,
            priceCents: row.price_cents,
            currency: row.currency,
            status: row.status,
          },
    buyer: { id: row.buyer_id, name: row.buyer_name, avatarUrl: row.buyer_avatar, responseTimeSeconds: row.buyer_response_time },
    seller: { id: row.seller_id, name: row.seller_name, avatarUrl: row.seller_avatar, responseTimeSeconds: row.seller_response_time },
    lastMessage: row.last_message ? toMessageRecord(row.last_message) : null,
    lastSeq: row.last_seq,
    unreadCount: Math.max(0, row.last_seq - row.last_read_seq - row.system_skipped),
    reads: (row.reads ?? []).map((r) => ({
      userId: r.userId,
      lastReadSeq: r.lastReadSeq,
      lastReadAt: r.lastReadAt === null ? null : iso(r.lastReadAt),
    })),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.last_activity_at),
  };
}
