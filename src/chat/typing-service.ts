// Typing indicators: who may signal typing in a conversation, and the signal itself, which leaves
// as a bus event so that every node (the receivers' included) sees it and can expire it.
import type { Principal } from "../auth/token-verifier.js";
import { notFound } from "../errors/errors.js";
import type { PublishEvent } from "./events.js";
import { uuid } from "./schemas.js";

export interface TypingServiceDeps {
  /** Whether the user may see the conversation (the same rule as reading its history). */
  canSee: (userId: string, conversationId: string) => Promise<boolean>;
  publish: PublishEvent;
  onBackgroundError: (err: unknown, what: string) => void;
}

export class TypingService {
  constructor(private readonly deps: TypingServiceDeps) {}

  /** not_found for an unknown or foreign conversation, as everywhere else (no probing of ids). */
  async authorize(caller: Principal, conversationId: string): Promise<void> {
    if (!uuid.safeParse(conversationId).success || !(await this.deps.canSee(caller.userId, conversationId))) {
      throw notFound("Conversation not found");
    }
  }

  /**
   * Relays a signal the caller was authorized for (authorize() first; the socket layer remembers
   * the answer). Best effort: a failed publish is logged, and receivers expire the indicator.
   */
  async signal(caller: Principal, conversationId: string, typing: boolean): Promise<void> {
    await this.deps
      .publish({ type: "typing", conversationId, userId: caller.userId, typing })
      .catch((err) => this.deps.onBackgroundError(err, "publish typing"));
  }
}
