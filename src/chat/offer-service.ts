// Offers (API.md, "Offers"; README, "Offers"): a price proposal in the thread, as a message of
// type "offer" with a small state machine:
//
//   pending ──accept (other side)──▶ accepted        pending ──counter (other side)──▶ countered
//           ──decline (other side)─▶ declined                 (+ a new pending offer, the counter)
//           ──withdraw (maker)─────▶ withdrawn       pending ──OFFER_TTL_MS (sweep)──▶ expired
//
// Making and countering an offer are sends: the single-send statement (db/send-sql.ts) takes the
// conversation's advisory lock and next seq, so an offer is idempotent on clientId, takes its
// place in the seq order and is delivered as message:new exactly like a message. The other changes
// are one conditional statement each (db/offer-repository.ts) and reach both participants as
// message:updated. Every change writes its offer.* webhook in its own transaction. The service
// never changes the listing: the marketplace decides on the webhook and pushes it.
import { z } from "zod";
import type { Principal } from "../auth/token-verifier.js";
import type { ConversationRepository } from "../db/conversation-repository.js";
import type { ConversationLock, MessageRepository, SendContext } from "../db/message-repository.js";
import type { OfferChange, OfferFacts, OfferRepository } from "../db/offer-repository.js";
import type { OfferDecision } from "../db/offer-sql.js";
import type { MessageRecord } from "../db/records.js";
import { AppError, notFound, invalid, forbidden, conflict, listingDeleted, bannedAccount } from "../errors/errors.js";
import type { MessageView } from "../contract/shapes.js";
import type { PublishEvent } from "./events.js";
import { userViewer, viewerOf } from "./message-visibility.js";
import { recipientOf } from "./message-service.js";
import type { Presenter } from "./presenter.js";
import { parse, uuid } from "./schemas.js";
import { withTimeout } from "../util/with-timeout.js";

/** Largest amount by default (OFFER_MAX_AMOUNT_CENTS): 10,000,000.00 in a currency with cents. */
export const DEFAULT_MAX_OFFER_CENTS = 1_000_000_000;

const amountCents = (max: number) =>
  z
    .number({ error: "must be a whole number of cents" })
    .int("must be a whole number of cents")
    .min(1, "must be more than 0")
    .max(max, `must be at most ${max}`);

export const offerBodySchema = (max: number) =>
  z.object({
    clientId: uuid,
    amountCents: amountCents(max),
    currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code like EUR"),
  });
export const counterBodySchema = (max: number) => z.object({ clientId: uuid, amountCents: amountCents(max) });

export interface OfferServiceDeps {
  /** The same instance as the message service's: its local mutex orders this node's sends. */
  messages: MessageRepository;
  offers: OfferRepository;
  conversations: ConversationRepository;
  presenter: Presenter;
  publish: PublishEvent;
  /** OFFER_TTL_MS */
  ttlMs: number;
  /** OFFER_MAX_AMOUNT_CENTS */
  maxAmountCents: number;
  /** Write offer.* webhooks (WEBHOOK_URL is set); message.unread rows follow unreadWebhookDelayMs. */
  webhooks: boolean;
  unreadWebhookDelayMs?: number;
  /** The message rate limit: an offer is a message. */
  checkSendRate?: (userId: string) => void;
  onStored?: () => void;
  onBackgroundError: (err: unknown, what: string) => void;
}

/** Offers expired per sweep statement; a sweep repeats until a round finds fewer. */
const EXPIRE_BATCH = 100;
const PUBLISH_TIMEOUT_MS = 2_000;

export class OfferService {
  private readonly offerBody: ReturnType<typeof offerBodySchema>;
  private readonly counterBody: ReturnType<typeof counterBodySchema>;

  constructor(private readonly deps: OfferServiceDeps) {
    this.offerBody = offerBodySchema(deps.maxAmountCents);
    this.counterBody = counterBodySchema(deps.maxAmountCents);
  }

  /** POST /api/conversations/:id/offers. `created: false`: this clientId was already stored. */
  async make(caller: Principal, conversationId: string, body: unknown): Promise<{ message: MessageView; created: boolean }> {
    const req = parse(this.offerBody, body);
    return this.send(caller, conversationId, req.clientId, { amountCents: req.amountCents, currency: req.currency, respondsTo: null });
  }

