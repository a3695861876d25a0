// Send, edit, unsend, history and read pointers: one function per action, called by the HTTP
// route and the socket handler alike.
import type { Principal } from "../auth/token-verifier.js";
import type { ConversationRepository } from "../db/conversation-repository.js";
import type { ConversationLock, MessageRepository, SendContext } from "../db/message-repository.js";
import type { ParticipantRepository } from "../db/participant-repository.js";
import { AppError, notFound, invalid, forbidden, conflict, listingDeleted, bannedAccount, messageUnsent } from "../errors/errors.js";
import type { ChatEvent, PublishEvent } from "./events.js";
import type { SendBatcher } from "./send-batcher.js";
import type { Presenter } from "./presenter.js";
import { messageFor, userViewer, viewerOf } from "./message-visibility.js";
import { moderationRefusal, type Review, type SendModerator } from "./send-moderation.js";
import {
  editMessageInput,
  historyQuery,
  messageIdInput,
  parse,
  readInput,
  sendMessageInput,
  uuid,
} from "./schemas.js";
import type { MessagePage, MessageType, MessageView, UnreadSummary } from "../contract/shapes.js";
import { withTimeout } from "../util/with-timeout.js";

export interface MessageServiceDeps {
  messages: MessageRepository;
  /** This node's group commit of sends (send-batcher.ts). */
  batcher: Pick<SendBatcher, "submit">;
  /**
   * Publishes waiting for Redis beyond which sends are answered `unavailable` (PUBLISH_BACKLOG_LIMIT):
   * during a Redis outage a node keeps storing and answering until this many wait to go out.
   */
  publishBacklogLimit: number;
  participants: ParticipantRepository;
  conversations: ConversationRepository;
  presenter: Presenter;
  publish: PublishEvent;
  /** Deletes stored attachment bytes after an unsend (media storage). */
  deleteStoredFiles: (keys: string[]) => Promise<void>;
  onBackgroundError: (err: unknown, what: string) => void;
  /** Called once per newly stored message (metrics). */
  onStored?: () => void;
  /** Throws rate_limited when the sender is over their message rate (README, "Rate limits"). */
  checkSendRate?: (userId: string) => void;
  /** Set (WEBHOOK_DELAY_MS) when webhooks are on: each message also writes the recipient's message.unread outbox row. */
  unreadWebhookDelayMs?: number;
  /** Contact details, the moderation hook and the spam rule (chat/send-moderation.ts). */
  moderator: SendModerator;
}

export class MessageService {
  constructor(private readonly deps: MessageServiceDeps) {}

  /**
   * Sends a message. `created: false` means this clientId was already stored: the stored message
   * is returned and nothing is delivered again.
   *
   * The send joins this node's next batch (send-batcher.ts); once the batch is committed the
   * sender is answered and the message is published in the background, holding no lock: the
   * delivering nodes keep the seq order (realtime/seq-orderer.ts, README "Ordering").
   */
  async send(caller: Principal, input: unknown): Promise<{ message: MessageView; created: boolean }> {
    const req = parse(sendMessageInput, input);
    const attachmentIds = req.attachmentIds ?? [];
    const content = req.content ?? null;
    if ((content === null || content.trim() === "") && attachmentIds.length === 0) {
      throw invalid("content: a message needs text or attachments");
    }
    this.deps.checkSendRate?.(caller.userId);
    if (this.publishing.size >= this.deps.publishBacklogLimit) {
      // Redis is not taking publishes: stop storing what could not be delivered live either.
      throw new AppError("unavailable", "Messages cannot be delivered right now; retry shortly", 1_000);
    }
    const { presenter, moderator } = this.deps;
    const text = content === null || content.trim() === "" ? null : content;
    const review = await moderator.reviewSend(caller, {
      conversationId: req.conversationId,
      clientId: req.clientId,
      text,
      attachmentIds,
      replyToId: req.replyToId ?? null,
    });
    const { outcome, merged } = await this.deps.batcher.submit({
      conversationId: req.conversationId,
      senderId: caller.userId,
      admin: caller.role === "admin",
      clientId: req.clientId,
      content: text,
      replyToId: req.replyToId ?? null,
      attachmentIds,
      moderation: review.plan,
      unreadWebhookDelayMs: this.deps.unreadWebhookDelayMs ?? null,
    });
    if (outcome.kind === "not_found") throw notFound("conversation");
    if (outcome.kind === "refused") throw refusal(outcome.context, attachmentIds, review);
    // Stored before, or by another attempt of this clientId queued meanwhile: answered as a repeat.
    if (outcome.kind === "existing" || merged) return { message: presenter.message(outcome.message, viewerOf(caller)), created: false };
    const { context } = outcome;
    const stored = await moderator.afterStore(null, outcome.message, context, review);
    this.deps.onStored?.();
    const shared = presenter.shared(stored);
    const recipientId = recipientOf(caller.userId, context.buyerId, context.sellerId);
    // A conversation's first message opens it for the other side: the seller of a listing
    // conversation (the buyer writes first there), the team or the user of a support one.
    const opened =
      stored.seq === 1 ? { userId: recipientId, conversation: await this.conversationFor(recipientId, stored.conversationId) } : null;
    this.publishInBackground({
      type: "message.created",
      to: [context.buyerId, context.sellerId],
      ...shared,
      recipientId,
      opened,
      previousAt: outcome.previousAt?.toISOString() ?? null,
    });
    return { message: messageFor(shared, viewerOf(caller)), created: true };
  }

