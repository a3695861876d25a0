// The pre-send moderation hook (README, "Moderation hook"): with MODERATION_URL set, every message
// (and every edit) is POSTed, signed like webhooks, before it is stored; the answer says what to do
// with it. This is where a marketplace plugs in an AI model or a vendor's moderation.
//
// A timeout, a connection error, a non-2xx status or an answer that is not a verdict is a failure:
// MODERATION_FAIL=open lets the message through as if allowed, closed refuses it (nothing stored).
import { z } from "zod";
import { signWebhook } from "./webhook-signer.js";

export interface ModerationHookOptions {
  /** MODERATION_URL */
  url: string;
  /** MODERATION_SECRET, or WEBHOOK_SECRET when that is unset. */
  secret: string;
  /** MODERATION_TIMEOUT_MS: the whole exchange, connect to last byte. */
  timeoutMs: number;
  /** MODERATION_FAIL=closed */
  failClosed: boolean;
  onFailure?: (err: Error) => void;
}

/** What the hook is sent: POST body { conversation, sender, message }. */
export interface ModerationRequest {
  conversation: { id: string };
  sender: { id: string; name: string | null };
  message: {
    /** Set on edits. */
    id?: string;
    clientId?: string;
    content: string | null;
    attachmentIds: string[];
    replyToId: string | null;
    /** What the service's own contact-detail detector found (UTF-16 offsets, end exclusive). */
    contactInfo: { start: number; end: number; kind: string }[];
  };
}

const span = z.object({ start: z.number().int().min(0), end: z.number().int().min(0) }).refine((s) => s.end > s.start, "empty span");

const verdictSchema = z.object({
  action: z.enum(["allow", "mask", "flag", "block"]),
  spans: z.array(span).max(1000).optional(),
  reason: z.string().max(500).optional(),
});

export type ModerationVerdict = z.infer<typeof verdictSchema> & {
  /** Not the hook's answer: what MODERATION_FAIL made of a failure. */
  failed?: boolean;
};

/** Answers larger than this are not verdicts. */
const MAX_ANSWER_BYTES = 64 * 1024;

export class ModerationHook {
  constructor(private readonly options: ModerationHookOptions) {}

  async review(request: ModerationRequest): Promise<ModerationVerdict> {
    try {
      const verdict = await this.call(request);
      const length = request.message.content?.length ?? 0;
      if (verdict.spans?.some((s) => s.end > length)) throw new Error("moderation hook answered spans outside the text");
      return verdict;
    } catch (err) {
      this.options.onFailure?.(err as Error);
      return this.options.failClosed
        ? { action: "block", reason: "moderation hook unavailable (MODERATION_FAIL=closed)", failed: true }
        : { action: "allow", failed: true };
    }
  }

  private async call(request: ModerationRequest): Promise<ModerationVerdict> {
    const body = JSON.stringify(request);
    const response = await fetch(this.options.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "marketchat-moderation/1",
        "x-chat-signature": signWebhook(this.options.secret, body),
        "x-chat-event": "message.review",
      },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    const text = await response.text();
    if (response.status < 200 || response.status >= 300) throw new Error(`moderation hook answered HTTP ${response.status}`);
    if (text.length > MAX_ANSWER_BYTES) throw new Error("moderation hook answer too large");
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error("moderation hook answered something that is not JSON");
    }
    const verdict = verdictSchema.safeParse(parsed);
    if (!verdict.success) throw new Error("moderation hook answered something that is not a verdict");
    return verdict.data;
  }
}
