// Presence queries: who shares a conversation with whom ("contacts"), and last-seen times.
// Two users are contacts once a conversation between them has a message: before that the seller
// does not see the conversation (API.md, "Opening a conversation"), so nor does presence. A block
// in either direction ends it.
import type pg from "pg";

/** Rows per last-seen UPDATE: a node restarting with many sockets writes a few statements, not thousands. */
const LAST_SEEN_CHUNK = 1000;

export class PresenceRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Each user's contacts, most recent conversation first, at most `limit` each, in one statement.
   * Both halves walk the (buyer|seller, last_activity_at) indexes and stop at `limit`.
   */
  async contactsOf(userIds: readonly string[], limit: number): Promise<Map<string, string[]>> {
    const result = new Map<string, string[]>(userIds.map((id) => [id, []]));
    if (userIds.length === 0) return result;
    const { rows } = await this.pool.query<{ user_id: string; contact: string }>(
      `SELECT u.id AS user_id, x.contact
       FROM unnest($1::text[]) AS u(id)
       CROSS JOIN LATERAL (
         SELECT y.contact FROM (
           (SELECT c.seller_id AS contact, c.last_activity_at FROM conversations c
            WHERE c.buyer_id = u.id AND c.last_seq > 0 ORDER BY c.last_activity_at DESC LIMIT $2)
           UNION ALL
           (SELECT c.buyer_id, c.last_activity_at FROM conversations c
            WHERE c.seller_id = u.id AND c.last_seq > 0 ORDER BY c.last_activity_at DESC LIMIT $2)
         ) y
         WHERE y.contact <> u.id
           -- A block, either way, hides presence both ways.
           AND NOT EXISTS (SELECT 1 FROM blocks k WHERE (k.blocker_id = u.id AND k.blocked_id = y.contact)
                                                    OR (k.blocker_id = y.contact AND k.blocked_id = u.id))
         GROUP BY y.contact ORDER BY max(y.last_activity_at) DESC LIMIT $2
       ) x`,
      [userIds, limit],
    );
    for (const row of rows) result.get(row.user_id)?.push(row.contact);
    return result;
  }

  /**
   * Of `userIds`, those whose presence `viewerId` may see (themselves and their contacts), with
   * the stored last-seen time.
   */
  async visibleTo(viewerId: string, userIds: readonly string[]): Promise<Map<string, Date | null>> {
    const { rows } = await this.pool.query<{ id: string; last_seen_at: Date | null }>(
      `SELECT u.id, u.last_seen_at FROM users u
       WHERE u.id = ANY($2::text[])
         AND (u.id = $1 OR (EXISTS (
           SELECT 1 FROM conversations c
           WHERE c.last_seq > 0
             AND ((c.buyer_id = $1 AND c.seller_id = u.id) OR (c.seller_id = $1 AND c.buyer_id = u.id)))
           AND NOT EXISTS (SELECT 1 FROM blocks k WHERE (k.blocker_id = $1 AND k.blocked_id = u.id)
                                                    OR (k.blocker_id = u.id AND k.blocked_id = $1))))`,
      [viewerId, userIds],
    );
    return new Map(rows.map((r) => [r.id, r.last_seen_at]));
  }

  /** Records last-seen times in as few statements as possible; never moves one backwards. */
  async saveLastSeen(entries: readonly { userId: string; at: Date }[]): Promise<void> {
    for (let i = 0; i < entries.length; i += LAST_SEEN_CHUNK) {
      const chunk = entries.slice(i, i + LAST_SEEN_CHUNK);
      await this.pool.query(
        `UPDATE users u SET last_seen_at = GREATEST(COALESCE(u.last_seen_at, v.at), v.at)
         FROM unnest($1::text[], $2::timestamptz[]) AS v(id, at)
         WHERE u.id = v.id`,
        [chunk.map((e) => e.userId), chunk.map((e) => e.at)],
      );
    }
  }
}