  /**
   * Messages of a conversation that a delivering node is missing (seq-orderer.ts): those with
   * afterSeq < seq < beforeSeq, stored at or after `since`, as the events their senders published.
   */
  async missing(conversationId: string, afterSeq: number, beforeSeq: number, since: Date | null) {
    const found = await this.deps.messages.between(conversationId, afterSeq, beforeSeq, since);
    const events: Extract<ChatEvent, { type: "message.created" }>[] = [];
    for (const { message, buyerId, sellerId } of found) {
      const recipientId = recipientOf(message.senderId, buyerId, sellerId);
      const opened =
        message.seq === 1 ? { userId: recipientId, conversation: await this.conversationFor(recipientId, conversationId) } : null;
      events.push({ type: "message.created", to: [buyerId, sellerId], ...this.deps.presenter.shared(message), recipientId, opened });
    }
    return events;
  }

  async edit(caller: Principal, input: unknown): Promise<MessageView> {
    const req = parse(editMessageInput, input);
    return this.withMessage(caller, req.messageId, false, async (lock, access) => {
      // An admin edits their own messages in support conversations like anyone else.
      const { message } = access;
      if (message.senderId !== caller.userId) throw forbidden("Only the sender can edit a message");
      if (message.deletedAt) throw messageUnsent();
      if (message.type === "offer") throw conflict("An offer cannot be edited: withdraw it and make another (README, \"Offers\")");
      if (access.listingStatus === "deleted") throw listingDeleted();
      const hasText = req.content.trim() !== "";
      if (!hasText && message.attachments.length === 0) throw invalid("content: a message needs text or attachments");
      const text = hasText ? req.content : null;
      const review = await this.deps.moderator.reviewEdit(caller, message, text);
      const effect = this.deps.moderator.editEffect(review, access.contactPolicyApplies);
      if (effect.block) {
        await this.deps.messages.recordFlags(lock, { ...message, senderId: caller.userId }, effect.records);
        throw moderationRefusal(review.verdict);
      }
      const updated = this.deps.presenter.shared(
        await this.deps.messages.updateContent(
          lock,
          { ...message, senderId: caller.userId },
          text,
          messageType(text, message.attachments.map((a) => a.kind)),
          effect,
        ),
      );
      await this.publishSafely({ type: "message.updated", to: [access.buyerId, access.sellerId], ...updated });
      return messageFor(updated, viewerOf(caller));
    });
  }

  /** Unsend: sender or admin. Idempotent: unsending an unsent message is a no-op. */
  async unsend(caller: Principal, input: unknown): Promise<void> {
    const req = parse(messageIdInput, input);
    const admin = caller.role === "admin";
    await this.withMessage(caller, req.messageId, admin, async (lock, access) => {
      const { message } = access;
      if (message.senderId !== caller.userId && !admin) throw forbidden("Only the sender can unsend a message");
      if (message.deletedAt) return;
      if (message.offer?.status === "pending") throw conflict("A pending offer cannot be unsent: withdraw it first");
      const keys = await this.deps.messages.softDelete(lock, message.id);
      await this.publishSafely(
        {
          type: "message.deleted",
          to: [access.buyerId, access.sellerId],
          payload: { id: message.id, conversationId: message.conversationId, seq: message.seq },
        });
      if (keys.length > 0) {
        this.deps.deleteStoredFiles(keys).catch((err) => this.deps.onBackgroundError(err, "delete unsent attachments"));
      }
    });
  }

  async history(
    caller: Principal,
    conversationId: string,
    query: unknown,
  ): Promise<MessagePage> {
    if (!uuid.safeParse(conversationId).success) throw notFound("conversation");
    const q = parse(historyQuery, query);
    if (!(await this.deps.participants.canSee(caller.userId, conversationId, caller.role === "admin"))) {
      throw notFound("conversation");
    }
    const items = await this.deps.messages.page(conversationId, {
      limit: q.limit,
      ...(q.before !== undefined ? { before: q.before } : {}),
      ...(q.after !== undefined ? { after: q.after } : {}),
    });
    const first = items[0];
    return {
      items: items.map((m) => this.deps.presenter.message(m, viewerOf(caller))),
      nextBefore: first && first.seq > 1 ? first.seq : null,
    };
  }

  /** Moves the caller's read pointer forward (to the latest when seq is omitted). */
  async markRead(caller: Principal, input: unknown): Promise<void> {
    const req = parse(readInput, input);
    await this.moveReadPointer(caller, req.conversationId, req.seq ?? null);
  }

  /** message:read { messageId }: read up to that message. */
  async markReadUpTo(caller: Principal, input: unknown): Promise<void> {
    const req = parse(messageIdInput, input);
    const position = await this.deps.participants.messagePosition(caller.userId, req.messageId, caller.role === "admin");
    if (!position) throw notFound("message");
    await this.moveReadPointer(caller, position.conversationId, position.seq);
  }

