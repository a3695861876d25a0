// Scores the contact-detail detector on the labelled corpus (test/fixtures/contact-corpus.jsonl):
// used by the quality gate in test/contact-info.test.ts and by `npm run bench:contact`.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { detectAcrossMessages, detectContactInfo, type ContactDetectorOptions, type ContactKind } from "../../src/moderation/contact-info.js";

export interface CorpusEntry {
  id: string;
  text: string;
  previous?: string[];
  expected: ContactKind[];
  category: string;
  lang: string;
  split: "dev" | "holdout";
}

/** The marketplace the corpus is written for: its own links are allowed. */
export const CORPUS_OPTIONS: ContactDetectorOptions = { allowedDomains: ["mymarket.com"] };

export const CORPUS_PATH = fileURLToPath(new URL("../fixtures/contact-corpus.jsonl", import.meta.url));

export function loadCorpus(path = CORPUS_PATH): CorpusEntry[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as CorpusEntry);
}

/** What the send path reports for a message: its own details plus those completed across messages. */
export function detectedKinds(entry: CorpusEntry, options: ContactDetectorOptions = CORPUS_OPTIONS): ContactKind[] {
  const spans = detectContactInfo(entry.text, options);
  if (entry.previous?.length) spans.push(...detectAcrossMessages(entry.previous, entry.text, options));
  return [...new Set(spans.map((s) => s.kind))].sort();
}

export interface Counts {
  messages: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  /** Positives found with exactly the expected kinds. */
  kindsExact: number;
}

export interface Scores extends Counts {
  precision: number | null;
  recall: number | null;
  kindAccuracy: number | null;
}

export interface Outcome {
  entry: CorpusEntry;
  detected: ContactKind[];
}

export function evaluate(entries: readonly CorpusEntry[], options: ContactDetectorOptions = CORPUS_OPTIONS): Outcome[] {
  return entries.map((entry) => ({ entry, detected: detectedKinds(entry, options) }));
}

export function score(outcomes: readonly Outcome[]): Scores {
  const c: Counts = { messages: 0, tp: 0, fp: 0, fn: 0, tn: 0, kindsExact: 0 };
  for (const { entry, detected } of outcomes) {
    c.messages++;
    const expected = entry.expected.length > 0;
    const found = detected.length > 0;
    if (expected && found) c.tp++;
    else if (expected) c.fn++;
    else if (found) c.fp++;
    else c.tn++;
    if (expected && found && detected.join() === [...entry.expected].sort().join()) c.kindsExact++;
  }
  return {
    ...c,
    precision: c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : null,
    recall: c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : null,
    kindAccuracy: c.tp > 0 ? c.kindsExact / c.tp : null,
  };
}

export function isMiss(o: Outcome): boolean {
  return (o.entry.expected.length > 0) !== (o.detected.length > 0);
}
