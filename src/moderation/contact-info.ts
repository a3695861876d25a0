// Off-platform contact details in message text (API.md, "Off-platform contact details"): the
// interface the send path uses. Pure functions, no I/O: they run on every message.
//
// NOTE: the implementation below is a placeholder (plain e-mails, links and digit runs only);
// the real detector (disguised forms, five languages, look-alikes, split numbers) replaces it
// behind the same signatures.

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
}

export const CONTACT_MASK = "[contact hidden]";

/** Every contact detail in one message, in text order, spans not overlapping. */
export function detectContactInfo(text: string, options: ContactDetectorOptions): ContactSpan[] {
  const spans: ContactSpan[] = [];
  const push = (re: RegExp, kind: ContactKind, keep: (m: string) => boolean = () => true) => {
    for (const m of text.matchAll(re)) if (keep(m[0])) spans.push({ start: m.index, end: m.index + m[0].length, kind });
  };
  push(/[\w.+-]+@[\w-]+(\.[\w-]+)+/g, "email");
  push(/\bhttps?:\/\/[^\s]+/gi, "link", (m) => !options.allowedDomains.some((d) => m.toLowerCase().includes(d)));
  push(/\+?\d[\d\s.-]{7,}\d/g, "phone");
  return dropOverlaps(spans);
}

/**
 * A number split over consecutive messages of one sender: `previous` holds up to two earlier
 * messages of the same sender in the same conversation, oldest first. Returns the spans of
 * `current` that complete a contact detail no single message holds (empty when none).
 */
export function detectAcrossMessages(previous: readonly string[], current: string, options: ContactDetectorOptions): ContactSpan[] {
  if (previous.length === 0) return [];
  const joined = [...previous, current].join(" ");
  const offset = joined.length - current.length;
  return detectContactInfo(joined, options)
    .filter((s) => s.end > offset)
    .map((s) => ({ start: Math.max(0, s.start - offset), end: s.end - offset, kind: s.kind }));
}

/** The text with each span replaced by CONTACT_MASK. */
export function maskContactInfo(text: string, spans: readonly ContactSpan[]): string {
  let out = "";
  let at = 0;
  for (const s of [...spans].sort((a, b) => a.start - b.start)) {
    if (s.start < at) continue;
    out += text.slice(at, s.start) + CONTACT_MASK;
    at = s.end;
  }
  return out + text.slice(at);
}

/** The text as the duplicate-content (spam) rule compares it: case, spaces and look-alikes folded. */
export function normalizeForDuplicates(text: string): string {
  return text.normalize("NFKC").toLowerCase().replace(/\s+/g, " ").trim();
}

function dropOverlaps(spans: ContactSpan[]): ContactSpan[] {
  const sorted = spans.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: ContactSpan[] = [];
  for (const s of sorted) if (!out.length || s.start >= out[out.length - 1]!.end) out.push(s);
  return out;
}
