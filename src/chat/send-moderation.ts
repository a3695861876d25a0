// Trust and safety on the send path (README, "Off-platform contact details", "Moderation hook",
// "Spam"): the contact-detail detector, the pre-send moderation hook and the duplicate-content
// rule, ahead of the send statement; and the split-number check after it.
//
// Cost of a send without a hook: detection is pure TypeScript (no I/O); its result rides in the
// send statement's one parameter. The spam rule costs one Redis script call for texts of at least
// SPAM_MIN_CHARS (normalized) and nothing for shorter ones. A number completed over several
// messages costs one more statement, only when one is found.
import { createHash } from "node:crypto";
import type pg from "pg";
import type { Principal } from "../auth/token-verifier.js";
import type { DuplicateCounter } from "../cluster/duplicate-counter.js";
import { rateLimited } from "../cluster/rate-limiter.js";
import type { SendContext } from "../db/message-repository.js";
import type { FlagDraft, ModerationFlagRepository, SendModeration } from "../db/moderation-flag-repository.js";
import type { MessageRecord } from "../db/records.js";
import { AppError } from "../errors/errors.js";
import { detectContactInfo, normalizeForDuplicates, type ContactDetectorOptions, type ContactSpan } from "../moderation/contact-info.js";
import type { ModerationHook, ModerationRequest, ModerationVerdict } from "../webhooks/moderation-hook.js";
import {
  maskedSpans,
  planModeration,
  planSplitAmendment,
  splitContactSpans,
  type ContactPolicy,
} from "./contact-policy.js";

export interface SendModeratorOptions {
  /** CONTACT_INFO_POLICY */
  policy: ContactPolicy;
  /** CONTACT_INFO_ALLOWED_DOMAINS */
  allowedDomains: readonly string[];
  /** MODERATION_URL is set. */
  hook?: ModerationHook;
  /** SPAM_DUPLICATE_LIMIT is not off. */
  spam?: { counter: DuplicateCounter; limit: number; windowMs: number; minChars: number };
  flags: ModerationFlagRepository;
  onSpamRefused?: () => void;
  onBackgroundError: (err: unknown, what: string) => void;
}

/** What the checks before the statement found, kept for the check after it. */
export interface Review {
  text: string | null;
  contact: ContactSpan[];
  verdict: ModerationVerdict | null;
  /** The send statement's (or the edit's) moderation parameter. */
  plan: SendModeration | null;
}

export class SendModerator {
  private readonly detector: ContactDetectorOptions;

  constructor(private readonly options: SendModeratorOptions) {
    this.detector = { allowedDomains: options.allowedDomains };
  }

  /**
   * Before a send: the spam rule (refuses with rate_limited, recorded) and the hook run side by
   * side; detection is synchronous.
   */
  async reviewSend(
    caller: Principal,
    req: { conversationId: string; clientId: string; text: string | null; attachmentIds: string[]; replyToId: string | null },
  ): Promise<Review> {
    const contact = this.detect(req.text);
    const [, verdict] = await Promise.all([
      // Staff are exempt from the spam rule: the support team answers many users with the same
      // words (README, "Support conversations").
      caller.role === "admin" ? undefined : this.checkDuplicates(caller.userId, req.conversationId, req.text),
      this.callHook(caller, req.conversationId, { clientId: req.clientId, content: req.text, attachmentIds: req.attachmentIds, replyToId: req.replyToId }, contact),
    ]);
    return { text: req.text, contact, verdict, plan: planModeration(req.text, this.options.policy, contact, verdict) };
  }

  /** Before an edit: detection again, and the hook. */
  async reviewEdit(caller: Principal, message: { id: string; conversationId: string; replyToId: string | null }, text: string | null): Promise<Review> {
    const contact = this.detect(text);
    const verdict = await this.callHook(caller, message.conversationId, { id: message.id, content: text, attachmentIds: [], replyToId: message.replyToId }, contact);
    return { text, contact, verdict, plan: planModeration(text, this.options.policy, contact, verdict) };
  }

