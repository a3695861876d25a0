// Reactions (API.md, "Reactions"): one function for PUT/DELETE /api/messages/:id/reactions/:emoji
// and the socket event message:react. The participants of the message's conversation react (in a
// support conversation every admin too, under their own id); the change reaches both sides as
// message:reactions with the message's whole reaction list, so a client never merges deltas.
import type { Principal } from "../auth/token-verifier.js";
import type { MessageRepository } from "../db/message-repository.js";
import type { ReactionRepository } from "../db/reaction-repository.js";
import { AppError, notFound, invalid, listingDeleted, messageUnsent } from "../errors/errors.js";
import type { PublishEvent } from "./events.js";
import { isOneEmoji } from "./emoji.js";
import { parse, reactInput } from "./schemas.js";

/** Distinct emoji a message may carry (API.md): the 21st new one is validation_failed. */
export const MAX_DISTINCT_REACTIONS = 20;

export interface ReactionServiceDeps {
  messages: Pick<MessageRepository, "lockMessage">;
  reactions: ReactionRepository;
  publish: PublishEvent;
  /** Throws rate_limited when the user reacts too fast (RATE_LIMIT_REACTIONS). */
  checkRate?: (userId: string) => void;
  onBackgroundError: (err: unknown, what: string) => void;
}

export class ReactionService {
  constructor(private readonly deps: ReactionServiceDeps) {}

  /**
   * Adds (`on: true`) or removes the caller's emoji. Idempotent: adding twice or removing what is
   * not there succeeds and announces nothing. Checked in this order: the input, the rate, the
   * message (not_found when the caller may not see it), then unsent (conflict), blocked pair,
   * read-only conversation (conflict) and the 20-emoji limit (validation_failed).
   */
  async react(caller: Principal, input: unknown): Promise<void> {
    const { messageId, emoji, on } = parse(reactInput, input);
    if (!isOneEmoji(emoji)) throw invalid("emoji: must be exactly one emoji");
    this.deps.checkRate?.(caller.userId);
    const locked = await this.deps.messages.lockMessage(messageId, caller.userId, { anyMessage: false, admin: caller.role === "admin" });
    if (!locked) throw notFound("message");
    const { lock, access } = locked;
    try {
      if (access.message.deletedAt) throw messageUnsent();
      if (access.blocked) throw new AppError("blocked");
      if (access.listingStatus === "deleted") throw listingDeleted();
      const result = await this.deps.reactions.apply(lock, {
        messageId,
        userId: caller.userId,
        emoji,
        on,
        maxDistinct: MAX_DISTINCT_REACTIONS,
      });
      if (result.overLimit) throw invalid(`emoji: a message holds at most ${MAX_DISTINCT_REACTIONS} different emoji`);
      if (!result.changed) return;
      const reactions = await this.deps.reactions.forMessage(lock, messageId);
      // Published under the lock, so two changes of one conversation arrive in the order stored.
      // A failed publish leaves the change stored; history shows it.
      await this.deps
        .publish({
          type: "message.reactions",
          to: [access.buyerId, access.sellerId],
          payload: { messageId, conversationId: access.message.conversationId, reactions },
        })
        .catch((err) => this.deps.onBackgroundError(err, "publish message.reactions"));
    } finally {
      await lock.release().catch((err) => this.deps.onBackgroundError(err, "release conversation lock"));
    }
  }
}