  async unread(caller: Principal): Promise<UnreadSummary> {
    const conversations = await this.deps.participants.unread(caller.userId);
    return { total: conversations.reduce((n, c) => n + c.unreadCount, 0), conversations };
  }

  /** The caller's pointer, or the team's when an admin reads a support conversation (message:read names the team). */
  private async moveReadPointer(caller: Principal, conversationId: string, seq: number | null): Promise<void> {
    const result = await this.deps.participants.markRead(caller.userId, conversationId, seq, caller.role === "admin");
    if (!result) throw notFound("conversation");
    if (!result.moved) return;
    const { userId } = result;
    await this.deps
      .publish({
        type: "message.read",
        to: [result.buyerId, result.sellerId],
        payload: { conversationId, userId, seq: result.seq, readAt: (result.readAt ?? new Date()).toISOString() },
      })
      .catch((err) => this.deps.onBackgroundError(err, "publish message.read"));
  }

  private async withMessage<T>(
    caller: Principal,
    messageId: string,
    /** Any message at all (admins unsending); otherwise those of conversations the caller may see. */
    admin: boolean,
    action: (lock: ConversationLock, access: NonNullable<Awaited<ReturnType<MessageRepository["lockMessage"]>>>["access"]) => Promise<T>,
  ): Promise<T> {
    const locked = await this.deps.messages.lockMessage(messageId, caller.userId, {
      anyMessage: admin,
      admin: caller.role === "admin",
    });
    if (!locked) throw notFound("message");
    try {
      return await action(locked.lock, locked.access);
    } finally {
      await this.unlock(locked.lock);
    }
  }

  private async conversationFor(userId: string, conversationId: string) {
    const record = await this.deps.conversations.findForUser(userId, conversationId);
    return this.deps.presenter.conversation(record!, userViewer(userId));
  }

  /**
   * The message is stored whatever happens to the publish: a failed publish is logged and clients
   * catch up by seq (README, "Catching up"). Bounded so a Redis outage cannot hold the lock long.
   */
  private async publishSafely(event: Parameters<PublishEvent>[0]): Promise<void> {
    try {
      await withTimeout(this.deps.publish(event), PUBLISH_TIMEOUT_MS, "publish timed out");
    } catch (err) {
      this.deps.onBackgroundError(err, `publish ${event.type}`);
    }
  }

  /** Publishes not yet answered by Redis (bounded: publishBacklogLimit). */
  private readonly publishing = new Set<Promise<void>>();

  /** Publishes after the sender was answered: a stalled Redis holds no lock and no connection. */
  private publishInBackground(event: Parameters<PublishEvent>[0]): void {
    const done = this.publishSafely(event).finally(() => this.publishing.delete(done));
    this.publishing.add(done);
  }

  /** Publishes still waiting for Redis (metrics). */
  get publishBacklog(): number {
    return this.publishing.size;
  }

  /** Waits for publishes still running after their sends were answered (shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.publishing]);
  }

  private async unlock(lock: ConversationLock): Promise<void> {
    await lock.release().catch((err) => this.deps.onBackgroundError(err, "release conversation lock"));
  }
}

const PUBLISH_TIMEOUT_MS = 2_000;

/**
 * Why a send stored nothing, as the contract's error, checked in this order. Mirrors the `ok`
 * condition of the send statement (db/message-repository.ts).
 */
function refusal(context: SendContext, attachmentIds: string[], review: Review): AppError {
  if (context.senderBanned) return bannedAccount();
  if (context.blocked) return new AppError("blocked");
  if (context.listingStatus === "deleted") return listingDeleted();
  if (!context.replyOk) return invalid("replyToId: no such message in this conversation");
  const owned = new Map(context.attachments.map((a) => [a.id, a]));
  for (const id of attachmentIds) {
    const a = owned.get(id);
    if (!a) return invalid(`attachmentIds: ${id} is not one of your uploads`);
    if (!a.free) return invalid(`attachmentIds: ${id} is already used in another message`);
  }
  if (context.moderationBlocked) return moderationRefusal(review.verdict);
  return conflict("The message could not be stored; try again");
}

/**
 * Who is notified of a message: the seller (or the team) when the buyer wrote; the buyer when the
 * seller, an admin (as the team) or the system (sender null) did.
 */
export function recipientOf(senderId: string | null, buyerId: string, sellerId: string): string {
  return senderId !== null && senderId === buyerId ? sellerId : buyerId;
}

/**
 * text: no attachments; image / file: only that kind and no text; mixed: anything else. (The send
 * statement computes the same for new messages; edits use this.)
 */
export function messageType(content: string | null, kinds: ("image" | "file")[]): MessageType {
  if (kinds.length === 0) return "text";
  const hasText = content !== null && content.trim() !== "";
  if (!hasText && kinds.every((k) => k === "image")) return "image";
  if (!hasText && kinds.every((k) => k === "file")) return "file";
  return "mixed";
}
