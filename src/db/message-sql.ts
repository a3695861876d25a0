// The one SQL projection of a message (with its attachments and reactions as JSON arrays) and its
// mapping to a MessageRecord. History, send, edit, conversation lists and the report queue all
// select messages through it.
import type { OfferView, ReactionView, SystemEventView } from "../contract/shapes.js";
import type { AttachmentRecord, MessageRecord } from "./records.js";

/**
 * A message's reactions: one entry per distinct emoji, in the order each emoji was first used,
 * reactors in the order they reacted.
 */
export const REACTIONS_SQL = (messageId: string) => `COALESCE((
    SELECT json_agg(json_build_object('emoji', r.emoji, 'count', r.n, 'userIds', r.user_ids) ORDER BY r.first_at, r.emoji)
    FROM (SELECT x.emoji, count(*)::int AS n, json_agg(x.user_id ORDER BY x.created_at, x.user_id) AS user_ids,
                 min(x.created_at) AS first_at
          FROM message_reactions x WHERE x.message_id = ${messageId} GROUP BY x.emoji) r
  ), '[]'::json)`;

/**
 * The offer of a message of alias `m` as JSON (null for other types: CASE evaluates the subquery
 * for offer messages only).
 */
export const OFFER_JSON = `CASE WHEN m.type = 'offer' THEN (
    SELECT json_build_object(
      'id', o.id, 'amountCents', o.amount_cents, 'currency', o.currency, 'status', o.status,
      'byUserId', o.by_user_id, 'respondsToOfferId', o.responds_to_offer_id, 'expiresAt', o.expires_at)
    FROM offers o WHERE o.message_id = m.id) END`;

/** Columns of message alias `m`, attachments aggregated in position order, then reactions. */
export const MESSAGE_COLUMNS = `
  m.id, m.conversation_id, m.seq, m.sender_id, m.client_id, m.type::text AS type, m.content,
  m.reply_to_id, m.created_at, m.edited_at, m.deleted_at, COALESCE(m.flags, '{}') AS flags, m.masked_content, m.system, ${OFFER_JSON} AS offer,
  COALESCE((
    SELECT json_agg(json_build_object(
      'id', a.id, 'kind', a.kind, 'mimeType', a.mime_type, 'name', a.name, 'size', a.size,
      'width', a.width, 'height', a.height, 'hasThumbnail', a.thumbnail_key IS NOT NULL
    ) ORDER BY a.position)
    FROM attachments a WHERE a.message_id = m.id
  ), '[]'::json) AS attachments,
  ${REACTIONS_SQL("m.id")} AS reactions`;

export interface MessageRow {
  id: string;
  conversation_id: string;
  seq: number;
  sender_id: string | null;
  client_id: string;
  type: MessageRecord["type"];
  content: string | null;
  reply_to_id: string | null;
  created_at: Date | string;
  edited_at: Date | string | null;
  deleted_at: Date | string | null;
  flags: string[] | null;
  masked_content: string | null;
  attachments: AttachmentRecord[];
  reactions: ReactionView[];
  /** Absent from projections that cannot hold them (a plain send's own result). */
  system?: SystemEventView | null;
  offer?: (Omit<OfferView, "expiresAt"> & { expiresAt: Date | string }) | null;
}

export function toMessageRecord(row: MessageRow): MessageRecord {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    seq: row.seq,
    senderId: row.sender_id,
    clientId: row.client_id,
    type: row.type,
    content: row.content,
    attachments: row.attachments,
    replyToId: row.reply_to_id,
    createdAt: iso(row.created_at),
    editedAt: row.edited_at === null ? null : iso(row.edited_at),
    deletedAt: row.deleted_at === null ? null : iso(row.deleted_at),
    reactions: row.reactions,
    flags: row.flags ?? [],
    maskedContent: row.masked_content,
    ...(row.offer ? { offer: { ...row.offer, expiresAt: iso(row.offer.expiresAt) } } : {}),
    ...(row.system ? { system: row.system } : {}),
  };
}

/** Timestamps arrive as Date from columns and as strings from json_build_object. */
export function iso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
