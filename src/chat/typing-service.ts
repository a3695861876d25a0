// Typing indicators: who may signal typing in a conversation, and the signal itself, which leaves
// as a bus event for the other participant, so the receivers' nodes see it and can expire it.
import type { Principal } from "../auth/token-verifier.js";
import { notFound } from "../errors/errors.js";
import type { PublishEvent } from "./events.js";
import { uuid } from "./schemas.js";

/** Conversations whose two people are remembered (they never change). */
const PAIRS_REMEMBERED = 10_000;

export interface TypingServiceDeps {
  /**
   * The conversation's two people when the user may see it (the same rule as reading its
   * history) and nothing live passes between them (no block); null otherwise.
   */
  canTalk: (userId: string, conversationId: string, admin: boolean) => Promise<{ buyerId: string; sellerId: string } | null>;
  publish: PublishEvent;
  onBackgroundError: (err: unknown, what: string) => void;
}

export class TypingService {
  /** conversationId → its two people: where a signal goes, without a query per keystroke. */
  private readonly pairs = new Map<string, { buyerId: string; sellerId: string }>();

  constructor(private readonly deps: TypingServiceDeps) {}

  /** not_found for an unknown or foreign conversation, as everywhere else (no probing of ids). */
  async authorize(caller: Principal, conversationId: string): Promise<void> {
    const pair = uuid.safeParse(conversationId).success ? await this.deps.canTalk(caller.userId, conversationId, caller.role === "admin") : null;
    if (!pair) throw notFound("conversation");
    this.remember(conversationId, pair);
  }

  /**
   * Relays a signal the caller was authorized for (authorize() first; the socket layer remembers
   * the answer). Best effort: a failed publish is logged, and receivers expire the indicator.
   */
  async signal(caller: Principal, conversationId: string, typing: boolean): Promise<void> {
    try {
      let pair = this.pairs.get(conversationId);
      if (!pair) {
        // A socket that joined the conversation was authorized by conversation:join instead.
        const found = await this.deps.canTalk(caller.userId, conversationId, caller.role === "admin");
        if (!found) return;
        this.remember(conversationId, (pair = found));
      }
      // An admin typing in a support conversation reaches the user and the other admins (the
      // team's sockets); the relay never shows typists their own indicator.
      const to = [pair.buyerId, pair.sellerId].filter((userId) => userId !== caller.userId);
      await this.deps.publish({ type: "typing", to, conversationId, userId: caller.userId, typing });
    } catch (err) {
      this.deps.onBackgroundError(err, "publish typing");
    }
  }

  private remember(conversationId: string, pair: { buyerId: string; sellerId: string }): void {
    if (this.pairs.has(conversationId)) return;
    if (this.pairs.size >= PAIRS_REMEMBERED) this.pairs.delete(this.pairs.keys().next().value!);
    this.pairs.set(conversationId, pair);
  }
}
