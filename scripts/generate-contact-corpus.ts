// Writes test/fixtures/contact-corpus.jsonl, the labelled corpus of the contact-detail detector
// (`npx tsx scripts/generate-contact-corpus.ts`). Seeded: the same file on every run.
//
// One JSON object a line: { id, text, previous?, expected, category, lang, split }.
//   expected: the kinds of contact detail in `text` ([] for a hard negative); with `previous`
//             (earlier messages of the same sender, oldest first) the detail may start there.
//   split:    "dev" or "holdout". Held out by sentence frame (hash of the hand-written frame), so
//             the held-out messages use phrasings the detector was never tuned on. The probe
//             messages (probe-cases.ts), written later and tuned on, are always dev.
// Positives: hand-written frames in five languages × contact details in every disguise
// (scripts/contact-corpus/positives.ts); phone numbers are checked with libphonenumber-js's
// reference validation; plus hand-written unusual cases (hard-cases.ts). Negatives: hand-written marketplace talk (negatives.ts) and frames with
// random prices, dates, times, sizes, order numbers and addresses (negative-frames.ts), and
// hand-written ones with long numbers, codes and lists (hard-cases.ts).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { HARD_NEGATIVES, HARD_POSITIVES } from "./contact-corpus/hard-cases.js";
import { NEGATIVE_FRAMES, fillNegative } from "./contact-corpus/negative-frames.js";
import { PROBE_NEGATIVES, PROBE_POSITIVES } from "./contact-corpus/probe-cases.js";
import { NEGATIVES } from "./contact-corpus/negatives.js";
import {
  EMAIL_FRAMES, HANDLE_FRAMES, INVITE_FRAMES, LANGS, LINK_FRAMES, PHONE_FRAMES, fill, handleName, makePhone, writeEmail, writeLink, writePhone,
  type EmailStyle, type Kind, type PhoneStyle, type Sample,
} from "./contact-corpus/positives.js";
import { nationalWritten, splitGroups } from "./contact-corpus/phones.js";
import { Rng, hash } from "./contact-corpus/rng.js";
import { digitWord, type Lang } from "./contact-corpus/spell-numbers.js";

const rng = new Rng(20240514);
const samples: Sample[] = [];

const add = (s: Sample) => samples.push(s);
const capitalize = (s: string) => (rng.chance(0.5) ? s.replace(/^\p{Ll}/u, (c) => c.toUpperCase()) : s);
const tail = () => rng.pick(["", "", "", " 🙂", " !", " merci", " thx", " 👍", "."]).replace(" merci", "").replace(" thx", rng.chance(0.5) ? " thx" : "");

// Cycle through a language's frames so every frame is used before any is used twice.
const cursors = new Map<string, number>();
function nextFrame(key: string, frames: readonly string[]): string {
  const i = cursors.get(key) ?? rng.int(0, frames.length - 1);
  cursors.set(key, i + 1);
  return frames[i % frames.length]!;
}

const PHONE_PLAN: [PhoneStyle, string, number][] = [
  ["plain", "phone_plain", 4],
  ["international", "phone_international", 4],
  ["separators", "phone_separators", 4],
  ["emoji", "phone_emoji", 3],
  ["keycap", "phone_emoji", 2],
  ["spelled_digits", "phone_spelled", 3],
  ["spelled_pairs", "phone_spelled", 3],
  ["spelled_international", "phone_spelled", 1],
  ["mixed", "phone_mixed", 3],
  ["lookalike", "phone_lookalike", 3],
  ["invisible", "phone_invisible", 2],
];

const EMAIL_PLAN: [EmailStyle, string, number][] = [
  ["plain", "email_plain", 3],
  ["spelled", "email_spelled", 4],
  ["brackets", "email_spelled", 2],
  ["spaced", "email_spelled", 1],
  ["provider_only", "email_spelled", 2],
  ["lookalike", "email_lookalike", 2],
  ["invisible", "email_lookalike", 1],
];

const SPLIT_LEADS: Record<Lang, readonly string[]> = {
  en: ["my number is", "ok so it's", "call me on", ""],
  fr: ["mon numéro c'est le", "appelle-moi au", "c'est le", ""],
  de: ["meine Nummer:", "ruf an unter", "also", ""],
  es: ["mi número es el", "llámame al", "apunta", ""],
  it: ["il mio numero è", "chiamami al", "segna", ""],
};
const SPLIT_TAILS: Record<Lang, readonly string[]> = {
  en: ["", " thanks", " (mobile)", " any time"],
  fr: ["", " merci", " voilà", " après 18h"],
  de: ["", " danke", " abends", " gerne"],
  es: ["", " gracias", " por la tarde", " vale?"],
  it: ["", " grazie", " dopo le 18", " ok?"],
};

