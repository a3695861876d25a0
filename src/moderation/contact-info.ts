// Off-platform contact details in message text (API.md, "Off-platform contact details"): the
// interface the send path uses. Pure functions, no I/O: they run on every message.
//
// The text is folded first (text-folding.ts: case, accents, invisible characters, look-alike and
// full-width characters, keycap emoji), keeping a map back to the original offsets. Then four
// detectors read the folded text: e-mails and links (email-link-detector.ts), phone numbers
// (phone-detector.ts, validated against libphonenumber-js numbering plans) and messenger handles
// (handle-detector.ts). Their finds are merged and mapped back to the original text.
import { detectEmails, detectLinks } from "./email-link-detector.js";
import { detectHandles } from "./handle-detector.js";
import { BLANK, blankProtected, detectPhones, type FoldedRange } from "./phone-detector.js";
import { foldText } from "./text-folding.js";

export type ContactKind = "phone" | "email" | "link" | "handle";

/** A detected span of the message text: UTF-16 offsets into the original string, end exclusive. */
export interface ContactSpan {
  start: number;
  end: number;
  kind: ContactKind;
}

export interface ContactDetectorOptions {
  /** Link domains that are never contact details (the marketplace's own), lower case. */
  allowedDomains: readonly string[];
  /**
   * Regions (ISO 3166-1 alpha-2) whose nationally written numbers count as phone numbers, the
   * marketplace's own first. Numbers written with "+" or "00" count for every region.
   * Default: DEFAULT_PHONE_REGIONS.
   */
  defaultRegions?: readonly string[];
  /**
   * Text that is never a contact detail: the marketplace's own order or reference numbers.
   * Matched against the original text. Default: DEFAULT_IGNORE_PATTERNS.
   */
  ignorePatterns?: readonly RegExp[];
}

/** The five languages' main regions and their neighbours. */
export const DEFAULT_PHONE_REGIONS: readonly string[] = ["FR", "DE", "ES", "IT", "GB", "US", "BE", "CH", "AT"];

