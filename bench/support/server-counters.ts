// What the servers themselves counted during a step: SQL statements, messages stored and (once the
// service has group commit) the sizes of the batches it wrote. Read from each node's GET /metrics
// (Prometheus text) before and after the step, summed over the nodes, and turned into per-step
// figures: statements per message and the batch-size histogram. A metric a node does not expose
// is null, and everything computed from it is reported "n/a".

/** Histogram buckets as Prometheus exposes them: cumulative counts by upper bound (le). */
export interface BucketCounts {
  /** [upper bound, cumulative count], ascending by bound; +Inf is Infinity. */
  buckets: [number, number][];
  sum: number;
  count: number;
}

export interface ServerCounters {
  /** SQL statements sent to PostgreSQL, summed over the nodes; null when not exposed. */
  statements: number | null;
  /** Messages stored, summed over the nodes; null when not exposed. */
  messages: number | null;
  /** marketchat_send_batch_size over the nodes; null when no node exposes it. */
  batchSize: BucketCounts | null;
  /** marketchat_delivery_order_total by outcome (held, fetched, dropped) over the nodes; null when absent. */
  deliveryOrder?: DeliveryOrder | null;
}

/** Messages the delivering nodes held for a missing seq, fetched to fill a gap, dropped as repeats. */
export interface DeliveryOrder {
  held: number;
  fetched: number;
  dropped: number;
}

/** Batch sizes of one step. Percentiles are bucket upper bounds ("≤ 8"), "+Inf" past the last. */
export interface BatchSizeSummary {
  batches: number;
  items: number;
  mean: number | null;
  p50: number | "+Inf" | null;
  p90: number | "+Inf" | null;
  /** Upper bound of the highest non-empty bucket. */
  max: number | "+Inf" | null;
  /** Non-cumulative count per bucket (upper bound as written by the server), for the JSON. */
  byBucket: Record<string, number>;
}

export interface StepServerStats {
  statements: number | null;
  /** Stored messages: the servers' own count, or the completed deliveries when they have none. */
  messages: number;
  messagesFrom: "server" | "completed";
  statementsPerMessage: number | null;
  batchSize: BatchSizeSummary | null;
  /** Delivery ordering during the step (null when the servers do not count it). */
  deliveryOrder: DeliveryOrder | null;
}

export const BATCH_SIZE_METRIC = "marketchat_send_batch_size";
export const STATEMENTS_METRIC = "marketchat_db_statements_total";
export const MESSAGES_METRIC = "marketchat_messages_sent_total";
export const DELIVERY_ORDER_METRIC = "marketchat_delivery_order_total";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Sample lines of a Prometheus text exposition (comments and malformed lines are skipped). */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const raw of text.split("\n")) {
    if (raw.startsWith("#")) continue;
    const m = line.exec(raw.trim());
    if (!m) continue;
    const value = parseValue(m[3]!);
    if (Number.isNaN(value)) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(label)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value });
  }
  return samples;
}

function parseValue(s: string): number {
  if (s === "+Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  return Number(s);
}

/** Sum of every series of `name`; null when there is none. */
function total(samples: Sample[], name: string): number | null {
  const found = samples.filter((s) => s.name === name);
  return found.length === 0 ? null : found.reduce((n, s) => n + s.value, 0);
}

/** A histogram's buckets summed over every series (nodes, other labels); null when absent. */
export function histogramOf(samples: Sample[], name: string): BucketCounts | null {
  const byBound = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || s.labels.le === undefined) continue;
    const le = parseValue(s.labels.le);
    byBound.set(le, (byBound.get(le) ?? 0) + s.value);
  }
  if (byBound.size === 0) return null;
  return {
    buckets: [...byBound.entries()].sort((a, b) => a[0] - b[0]),
    sum: total(samples, `${name}_sum`) ?? 0,
    count: total(samples, `${name}_count`) ?? byBound.get(Infinity) ?? 0,
  };
}

export function countersOf(texts: string[]): ServerCounters {
  const samples = texts.flatMap(parsePrometheus);
  return {
    statements: total(samples, STATEMENTS_METRIC),
    messages: total(samples, MESSAGES_METRIC),
    batchSize: histogramOf(samples, BATCH_SIZE_METRIC),
    deliveryOrder: deliveryOrderOf(samples),
  };
}

