// `npm run bench:contact [-- --failures]`
//
// The contact-detail detector on the labelled corpus (test/fixtures/contact-corpus.jsonl):
//   - precision and recall per category, per language and overall, for the dev part, the
//     held-out part and both (a message counts as detected when any contact detail is reported;
//     "kinds" is the share of detected positives reported with exactly the expected kinds);
//   - per-message cost of detectContactInfo on 300-character messages (p50/p99 µs), for the
//     corpus mix (about half carry a contact detail) and for negatives only (typical traffic),
//     and of detectAcrossMessages with two earlier 300-character messages. Two views: every call
//     timed (on a shared machine this includes preemption), and per message the fastest of its
//     ROUNDS runs (its own cost with the machine's load filtered out), p50/p99 over messages.
// Writes bench/results/contact-detection.json. `--failures` lists the dev part's misses (never
// the held-out part's: those stay unseen while tuning). Exits 1 if the corpus misses the targets
// (recall ≥ 0.95, precision ≥ 0.98 overall), never because of a timing figure.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { detectAcrossMessages, detectContactInfo } from "../src/moderation/contact-info.js";
import { CORPUS_OPTIONS, evaluate, isMiss, loadCorpus, score, type CorpusEntry, type Outcome, type Scores } from "../test/support/contact-corpus.js";

const MESSAGE_LENGTH = 300;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 40);

const corpus = loadCorpus();
const outcomes = evaluate(corpus);

function group(list: readonly Outcome[], key: (o: Outcome) => string): Map<string, Outcome[]> {
  const out = new Map<string, Outcome[]>();
  for (const o of list) out.set(key(o), [...(out.get(key(o)) ?? []), o]);
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

const fmt = (x: number | null) => (x === null ? "  –  " : x.toFixed(3));
const row = (name: string, s: Scores) =>
  `${name.padEnd(22)} ${String(s.messages).padStart(5)} ${String(s.tp).padStart(4)} ${String(s.fn).padStart(4)} ${String(s.fp).padStart(4)} ${String(s.tn).padStart(4)}   ${fmt(s.precision)}   ${fmt(s.recall)}   ${fmt(s.kindAccuracy)}`;
const header = `${"".padEnd(22)} ${"msgs".padStart(5)} ${"tp".padStart(4)} ${"fn".padStart(4)} ${"fp".padStart(4)} ${"tn".padStart(4)}   precis.  recall   kinds`;

const parts = { all: outcomes, dev: outcomes.filter((o) => o.entry.split === "dev"), holdout: outcomes.filter((o) => o.entry.split === "holdout") };
const overall = Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, score(v)])) as Record<keyof typeof parts, Scores>;
const byCategory = Object.fromEntries([...group(outcomes, (o) => o.entry.category)].map(([k, v]) => [k, score(v)]));
const byLanguage = Object.fromEntries([...group(outcomes, (o) => o.entry.lang)].map(([k, v]) => [k, score(v)]));

console.log(`Corpus: ${corpus.length} messages (${corpus.filter((e) => e.expected.length).length} with contact details), ${parts.holdout.length} held out\n`);
console.log(header);
for (const [k, s] of Object.entries(byCategory)) console.log(row(k, s));
console.log("");
for (const [k, s] of Object.entries(byLanguage)) console.log(row(`lang ${k}`, s));
console.log("");
for (const [k, s] of Object.entries(overall)) console.log(row(`OVERALL ${k}`, s));

if (process.argv.includes("--failures")) {
  console.log("\nDev misses:");
  for (const o of parts.dev) if (isMiss(o) || (o.entry.expected.length && o.detected.join() !== [...o.entry.expected].sort().join()))
    console.log(`  ${o.entry.id} [${o.entry.category}] expected ${o.entry.expected.join(",") || "none"}, got ${o.detected.join(",") || "none"}: ${JSON.stringify(o.entry.text)}`);
}

// ---------- per-message cost ----------

