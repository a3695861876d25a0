// Reactions on messages (README, "Reactions"). Written under the conversation's ordering lock
// (MessageRepository.lockMessage), which makes the "at most 20 distinct emoji" check exact across
// nodes and keeps the message:reactions events of one conversation in order.
import type { ReactionView } from "../contract/shapes.js";
import type { ConversationLock } from "./message-repository.js";
import { REACTIONS_SQL } from "./message-sql.js";

export interface ReactionChange {
  /** Whether a row was added or removed (false: it was already so, nothing to announce). */
  changed: boolean;
  /** Refused: the emoji would be one distinct emoji too many. */
  overLimit: boolean;
}

export class ReactionRepository {
  /**
   * Adds (`on`) or removes one user's emoji on a message, in one statement: an emoji new to the
   * message is added only while it has fewer than `maxDistinct` distinct ones.
   */
  async apply(
    lock: ConversationLock,
    change: { messageId: string; userId: string; emoji: string; on: boolean; maxDistinct: number },
  ): Promise<ReactionChange> {
    const { rows } = await lock.client.query<{ changed: boolean; over_limit: boolean }>(
      `WITH cur AS (
         SELECT count(DISTINCT emoji)::int AS n, COALESCE(bool_or(emoji = $3), false) AS has
         FROM message_reactions WHERE message_id = $1
       ), ins AS (
         INSERT INTO message_reactions (message_id, user_id, emoji)
         SELECT $1, $2, $3 FROM cur WHERE $4::boolean AND (cur.has OR cur.n < $5)
         ON CONFLICT DO NOTHING RETURNING 1
       ), del AS (
         DELETE FROM message_reactions WHERE NOT $4::boolean AND message_id = $1 AND user_id = $2 AND emoji = $3
         RETURNING 1
       )
       SELECT EXISTS (SELECT 1 FROM ins) OR EXISTS (SELECT 1 FROM del) AS changed,
              ($4::boolean AND NOT cur.has AND cur.n >= $5) AS over_limit
       FROM cur`,
      [change.messageId, change.userId, change.emoji, change.on, change.maxDistinct],
    );
    const row = rows[0]!;
    return { changed: row.changed, overLimit: row.over_limit };
  }

  /** The message's reactions as every view shows them (message-sql.ts). */
  async forMessage(lock: ConversationLock, messageId: string): Promise<ReactionView[]> {
    const { rows } = await lock.client.query<{ reactions: ReactionView[] }>(`SELECT ${REACTIONS_SQL("$1::uuid")} AS reactions`, [messageId]);
    return rows[0]!.reactions;
  }
}