function deliveryOrderOf(samples: Sample[]): DeliveryOrder | null {
  const found = samples.filter((s) => s.name === DELIVERY_ORDER_METRIC);
  if (found.length === 0) return null;
  const sum = (outcome: string) => found.filter((s) => s.labels.outcome === outcome).reduce((n, s) => n + s.value, 0);
  return { held: sum("held"), fetched: sum("fetched"), dropped: sum("dropped") };
}

/** The service's nodes: GET /metrics of each, summed. */
export async function scrapeServiceCounters(urls: string[]): Promise<ServerCounters> {
  const texts = await Promise.all(
    urls.map(async (url) => {
      const res = await fetch(`${url}/metrics`);
      if (!res.ok) throw new Error(`${url}/metrics: ${res.status}`);
      return res.text();
    }),
  );
  return countersOf(texts);
}

/** The naive reference's GET /stats (statements and stored messages), summed over its processes. */
export async function scrapeReferenceCounters(urls: string[]): Promise<ServerCounters> {
  let statements = 0;
  let messages = 0;
  for (const url of urls) {
    const stats = (await (await fetch(`${url}/stats`)).json()) as { statements: number; stored: number };
    statements += stats.statements;
    messages += stats.stored;
  }
  return { statements, messages, batchSize: null };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The histogram of what happened between two readings (counters only grow, unless a node restarted). */
export function bucketDelta(before: BucketCounts | null, after: BucketCounts | null): BucketCounts | null {
  if (!after) return null;
  const prior = new Map(before?.buckets ?? []);
  return {
    buckets: after.buckets.map(([le, n]) => [le, Math.max(0, n - (prior.get(le) ?? 0))]),
    sum: Math.max(0, after.sum - (before?.sum ?? 0)),
    count: Math.max(0, after.count - (before?.count ?? 0)),
  };
}

/** Upper bound of the first bucket holding the q-quantile (cumulative ≥ q × count). */
function bucketQuantile(h: BucketCounts, q: number): number | "+Inf" | null {
  if (h.count === 0) return null;
  const rank = q * h.count;
  for (const [le, cumulative] of h.buckets) if (cumulative >= rank) return le === Infinity ? "+Inf" : le;
  return "+Inf";
}

export function summarizeBatchSizes(h: BucketCounts): BatchSizeSummary {
  const byBucket: Record<string, number> = {};
  let previous = 0;
  let max: number | "+Inf" | null = null;
  for (const [le, cumulative] of h.buckets) {
    const n = cumulative - previous;
    previous = cumulative;
    byBucket[le === Infinity ? "+Inf" : String(le)] = n;
    if (n > 0) max = le === Infinity ? "+Inf" : le;
  }
  return {
    batches: h.count,
    items: h.sum,
    mean: h.count > 0 ? round2(h.sum / h.count) : null,
    p50: bucketQuantile(h, 0.5),
    p90: bucketQuantile(h, 0.9),
    max,
    byBucket,
  };
}

/**
 * Figures of one step from the readings around it. `completed` (messages delivered in the step)
 * stands in for the stored count when the servers expose none.
 */
export function stepServerStats(before: ServerCounters, after: ServerCounters, completed: number): StepServerStats {
  const delta = (a: number | null, b: number | null) => (a === null || b === null ? null : Math.max(0, b - a));
  const statements = delta(before.statements, after.statements);
  const stored = delta(before.messages, after.messages);
  const messages = stored ?? completed;
  const batch = bucketDelta(before.batchSize, after.batchSize);
  return {
    statements,
    messages,
    messagesFrom: stored === null ? "completed" : "server",
    statementsPerMessage: statements === null || messages === 0 ? null : round2(statements / messages),
    batchSize: batch ? summarizeBatchSizes(batch) : null,
    deliveryOrder:
      before.deliveryOrder && after.deliveryOrder
        ? {
            held: Math.max(0, after.deliveryOrder.held - before.deliveryOrder.held),
            fetched: Math.max(0, after.deliveryOrder.fetched - before.deliveryOrder.fetched),
            dropped: Math.max(0, after.deliveryOrder.dropped - before.deliveryOrder.dropped),
          }
        : null,
  };
}

/** "≤8", ">256" (past the last bound), "-" for the table. */
export function fmtBound(v: number | "+Inf" | null, lastBound = 256): string {
  return v === null ? "-" : v === "+Inf" ? `>${lastBound}` : `≤${v}`;
}