/** 300-character messages made of consecutive corpus messages (cut at a code point boundary). */
function messagesOf(entries: readonly CorpusEntry[]): string[] {
  return entries.map((_, i) => {
    let text = "";
    for (let k = i; text.length < MESSAGE_LENGTH; k++) text += (text ? " " : "") + entries[k % entries.length]!.text;
    let cut = MESSAGE_LENGTH;
    if (/[\ud800-\udbff]/.test(text[cut - 1]!)) cut--;
    return text.slice(0, cut);
  });
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Cost {
  /** Over every call: what a busy machine adds (preemption, cache misses) is in these. */
  all: { p50: number; p99: number; mean: number; samples: number };
  /** Per message, the fastest of its runs (its own cost, load filtered out); then p50/p99 over messages. */
  perMessageBest: { p50: number; p99: number; max: number; messages: number };
}

function measure(name: string, run: (i: number) => unknown, count: number): Cost {
  for (let r = 0; r < 3; r++) for (let i = 0; i < count; i++) run(i); // warm-up: JIT and regex compilation
  const samples = new Float64Array(ROUNDS * count);
  const best = new Float64Array(count).fill(Infinity);
  let n = 0;
  for (let r = 0; r < ROUNDS; r++)
    for (let i = 0; i < count; i++) {
      const t0 = process.hrtime.bigint();
      run(i);
      const us = Number(process.hrtime.bigint() - t0) / 1000;
      samples[n++] = us;
      if (us < best[i]!) best[i] = us;
    }
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  samples.sort();
  best.sort();
  const cost: Cost = {
    all: { p50: percentile(samples, 50), p99: percentile(samples, 99), mean, samples: samples.length },
    perMessageBest: { p50: percentile(best, 50), p99: percentile(best, 99), max: best[best.length - 1]!, messages: count },
  };
  const f = (x: number) => x.toFixed(1).padStart(7);
  console.log(
    `${name.padEnd(42)} per message (best of ${ROUNDS}): p50 ${f(cost.perMessageBest.p50)} µs  p99 ${f(cost.perMessageBest.p99)} µs` +
      ` | all calls: p50 ${f(cost.all.p50)} µs  p99 ${f(cost.all.p99)} µs`,
  );
  return cost;
}

const mixed = messagesOf(corpus);
const negatives = messagesOf(corpus.filter((e) => e.expected.length === 0));
const loadBefore = loadavg();
console.log(`\nPer-message cost, ${MESSAGE_LENGTH}-character messages, ${ROUNDS} rounds (load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, ${cpus().length} CPUs):`);
const timing = {
  mixed: measure("detectContactInfo, corpus mix", (i) => detectContactInfo(mixed[i]!, CORPUS_OPTIONS), mixed.length),
  negativesOnly: measure("detectContactInfo, negatives only", (i) => detectContactInfo(negatives[i]!, CORPUS_OPTIONS), negatives.length),
  acrossMessages: measure("detectAcrossMessages, 2 earlier + current", (i) => detectAcrossMessages([mixed[(i + 1) % mixed.length]!, mixed[(i + 2) % mixed.length]!], mixed[i]!, CORPUS_OPTIONS), mixed.length),
};
const loadAfter = loadavg();

const targets = { recall: 0.95, precision: 0.98, p99Micros: 100 };
const met = (s: Scores) => (s.recall ?? 0) >= targets.recall && (s.precision ?? 0) >= targets.precision;
const results = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  loadAverage: { before: loadBefore, after: loadAfter },
  corpus: { messages: corpus.length, withContactDetails: corpus.filter((e) => e.expected.length).length, heldOut: parts.holdout.length },
  targets,
  overall,
  byCategory,
  byLanguage,
  timing: { messageLength: MESSAGE_LENGTH, rounds: ROUNDS, ...timing },
  targetsMet: {
    quality: met(overall.all),
    qualityHeldOut: met(overall.holdout),
    p99PerMessage: timing.mixed.perMessageBest.p99 < targets.p99Micros,
    p99AllCalls: timing.mixed.all.p99 < targets.p99Micros,
  },
};
const out = fileURLToPath(new URL("./results/contact-detection.json", import.meta.url));
mkdirSync(fileURLToPath(new URL("./results/", import.meta.url)), { recursive: true });
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
const yes = (b: boolean) => (b ? "met" : "NOT met");
console.log(
  `\nTargets: recall ≥ ${targets.recall} and precision ≥ ${targets.precision} overall ${yes(met(overall.all))}, held-out ${yes(met(overall.holdout))}; ` +
    `p99 < ${targets.p99Micros} µs per message ${yes(results.targetsMet.p99PerMessage)}, over all calls ${yes(results.targetsMet.p99AllCalls)} (load average ${loadAfter[0]!.toFixed(1)})`,
);
console.log(`Written ${out}`);
if (!met(overall.all)) process.exitCode = 1;