  /**
   * After the message was stored and before it is published: a number split over this and the
   * sender's previous messages (context.recent). Returns the message
   * as it must be published (amended when one was found).
   */
  async afterStore(client: pg.PoolClient | null, stored: MessageRecord, context: SendContext, review: Review): Promise<MessageRecord> {
    const { policy } = this.options;
    const senderId = stored.senderId;
    if (policy === "off" || review.text === null || senderId === null || review.plan?.applied.block) return stored;
    const split = splitContactSpans(review.text, senderId, context.recent, review.contact, this.detector);
    if (split.length === 0) return stored;
    const masked = maskedSpans(policy, context.contactPolicyApplies, review.contact, review.verdict, review.text);
    const { effect, flag } = planSplitAmendment(review.text, policy, context.contactPolicyApplies, stored, masked, split);
    return this.options.flags.amendStored(client, stored.id, effect, { ...flag, conversationId: stored.conversationId, senderId });
  }

  /** The effect of an edit, now that the policy's applicability is known, and its flag rows. */
  editEffect(review: Review, applies: boolean): { flags: string[]; masked: string | null; block: boolean; records: FlagDraft[] } {
    const plan = review.plan;
    if (!plan) return { flags: [], masked: null, block: false, records: [] };
    const effect = applies ? plan.applied : plan.otherwise;
    const records = plan.flags.map((f) => (f.rule === "contact_info" && !applies ? { ...f, action: "recorded" as const } : f));
    return { ...effect, records };
  }

  private detect(text: string | null): ContactSpan[] {
    if (text === null || this.options.policy === "off") return [];
    return detectContactInfo(text, this.detector);
  }

  private async callHook(
    caller: Principal,
    conversationId: string,
    message: Omit<ModerationRequest["message"], "contactInfo">,
    contact: ContactSpan[],
  ): Promise<ModerationVerdict | null> {
    if (!this.options.hook) return null;
    return this.options.hook.review({
      conversation: { id: conversationId },
      sender: { id: caller.userId, name: caller.name },
      message: { ...message, contactInfo: contact.map(({ start, end, kind }) => ({ start, end, kind })) },
    });
  }

  /**
   * The duplicate-content rule: the same text (normalized) from one user into more than `limit`
   * conversations within the window is refused for the rest, each refusal recorded.
   */
  private async checkDuplicates(userId: string, conversationId: string, text: string | null): Promise<void> {
    const spam = this.options.spam;
    if (!spam || text === null) return;
    const normalized = normalizeForDuplicates(text);
    if ([...normalized].length < spam.minChars) return;
    const key = `${sha256(userId).slice(0, 24)}:${sha256(normalized).slice(0, 32)}`;
    const decision = await spam.counter.admit(key, conversationId, spam.limit, spam.windowMs);
    if (decision.allowed) return;
    this.options.onSpamRefused?.();
    const excerpt = text.length > 200 ? `${text.slice(0, 200)}…` : text;
    await this.options.flags
      .recordRefusal(conversationId, userId, "spam", `same text in more than ${spam.limit} conversations within ${Math.round(spam.windowMs / 60_000)} min: ${excerpt}`)
      .catch((err) => this.options.onBackgroundError(err, "record a spam refusal"));
    throw rateLimited("identical messages in different conversations", decision.retryAfterMs);
  }
}

/** The refusal of a message blocked by moderation: forbidden, as the contract says for `block`. */
export function moderationRefusal(verdict: ModerationVerdict | null): AppError {
  if (verdict?.failed) return new AppError("forbidden", "The message could not be checked by moderation; try again later");
  // The hook's reason is for admins (GET /api/admin/flags), not for the sender.
  if (verdict?.action === "block") return new AppError("forbidden", "Refused by moderation");
  return new AppError("forbidden", "Contact details cannot be shared in this conversation yet");
}

function sha256(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}
