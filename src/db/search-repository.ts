// Full-text search over the messages of a user's conversations (GET /api/search), one statement a
// page. The index is prisma/migrations/*_search_index: a GIN index on
// to_tsvector('simple', content) for messages not unsent; the WHERE clause below repeats that
// exact expression and predicate, or PostgreSQL would not use it.
import { ACTOR_SQL } from "./access-sql.js";
import type pg from "pg";
import { MESSAGE_COLUMNS, toMessageRecord, type MessageRow } from "./message-sql.js";
import type { MessageRecord } from "./records.js";

/** Marks around each match in `highlight`, chosen from Unicode's private use area (see HIGHLIGHT_SQL). */
export const MATCH_START = "\uE000";
export const MATCH_END = "\uE001";

export interface SearchFilter {
  userId: string;
  /** Admins see masked contact details as sent (chat/message-visibility.ts); others only the messages they sent. */
  admin: boolean;
  /** websearch_to_tsquery syntax: words, "quoted phrases", or, -excluded. */
  text: string;
  /** The query's last word matches as a prefix too (search as you type: "bik" finds "bike"). */
  prefixLastWord: boolean;
  /** One conversation only (the caller must be allowed to see it: checked by the caller). */
  conversationId?: string;
  /** Keyset: results strictly older than this (created_at, id). */
  before?: { createdAt: Date; id: string };
  limit: number;
}

export interface SearchHit {
  message: MessageRecord;
  /** The content (or a window of it) with each match between MATCH_START and MATCH_END. */
  highlight: string;
}

/**
 * The tsquery of $2, its last lexeme made a prefix when $3 is true. The rewrite works on the
 * tsquery's text form, where the last lexeme is the final quoted item ('bike' → 'bike':*), so
 * "red bike" → 'red' & 'bike':*, "bike or ca" → 'bike' | 'ca':* and a phrase keeps its order.
 */
const QUERY_SQL = `(CASE WHEN $3::boolean
   THEN regexp_replace(websearch_to_tsquery('simple'::regconfig, $2)::text, '''$', ''':*')::tsquery
   ELSE websearch_to_tsquery('simple'::regconfig, $2) END)`;

/**
 * The text the searcher may see: a message's masked version (contact details hidden) unless the
 * searcher sent it or is an admin. Matching and highlighting both use it, so a search for a hidden
 * phone number neither finds the message nor shows the number in the highlight.
 */
const VISIBLE_TEXT = `(CASE WHEN m.masked_content IS NULL OR m.sender_id = $1 OR $4::boolean THEN m.content ELSE m.masked_content END)`;

/**
 * Short messages come back whole with every match marked; long ones as up to three windows of
 * about 30 words around matches. The marks are private-use characters removed from the content
 * first, so content cannot forge them; the service turns them into <mark> after escaping.
 */
const HIGHLIGHT_SQL = `CASE WHEN char_length(${VISIBLE_TEXT}) <= 300
  THEN ts_headline('simple'::regconfig, translate(${VISIBLE_TEXT}, E'\\uE000\\uE001', ''), ${QUERY_SQL},
                   E'StartSel=\\uE000, StopSel=\\uE001, HighlightAll=true')
  ELSE ts_headline('simple'::regconfig, translate(${VISIBLE_TEXT}, E'\\uE000\\uE001', ''), ${QUERY_SQL},
                   E'StartSel=\\uE000, StopSel=\\uE001, MaxWords=30, MinWords=12, ShortWord=0, MaxFragments=3, FragmentDelimiter=" … "')
  END`;

export class SearchRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Matching messages, newest first, `limit` + 1 of them so the caller knows whether there is a
   * next page. Only conversations the user takes part in; without a conversationId, not those the
   * user hid (as the conversation list does), with one the user asked for it by name (as history).
   * The headline is computed for the page's rows only, after the limit.
   */
  async search(f: SearchFilter): Promise<SearchHit[]> {
    const params: unknown[] = [f.userId, f.text, f.prefixLastWord, f.admin];
    const where = [
      "m.deleted_at IS NULL",
      // The indexed expression finds candidates; masked messages are then matched on what the
      // searcher may see (most messages have no masked text and skip the second test).
      `to_tsvector('simple'::regconfig, m.content) @@ ${QUERY_SQL}`,
      `(m.masked_content IS NULL OR m.sender_id = $1 OR $4::boolean OR to_tsvector('simple'::regconfig, m.masked_content) @@ ${QUERY_SQL})`,
    ];
    if (f.conversationId) {
      params.push(f.conversationId);
      where.push(`m.conversation_id = $${params.length}::uuid`);
    } else {
      where.push("(p.hidden_at_seq IS NULL OR c.last_seq > p.hidden_at_seq)");
    }
    if (f.before) {
      params.push(f.before.createdAt, f.before.id);
      where.push(`(m.created_at, m.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(f.limit + 1);
    // Across conversations: the caller's own. In one named conversation an admin may also search
    // a support conversation, as the team (access-sql.ts); the inbox, not search, lists those.
    const participant = f.conversationId ? ACTOR_SQL("$1", "$4") : "$1";
    const { rows } = await this.pool.query<MessageRow & { highlight: string }>(
      `WITH hits AS (
         SELECT m.id FROM messages m
         JOIN conversations c ON c.id = m.conversation_id
         JOIN participants p ON p.conversation_id = m.conversation_id AND p.user_id = ${participant}
         WHERE ${where.join(" AND ")}
         ORDER BY m.created_at DESC, m.id DESC
         LIMIT $${params.length}
       )
       SELECT ${MESSAGE_COLUMNS}, ${HIGHLIGHT_SQL} AS highlight
       FROM hits h JOIN messages m ON m.id = h.id
       ORDER BY m.created_at DESC, m.id DESC`,
      params,
    );
    return rows.map((row) => ({ message: toMessageRecord(row), highlight: row.highlight }));
  }
}