  /** POST /api/offers/:id/counter: the other participant answers a pending offer with another amount. */
  async counter(caller: Principal, offerId: string, body: unknown): Promise<{ message: MessageView; created: boolean }> {
    const offer = await this.visible(caller, offerId);
    if (offer.byUserId === caller.userId) throw forbidden("Only the other participant can counter an offer");
    const req = parse(this.counterBody, body);
    return this.send(caller, offer.conversationId, req.clientId, { amountCents: req.amountCents, currency: offer.currency, respondsTo: offer });
  }

  accept(caller: Principal, offerId: string): Promise<MessageView> {
    return this.decide(caller, offerId, "accepted");
  }

  decline(caller: Principal, offerId: string): Promise<MessageView> {
    return this.decide(caller, offerId, "declined");
  }

  withdraw(caller: Principal, offerId: string): Promise<MessageView> {
    return this.decide(caller, offerId, "withdrawn");
  }

  /**
   * Expires every pending offer past its expiresAt (the sweeper calls this on every node; each
   * offer is expired once, by whichever node claims it). Returns how many this node expired.
   */
  async sweepExpired(): Promise<number> {
    let total = 0;
    for (;;) {
      const expired = await this.deps.offers.expireDue(EXPIRE_BATCH);
      for (const change of expired) await this.publishUpdated(change);
      total += expired.length;
      if (expired.length < EXPIRE_BATCH) return total;
    }
  }

  private async visible(caller: Principal, offerId: string): Promise<OfferFacts> {
    const offer = uuid.safeParse(offerId).success ? await this.deps.offers.find(offerId, caller.userId) : null;
    if (!offer) throw notFound("offer");
    return offer;
  }

  private async decide(caller: Principal, offerId: string, to: OfferDecision): Promise<MessageView> {
    if (!uuid.safeParse(offerId).success) throw notFound("offer");
    const result = await this.deps.offers.decide(offerId, caller.userId, to);
    if (!result) throw notFound("offer");
    const { before, change } = result;
    if (!change) throw decisionRefusal(before, caller.userId, to);
    await this.publishUpdated(change);
    return this.deps.presenter.message(change.message, viewerOf(caller));
  }

  /** An offer or a counter through the send statement (the conversation's lock and next seq). */
  private async send(
    caller: Principal,
    conversationId: string,
    clientId: string,
    offer: { amountCents: number; currency: string; respondsTo: OfferFacts | null },
  ): Promise<{ message: MessageView; created: boolean }> {
    if (!uuid.safeParse(conversationId).success) throw notFound("conversation");
    this.deps.checkSendRate?.(caller.userId);
    const { messages, presenter } = this.deps;
    const respondsToOfferId = offer.respondsTo?.id ?? null;
    const outcome = await messages.append({
      conversationId,
      senderId: caller.userId,
      admin: caller.role === "admin",
      clientId,
      content: null,
      replyToId: null,
      attachmentIds: [],
      moderation: null,
      unreadWebhookDelayMs: this.deps.unreadWebhookDelayMs ?? null,
      offer: { amountCents: offer.amountCents, currency: offer.currency, respondsToOfferId, ttlMs: this.deps.ttlMs, webhooks: this.deps.webhooks },
    });
    if (!outcome) throw notFound("conversation");
    try {
      if (outcome.kind === "existing") {
        // Idempotent on clientId like messages, but only for the same kind of request.
        const m = outcome.message;
        if (m.type !== "offer" || (m.offer?.respondsToOfferId ?? null) !== respondsToOfferId) {
          throw conflict("clientId: already used for another message");
        }
        return { message: presenter.message(m, viewerOf(caller)), created: false };
      }
      if (outcome.kind === "refused") throw sendRefusal(outcome.context, offer, caller.userId);
      const { context, lock } = outcome;
      this.deps.onStored?.();
      // What needs the locked connection is read first; the lock goes before the publishes, so a
      // stalled Redis holds no lock and no connection (delivering nodes keep the seq order,
      // README "Ordering").
      const old = offer.respondsTo ? await this.deps.offers.messageOf(lock.client, offer.respondsTo.id) : null;
      const stored = outcome.message;
      const shared = presenter.shared(stored);
      const recipientId = recipientOf(caller.userId, context.buyerId, context.sellerId);
      const opened =
        stored.seq === 1
          ? { userId: context.sellerId, conversation: await this.conversationFor(context.sellerId, stored.conversationId, lock) }
          : null;
      await this.release(lock);
      // A counter: the old offer's card turns "countered" before the new one appears.
      if (old) await this.publishUpdated({ message: old, buyerId: context.buyerId, sellerId: context.sellerId });
      await this.publishSafely({ type: "message.created", to: [context.buyerId, context.sellerId], ...shared, recipientId, opened });
      return { message: presenter.message(stored, viewerOf(caller)), created: true };
    } finally {
      await this.release(outcome.lock);
    }
  }

