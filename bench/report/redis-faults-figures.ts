// The pure arithmetic of `npm run bench:redis-faults` (bench/redis-faults.ts): what one socket saw
// live, rates over time windows, gaps between acks. Kept apart from the run so that it can be
// checked on its own (test/bench-redis-faults.test.ts).

/** What one socket received live (message:new), in arrival order, for one conversation. */
export class LiveOrder {
  private maxSeq = 0;
  private readonly counts = new Map<number, number>();
  /** Arrivals of a seq lower than one already received (seq N+1 came before N). */
  orderBreaks = 0;
  /** Arrivals of a seq already received. */
  duplicates = 0;
  firstBreakAt: number | null = null;
  lastArrivalAt: number | null = null;

  receive(seq: number, at: number): void {
    this.lastArrivalAt = at;
    const seen = this.counts.get(seq) ?? 0;
    this.counts.set(seq, seen + 1);
    if (seen > 0) {
      this.duplicates++;
      return;
    }
    if (seq < this.maxSeq) {
      this.orderBreaks++;
      this.firstBreakAt ??= at;
    } else {
      this.maxSeq = seq;
    }
  }

  has(seq: number): boolean {
    return this.counts.has(seq);
  }

  /** The given seqs this socket never received live. */
  missing(seqs: Iterable<number>): number[] {
    return [...seqs].filter((s) => !this.counts.has(s));
  }
}

/** Events per second in [from, to) (times in ms), or null for an empty window. */
export function ratePerSecond(times: readonly number[], from: number, to: number): number | null {
  if (!(to > from)) return null;
  let n = 0;
  for (const t of times) if (t >= from && t < to) n++;
  return round((n * 1000) / (to - from), 1);
}

export interface CounterSample {
  t: number;
  value: number;
}

/**
 * Rate of a monotonic counter over [from, to], from the first sample at or after `from` to the
 * last at or before `to` (null when they are less than `minSpanMs` apart: too few samples).
 */
export function counterRate(samples: readonly CounterSample[], from: number, to: number, minSpanMs = 300): number | null {
  const inside = samples.filter((s) => s.t >= from && s.t <= to);
  if (inside.length < 2) return null;
  const first = inside[0]!;
  const last = inside.at(-1)!;
  if (last.t - first.t < minSpanMs) return null;
  return round(((last.value - first.value) * 1000) / (last.t - first.t), 1);
}

/**
 * The longest time in [from, to] without any event: between two events, from `from` to the first,
 * or from the last to `to`. Returns its length and where it started.
 */
export function longestGap(sortedTimes: readonly number[], from: number, to: number): { ms: number; startedAt: number } {
  let best = { ms: 0, startedAt: from };
  let previous = from;
  for (const t of sortedTimes) {
    if (t < from) continue;
    if (t > to) break;
    if (t - previous > best.ms) best = { ms: t - previous, startedAt: previous };
    previous = t;
  }
  if (to - previous > best.ms) best = { ms: to - previous, startedAt: previous };
  return best;
}

/** The first event at or after `from`, or null. */
export function firstAtOrAfter(sortedTimes: readonly number[], from: number): number | null {
  for (const t of sortedTimes) if (t >= from) return t;
  return null;
}

/**
 * The first time t ≥ `from` at which the events in (t − windowMs, t] reach `rate` per second ×
 * windowMs (acks back at the offered rate), or null if that never happens.
 */
export function firstTimeAtRate(sortedTimes: readonly number[], from: number, rate: number, windowMs = 1_000): number | null {
  const needed = Math.ceil((rate * windowMs) / 1000);
  let lo = 0;
  for (let hi = 0; hi < sortedTimes.length; hi++) {
    const t = sortedTimes[hi]!;
    while (sortedTimes[lo]! <= t - windowMs) lo++;
    if (t >= from && hi - lo + 1 >= needed) return t;
  }
  return null;
}

/**
 * Cuts [from, to) into whole buckets of `bucketMs` and returns the offset (ms from `from`) of the
 * first bucket from which on every bucket holds at least `rate` per second: the rate came back and
 * stayed. Null if even the last bucket falls short (or there is no whole bucket).
 */
export function sustainedRateFrom(sortedTimes: readonly number[], from: number, to: number, rate: number, bucketMs = 1_000): number | null {
  const buckets = Math.floor((to - from) / bucketMs);
  if (buckets < 1) return null;
  const counts = new Array<number>(buckets).fill(0);
  for (const t of sortedTimes) {
    const k = Math.floor((t - from) / bucketMs);
    if (t >= from && k < buckets) counts[k]!++;
  }
  const needed = (rate * bucketMs) / 1000;
  let first: number | null = null;
  for (let k = buckets - 1; k >= 0 && counts[k]! >= needed; k--) first = k;
  return first === null ? null : first * bucketMs;
}

/** Nearest-rank percentile of unsorted values (null when empty). */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Sum of every sample of a metric in Prometheus text format (all label sets, or those whose labels contain `label`), or null if absent. */
export function metricValue(text: string, name: string, label?: string): number | null {
  let total: number | null = null;
  const pattern = new RegExp(`^${name}(\\{[^}]*\\})? ([-\\d.e+]+|NaN)(?: \\d+)?$`, "gm");
  for (const m of text.matchAll(pattern)) {
    if (label !== undefined && !(m[1] ?? "").includes(label)) continue;
    total = (total ?? 0) + Number(m[2]);
  }
  return total;
}

export function round(n: number, digits = 0): number {
  return Math.round(n * 10 ** digits) / 10 ** digits;
}
