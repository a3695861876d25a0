// Attachment rows: recording uploads, the facts a download is authorized on, and the sweep of
// uploads that were never sent. Claiming an upload for a message happens in the send statement
// (message-repository.ts insert()), unsend deletes rows there too.
import type pg from "pg";
import type { StoredAttachment } from "./records.js";

export type NewAttachment = StoredAttachment;

/** What a download is decided on: the uploader and, once sent, the conversation's two people. */
export interface DownloadRecord {
  id: string;
  uploaderId: string;
  kind: "image" | "file";
  mimeType: string;
  name: string;
  storageKey: string;
  thumbnailKey: string | null;
  /** Null while the upload is not part of a message. */
  participants: { buyerId: string; sellerId: string; support: boolean } | null;
}

export class AttachmentRepository {
  constructor(private readonly pool: pg.Pool) {}

  /** Records one request's uploads in one statement. */
  async insertMany(uploaderId: string, rows: readonly NewAttachment[]): Promise<void> {
    await this.pool.query(
      `INSERT INTO attachments (id, uploader_id, kind, mime_type, name, size, width, height, storage_key, thumbnail_key)
       SELECT u.id, $1, u.kind, u.mime_type, u.name, u.size, u.width, u.height, u.storage_key, u.thumbnail_key
       FROM unnest($2::uuid[], $3::attachment_kind[], $4::text[], $5::text[], $6::int[], $7::int[], $8::int[], $9::text[], $10::text[])
            AS u(id, kind, mime_type, name, size, width, height, storage_key, thumbnail_key)`,
      [
        uploaderId,
        rows.map((r) => r.id),
        rows.map((r) => r.kind),
        rows.map((r) => r.mimeType),
        rows.map((r) => r.name),
        rows.map((r) => r.size),
        rows.map((r) => r.width),
        rows.map((r) => r.height),
        rows.map((r) => r.storageKey),
        rows.map((r) => r.thumbnailKey),
      ],
    );
  }

  async findForDownload(id: string): Promise<DownloadRecord | null> {
    const { rows } = await this.pool.query<{
      id: string;
      uploader_id: string;
      kind: "image" | "file";
      mime_type: string;
      name: string;
      storage_key: string;
      thumbnail_key: string | null;
      buyer_id: string | null;
      seller_id: string | null;
      support: boolean | null;
    }>(
      `SELECT a.id, a.uploader_id, a.kind::text AS kind, a.mime_type, a.name, a.storage_key, a.thumbnail_key,
              c.buyer_id, c.seller_id, c.kind = 'support' AS support
       FROM attachments a
       LEFT JOIN messages m ON m.id = a.message_id AND m.deleted_at IS NULL
       LEFT JOIN conversations c ON c.id = m.conversation_id
       WHERE a.id = $1`,
      [id],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      id: row.id,
      uploaderId: row.uploader_id,
      kind: row.kind,
      mimeType: row.mime_type,
      name: row.name,
      storageKey: row.storage_key,
      thumbnailKey: row.thumbnail_key,
      participants:
        row.buyer_id && row.seller_id ? { buyerId: row.buyer_id, sellerId: row.seller_id, support: row.support === true } : null,
    };
  }

  /**
   * Deletes up to `limit` uploads older than `olderThanMs` (database clock) that no message uses,
   * returning their storage keys. SKIP LOCKED lets several nodes sweep at once without waiting on
   * or double-deleting each other's rows, and skips a row that a send is claiming right now.
   */
  async deleteOrphans(olderThanMs: number, limit: number): Promise<{ count: number; keys: string[] }> {
    const { rows } = await this.pool.query<{ storage_key: string; thumbnail_key: string | null }>(
      `DELETE FROM attachments WHERE id IN (
         SELECT id FROM attachments
         WHERE message_id IS NULL AND created_at < now() - make_interval(secs => $1::double precision / 1000)
         ORDER BY created_at
         LIMIT $2
         FOR UPDATE SKIP LOCKED
       ) AND message_id IS NULL
       RETURNING storage_key, thumbnail_key`,
      [olderThanMs, limit],
    );
    const keys: string[] = [];
    for (const r of rows) {
      keys.push(r.storage_key);
      if (r.thumbnail_key) keys.push(r.thumbnail_key);
    }
    return { count: rows.length, keys };
  }
}
