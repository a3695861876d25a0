// The one SQL projection of a message (with its attachments as a JSON array) and its mapping to
// a MessageRecord. History, send, edit and conversation lists all select messages through it.
import type { AttachmentRecord, MessageRecord } from "./records.js";

/** Columns of message alias `m`, attachments aggregated in position order. */
export const MESSAGE_COLUMNS = `
  m.id, m.conversation_id, m.seq, m.sender_id, m.client_id, m.type::text AS type, m.content,
  m.reply_to_id, m.created_at, m.edited_at, m.deleted_at,
  COALESCE((
    SELECT json_agg(json_build_object(
      'id', a.id, 'kind', a.kind, 'mimeType', a.mime_type, 'name', a.name, 'size', a.size,
      'width', a.width, 'height', a.height, 'hasThumbnail', a.thumbnail_key IS NOT NULL
    ) ORDER BY a.position)
    FROM attachments a WHERE a.message_id = m.id
  ), '[]'::json) AS attachments`;

export interface MessageRow {
  id: string;
  conversation_id: string;
  seq: number;
  sender_id: string;
  client_id: string;
  type: MessageRecord["type"];
  content: string | null;
  reply_to_id: string | null;
  created_at: Date | string;
  edited_at: Date | string | null;
  deleted_at: Date | string | null;
  attachments: AttachmentRecord[];
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
  };
}

/** Timestamps arrive as Date from columns and as strings from json_build_object. */
export function iso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
