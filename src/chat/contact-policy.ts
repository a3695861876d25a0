// What the rules do with contact details and the moderation hook's verdict (README, "Off-platform
// contact details"). Pure: the detector (moderation/contact-info.ts) finds spans, this decides
// the message's flags, its masked text and whether it is refused, for both cases the send
// statement chooses between (the policy applies while the listing is active and no offer was
// accepted; only the statement knows, under the conversation's lock).
import {
  detectAcrossMessages,
  maskContactInfo,
  type ContactDetectorOptions,
  type ContactSpan,
} from "../moderation/contact-info.js";
import type { FlagDraft, FlagSpan, ModerationEffect, SendModeration } from "../db/moderation-flag-repository.js";
import type { ModerationVerdict } from "../webhooks/moderation-hook.js";

export type ContactPolicy = "mask" | "flag" | "block" | "off";

export const CONTACT_FLAG = "contact_info";
export const MODERATION_FLAG = "moderation";

/** A masked or flagged span: where, and what kind ("moderation" for the hook's). */
export interface Span {
  start: number;
  end: number;
  kind: string;
}

const ACTION_OF_POLICY = { mask: "masked", flag: "flagged", block: "blocked" } as const;

/**
 * The moderation parameter of a send (or an edit): null when neither the detector nor the hook
 * found anything, which is nearly always.
 */
export function planModeration(
  text: string | null,
  policy: ContactPolicy,
  contact: readonly ContactSpan[],
  verdict: ModerationVerdict | null,
): SendModeration | null {
  const hook = verdict && verdict.action !== "allow" ? verdict : null;
  if (contact.length === 0 && !hook) return null;
  const flags: FlagDraft[] = [];
  if (contact.length > 0 && policy !== "off" && text !== null) {
    flags.push({ rule: "contact_info", action: ACTION_OF_POLICY[policy], ...describe(text, contact), reason: null });
  }
  const hookSpans = hookMaskSpans(text, verdict);
  if (hook) {
    flags.push({
      rule: "moderation",
      action: hook.action === "mask" ? "masked" : hook.action === "flag" ? "flagged" : "blocked",
      ...(text !== null ? describe(text, hookSpans) : { kinds: [], spans: [] }),
      reason: hook.reason ?? null,
    });
  }
  const hookFlags = hook && hook.action !== "block" ? [MODERATION_FLAG] : [];
  const otherwise: ModerationEffect = {
    flags: hookFlags,
    masked: hookSpans.length && text !== null ? mask(text, hookSpans) : null,
    block: hook?.action === "block",
  };
  const applied: ModerationEffect =
    policy === "off" || contact.length === 0 || text === null
      ? otherwise
      : {
          flags: [CONTACT_FLAG, ...hookFlags],
          masked: policy === "mask" || hookSpans.length ? mask(text, [...(policy === "mask" ? contact : []), ...hookSpans]) : null,
          block: policy === "block" || otherwise.block,
        };
  return { applied, otherwise, flags };
}

/** The spans the hook asked to mask; a mask without spans hides the whole text. */
export function hookMaskSpans(text: string | null, verdict: ModerationVerdict | null): Span[] {
  if (verdict?.action !== "mask" || text === null) return [];
  return verdict.spans?.length
    ? verdict.spans.map((s) => ({ ...s, kind: MODERATION_FLAG }))
    : [{ start: 0, end: text.length, kind: MODERATION_FLAG }];
}

/** The spans masked in a stored message's text (to add a split number's to them). */
export function maskedSpans(policy: ContactPolicy, applies: boolean, contact: readonly ContactSpan[], verdict: ModerationVerdict | null, text: string): Span[] {
  return [...(applies && policy === "mask" ? contact : []), ...hookMaskSpans(text, verdict)];
}

/**
 * A number split over up to three consecutive messages of one sender, completed by `text`:
 * `recent` is the conversation's latest messages before it (oldest first); only the trailing run
 * of the sender's own messages counts. Spans of `text` the message's own detection did not find.
 */
export function splitContactSpans(
  text: string,
  senderId: string,
  recent: readonly { senderId: string | null; content: string | null }[],
  own: readonly ContactSpan[],
  options: ContactDetectorOptions,
): ContactSpan[] {
  const run: string[] = [];
  for (let i = recent.length - 1; i >= 0; i--) {
    const m = recent[i]!;
    if (m.senderId !== senderId || m.content === null) break;
    run.unshift(m.content);
  }
  if (run.length === 0) return [];
  return detectAcrossMessages(run, text, options).filter((s) => !own.some((o) => o.start < s.end && s.start < o.end));
}

/** The effect and the flag row of a split number found after the message was stored. */
export function planSplitAmendment(
  text: string,
  policy: Exclude<ContactPolicy, "off">,
  applies: boolean,
  stored: { flags: string[]; maskedContent: string | null },
  /** What the stored message already masks (maskedSpans()). */
  alreadyMasked: readonly Span[],
  spans: readonly ContactSpan[],
): { effect: { flags: string[]; masked: string | null }; flag: FlagDraft } {
  const reason = "number split over consecutive messages";
  if (!applies) {
    return { effect: { flags: stored.flags, masked: stored.maskedContent }, flag: { rule: "contact_info", action: "recorded", ...describe(text, spans), reason } };
  }
  // `block` cannot refuse a message already stored: the completing part is masked instead.
  const masking = policy !== "flag";
  return {
    effect: {
      flags: stored.flags.includes(CONTACT_FLAG) ? stored.flags : [CONTACT_FLAG, ...stored.flags],
      masked: masking ? mask(text, [...alreadyMasked, ...spans]) : stored.maskedContent,
    },
    flag: {
      rule: "contact_info",
      action: masking ? "masked" : "flagged",
      ...describe(text, spans),
      reason: policy === "block" ? `${reason} (masked: it was stored before the last part arrived)` : reason,
    },
  };
}

function describe(text: string, spans: readonly Span[]): { kinds: string[]; spans: FlagSpan[] } {
  return {
    kinds: [...new Set(spans.map((s) => s.kind))],
    spans: spans.map((s) => ({ start: s.start, end: s.end, kind: s.kind, text: text.slice(s.start, s.end) })),
  };
}

/** The text with every span (overlapping ones merged) replaced by CONTACT_MASK. */
export function mask(text: string, spans: readonly Span[]): string {
  const merged: ContactSpan[] = [];
  for (const s of [...spans].sort((a, b) => a.start - b.start)) {
    const last = merged.at(-1);
    if (last && s.start <= last.end) last.end = Math.max(last.end, s.end);
    else merged.push({ start: s.start, end: Math.min(s.end, text.length), kind: "phone" });
  }
  return maskContactInfo(text, merged);
}