for (const lang of LANGS) {
  // Phone numbers in one message.
  for (const [style, category, count] of PHONE_PLAN)
    for (let i = 0; i < count; i++) {
      const frame = nextFrame(`phone-${lang}`, PHONE_FRAMES[lang]);
      const phone = writePhone(makePhone(lang, rng), style, lang, rng);
      add({ text: capitalize(fill(frame, phone)) + tail(), expected: ["phone"], category, lang, template: frame });
    }
  // Phone numbers split over two or three messages.
  for (let i = 0; i < 4; i++) {
    const p = makePhone(lang, rng);
    const groups = splitGroups(p.national, p.groups.length >= 3 ? p.groups : [4, 3, 4]);
    const three = groups.length >= 3 && rng.chance(0.5);
    const cut1 = three ? 1 : Math.ceil(groups.length / 2);
    const cut2 = three ? 2 : groups.length;
    const spell = rng.chance(0.3);
    const show = (gs: string[]) => (spell ? gs.map((g) => [...g].map((d) => digitWord(Number(d), lang)).join(" ")).join(" ") : gs.join(" "));
    const lead = rng.pick(SPLIT_LEADS[lang]);
    const parts = [groups.slice(0, cut1), groups.slice(cut1, cut2), groups.slice(cut2)].filter((g) => g.length > 0).map(show);
    parts[0] = `${lead} ${parts[0]}`.trim();
    const last = parts.pop()! + rng.pick(SPLIT_TAILS[lang]);
    add({ previous: parts, text: last, expected: ["phone"], category: "phone_split", lang, template: `split-${lang}-${lead}` });
  }
  // E-mail addresses.
  for (const [style, category, count] of EMAIL_PLAN)
    for (let i = 0; i < count; i++) {
      const frame = nextFrame(`email-${lang}`, EMAIL_FRAMES[lang]);
      add({ text: capitalize(fill(frame, writeEmail(lang, style, rng))) + tail(), expected: ["email"], category, lang, template: frame });
    }
  // Links.
  for (let i = 0; i < 6; i++) {
    const frame = nextFrame(`link-${lang}`, LINK_FRAMES[lang]);
    const link = writeLink(lang, makePhone(lang, rng), rng);
    const category = ["spelled", "lookalike", "invisible"].includes(link.disguise) ? "link_disguised" : "link";
    add({ text: capitalize(fill(frame, link.text)), expected: ["link"], category, lang, template: frame });
  }
  // Messenger handles and invitations.
  for (const frame of HANDLE_FRAMES[lang]) add({ text: capitalize(fill(frame, handleName(rng))) + tail(), expected: ["handle"], category: "handle", lang, template: frame });
  for (const frame of INVITE_FRAMES[lang]) add({ text: frame, expected: ["handle"], category: "handle_invite", lang, template: frame });
  // Two details in one message.
  const both: Record<Lang, string> = {
    en: "Call {p} or email {e}, whichever suits",
    fr: "Tél {p} ou mail {e}",
    de: "Tel. {p} oder per Mail an {e}",
    es: "Llámame al {p} o escribe a {e}",
    it: "Chiamami al {p} oppure scrivi a {e}",
  };
  const p = makePhone(lang, rng);
  add({
    text: both[lang].replace("{p}", nationalWritten(p, " ")).replace("{e}", writeEmail(lang, "plain", rng)),
    expected: ["email", "phone"],
    category: "multiple",
    lang,
    template: both[lang],
  });

  // Hard negatives.
  for (const entry of NEGATIVES[lang]) {
    const [category, a, b] = entry;
    if (b === undefined) add({ text: a as string, expected: [], category, lang, template: a as string });
    else add({ previous: [...(a as readonly string[])], text: b, expected: [], category, lang, template: b });
  }
  for (const [category, frame] of NEGATIVE_FRAMES[lang])
    for (let i = 0; i < 2; i++) add({ text: fillNegative(frame, lang, rng), expected: [], category, lang, template: frame });
}

for (const [lang, category, expected, text] of HARD_POSITIVES) add({ text, expected: [...expected], category, lang, template: text });
for (const [lang, category, text] of HARD_NEGATIVES) add({ text, expected: [], category, lang, template: text });

// Probe messages were tuned on (probe-cases.ts): always in the dev part.
for (const [lang, category, expected, text] of PROBE_POSITIVES) add({ text, expected: [...expected], category, lang, template: text, dev: true });
for (const [lang, text] of PROBE_NEGATIVES) add({ text, expected: [], category: "neg_probe", lang, template: text, dev: true });

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "test", "fixtures", "contact-corpus.jsonl");
mkdirSync(dirname(out), { recursive: true });
const counters = new Map<string, number>();
const lines = samples.map((s) => {
  const prefix = `${s.expected.length ? "p" : "n"}-${s.lang}`;
  const n = (counters.get(prefix) ?? 0) + 1;
  counters.set(prefix, n);
  const line: Record<string, unknown> = { id: `${prefix}-${String(n).padStart(3, "0")}`, text: s.text };
  if (s.previous) line.previous = s.previous;
  line.expected = [...new Set<Kind>(s.expected)].sort();
  line.category = s.category;
  line.lang = s.lang;
  line.split = !s.dev && hash(s.template) % 5 === 0 ? "holdout" : "dev";
  return JSON.stringify(line);
});
writeFileSync(out, `${lines.join("\n")}\n`);
const positives = samples.filter((s) => s.expected.length > 0).length;
const holdout = lines.filter((l) => l.includes('"split":"holdout"')).length;
console.log(`${samples.length} messages (${positives} with contact details, ${samples.length - positives} hard negatives; ${holdout} held out) → ${out}`);