  /** Idempotent: the lock is released once, whichever path gets there first. */
  private async release(lock: ConversationLock): Promise<void> {
    await lock.release().catch((err) => this.deps.onBackgroundError(err, "release conversation lock"));
  }

  private async conversationFor(userId: string, conversationId: string, lock: ConversationLock) {
    const record = await this.deps.conversations.findForUser(userId, conversationId, lock);
    return this.deps.presenter.conversation(record!, userViewer(userId));
  }

  private async publishUpdated(change: { message: MessageRecord; buyerId: string; sellerId: string }): Promise<void> {
    await this.publishSafely({ type: "message.updated", to: [change.buyerId, change.sellerId], ...this.deps.presenter.shared(change.message) });
  }

  /**
   * The change is committed whatever happens to the publish: a failed publish is logged and
   * clients catch up over HTTP (README, "Catching up"). Bounded so a Redis outage cannot hold a
   * conversation's lock long.
   */
  private async publishSafely(event: Parameters<PublishEvent>[0]): Promise<void> {
    try {
      await withTimeout(this.deps.publish(event), PUBLISH_TIMEOUT_MS, "publish timed out");
    } catch (err) {
      this.deps.onBackgroundError(err, `publish ${event.type}`);
    }
  }
}

export type { OfferChange };

/**
 * Why a decision changed nothing, as the contract's error: the wrong side is forbidden whatever
 * the state; then a state that does not allow it (or a listing that does not, for an accept) is a
 * conflict. `before` is the offer as the statement read it; when it still looked pending, another
 * node changed it meanwhile.
 */
function decisionRefusal(before: OfferFacts, userId: string, to: OfferDecision): AppError {
  const maker = before.byUserId === userId;
  if (to === "withdrawn" && !maker) return forbidden("Only the participant who made the offer can withdraw it");
  if (to !== "withdrawn" && maker) return forbidden(`Only the other participant can ${to === "accepted" ? "accept" : "decline"} an offer`);
  if (before.status !== "pending") return conflict(`The offer is ${before.status}`);
  if (!before.live) return conflict("The offer has expired");
  if (to === "accepted") {
    if (before.blocked) return new AppError("blocked");
    if (before.listingStatus !== "active") return conflict(`The listing is ${before.listingStatus ?? "gone"}: the offer cannot be accepted`);
  }
  return conflict("The offer was changed meanwhile");
}

/** Why an offer send stored nothing, in the order the checks matter to a client. */
function sendRefusal(context: SendContext, offer: { currency: string; respondsTo: OfferFacts | null }, userId: string): AppError {
  if (context.senderBanned) return bannedAccount();
  if (context.blocked) return new AppError("blocked");
  if (context.listingStatus === "deleted") return listingDeleted();
  const o = context.offer;
  if (o && o.listingCurrency !== offer.currency) {
    return invalid(o.listingCurrency ? `currency: offers on this listing are in ${o.listingCurrency}` : "currency: the listing has no currency");
  }
  if (context.listingStatus !== "active") {
    return conflict(context.listingStatus ? `The listing is ${context.listingStatus}: no offers` : "Offers are made about a listing");
  }
  if (offer.respondsTo) {
    if (o?.pending?.id !== offer.respondsTo.id) return conflict("The offer is no longer pending");
    if (o.pending.byUserId === userId) return forbidden("Only the other participant can counter an offer");
    if (!o.pending.live) return conflict("The offer has expired");
    return conflict("The offer was changed meanwhile");
  }
  if (o?.pending || o?.raced) return conflict("Another offer is pending in this conversation");
  return conflict("The offer could not be stored; try again");
}