/** The marketplace's own order numbers, "order #A-12345" style: letters, a dash, digits. */
export const DEFAULT_IGNORE_PATTERNS: readonly RegExp[] = [/#?(?<![A-Za-z0-9])[A-Z]{1,3}-\d{4,12}(?![\dA-Za-z])/g];

export const CONTACT_MASK = "[contact hidden]";

interface KindRange extends FoldedRange {
  kind: ContactKind;
  soft?: boolean;
}

// A soft find (an invitation such as "add me on WhatsApp" with no handle) this close to a real
// contact detail is part of it ("WhatsApp me at 06…") and not reported on its own.
const SOFT_NEIGHBOURHOOD = 40;
const KIND_PRIORITY: Record<ContactKind, number> = { email: 4, link: 3, phone: 2, handle: 1 };

/** Every contact detail in one message, in text order, spans not overlapping. */
export function detectContactInfo(text: string, options: ContactDetectorOptions): ContactSpan[] {
  if (text.length === 0) return [];
  const folded = foldText(text);
  let base = folded.text;
  const ignored = ignoredRanges(text, options.ignorePatterns ?? DEFAULT_IGNORE_PATTERNS);
  for (const r of ignored) {
    const s = folded.foldedIndex(r.start);
    const e = folded.foldedIndex(r.end);
    if (e > s) base = base.slice(0, s) + BLANK.repeat(e - s) + base.slice(e);
  }
  const ranges: KindRange[] = [];
  for (const r of detectEmails(base)) ranges.push({ ...r, kind: "email" });
  for (const r of detectLinks(base, allowedDomainsOf(options.allowedDomains))) ranges.push({ ...r, kind: "link" });
  for (const r of detectPhones(blankProtected(base), { regions: options.defaultRegions ?? DEFAULT_PHONE_REGIONS })) ranges.push({ ...r, kind: "phone" });
  for (const r of detectHandles(base)) ranges.push({ start: r.start, end: r.end, kind: "handle", soft: r.soft });
  if (ranges.length === 0) return [];
  return mergeRanges(ranges).map((r) => ({ start: folded.originalStart(r.start), end: folded.originalEnd(r.end - 1), kind: r.kind }));
}

/**
 * A number split over consecutive messages of one sender: `previous` holds up to two earlier
 * messages of the same sender in the same conversation, oldest first. Returns the spans of
 * `current` that complete a contact detail no single message holds (empty when none).
 */
export function detectAcrossMessages(previous: readonly string[], current: string, options: ContactDetectorOptions): ContactSpan[] {
  return detectSplitContactInfo(previous, current, options).current;
}

/**
 * Like detectAcrossMessages, with the parts in the earlier messages too: `previous[i]` holds the
 * spans of `previous[i]` (same order as given) that belong to a detail completed by `current`.
 */
export function detectSplitContactInfo(
  previous: readonly string[],
  current: string,
  options: ContactDetectorOptions,
): { current: ContactSpan[]; previous: ContactSpan[][] } {
  const earlier = previous.slice(-2);
  const skipped = previous.length - earlier.length;
  const result = { current: [] as ContactSpan[], previous: previous.map(() => [] as ContactSpan[]) };
  if (earlier.length === 0 || current.length === 0) return result;
  // One line per message: the detectors read a line break like any separator between digits.
  const parts = [...earlier, current];
  const offsets: number[] = [];
  let joined = "";
  for (const [i, p] of parts.entries()) {
    if (i > 0) joined += "\n";
    offsets.push(joined.length);
    joined += p;
  }
  const currentOffset = offsets[offsets.length - 1]!;
  for (const span of detectContactInfo(joined, options)) {
    if (!(span.start < currentOffset && span.end > currentOffset)) continue; // not across into current
    parts.forEach((p, i) => {
      const from = offsets[i]!;
      const to = from + p.length;
      const start = Math.max(span.start, from);
      const end = Math.min(span.end, to);
      if (end <= start) return;
      const local = { start: start - from, end: end - from, kind: span.kind };
      if (i === parts.length - 1) result.current.push(local);
      else result.previous[skipped + i]!.push(local);
    });
  }
  return result;
}

/** The text with each span replaced by CONTACT_MASK. */
export function maskContactInfo(text: string, spans: readonly ContactSpan[]): string {
  let out = "";
  let at = 0;
  for (const s of [...spans].sort((a, b) => a.start - b.start)) {
    if (s.start < at) {
      at = Math.max(at, s.end); // overlaps the span just masked: one mask for both
      continue;
    }
    out += text.slice(at, s.start) + CONTACT_MASK;
    at = s.end;
  }
  return out + text.slice(at);
}

/** The text as the duplicate-content (spam) rule compares it: case, spaces and look-alikes folded. */
export function normalizeForDuplicates(text: string): string {
  return foldText(text).text.replace(/\s+/g, " ").trim();
}

// Overlapping finds become one span, of the kind of the most specific find in it; soft finds
// go when a real detail overlaps them or stands close by.
function mergeRanges(ranges: KindRange[]): KindRange[] {
  const hard = ranges.filter((r) => !r.soft).sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: KindRange[] = [];
  for (const r of hard) {
    const last = merged[merged.length - 1];
    if (last && r.start < last.end) {
      if (KIND_PRIORITY[r.kind] > KIND_PRIORITY[last.kind] && r.end - r.start >= (last.end - last.start) / 2) last.kind = r.kind;
      last.end = Math.max(last.end, r.end);
    } else merged.push({ start: r.start, end: r.end, kind: r.kind });
  }
  const softs = ranges.filter((r) => r.soft).sort((a, b) => a.start - b.start);
  for (const s of softs) {
    const near = merged.some((h) => h.start < s.end + SOFT_NEIGHBOURHOOD && h.end > s.start - SOFT_NEIGHBOURHOOD);
    if (!near) merged.push({ start: s.start, end: s.end, kind: s.kind });
  }
  merged.sort((a, b) => a.start - b.start);
  // Soft finds may overlap each other ("text me on whatsapp" and "whatsapp me").
  const out: KindRange[] = [];
  for (const r of merged) {
    const last = out[out.length - 1];
    if (last && r.start < last.end) last.end = Math.max(last.end, r.end);
    else out.push(r);
  }
  return out;
}

const globalPatterns = new WeakMap<RegExp, RegExp>();

function ignoredRanges(text: string, patterns: readonly RegExp[]): FoldedRange[] {
  const out: FoldedRange[] = [];
  for (const p of patterns) {
    let re = globalPatterns.get(p);
    if (!re) {
      re = p.global ? new RegExp(p.source, p.flags) : new RegExp(p.source, `${p.flags}g`);
      globalPatterns.set(p, re);
    }
    re.lastIndex = 0;
    for (const m of text.matchAll(re)) if (m[0].length > 0) out.push({ start: m.index, end: m.index + m[0].length });
  }
  return out;
}

const normalizedDomains = new WeakMap<readonly string[], readonly string[]>();

function allowedDomainsOf(domains: readonly string[]): readonly string[] {
  let out = normalizedDomains.get(domains);
  if (!out) {
    out = domains.map((d) => d.trim().toLowerCase().replace(/^\*?\.|^www\./, "")).filter((d) => d.length > 0);
    normalizedDomains.set(domains, out);
  }
  return out;
}
