// Throughput and latency at stepped offered load: the same ladder of rates for every system, one
// step after another until the system saturates (it no longer keeps up with the offered rate, or
// its p99 delivery latency passes a bound), runs out of steps, or out of its time budget.
import type { BenchPair, ConnectRequest, ConnectResult, Integrity, StepRequest, StepResult, SystemKind } from "../load/chat-load-worker.js";
import { summarizeEncoded, type LatencySummary } from "../support/histogram.js";
import { CpuMeter } from "../support/proc-stats.js";
import { fmtBound, stepServerStats, type ServerCounters, type StepServerStats } from "../support/server-counters.js";
import type { Worker } from "../support/worker.js";

export interface SystemUnderTest {
  kind: SystemKind;
  label: string;
  urls: string[];
  /** Server processes by name, for CPU figures. */
  pids: Record<string, number>;
  /**
   * The servers' own counters (statements, messages stored, batch sizes), read before and after
   * each step; absent for a system that counts nothing (the transport reference).
   */
  counters?: () => Promise<ServerCounters>;
}

export interface Ladder {
  startRate: number;
  factor: number;
  maxSteps: number;
  stepMs: number;
  drainMaxMs: number;
  /** Keeps up: delivered/offered at least this. */
  minDeliveredRatio: number;
  /** A step whose p99 send→deliver exceeds this counts as saturated. */
  maxP99Ms: number;
  /** performance.now() after which no new step starts. */
  deadline: number;
}

export interface ThroughputStep {
  offered: number;
  sent: number;
  acked: number;
  errors: Record<string, number>;
  completed: number;
  unfinished: number;
  deliveredPerSec: number;
  ack: LatencySummary;
  deliver: LatencySummary;
  saturated: boolean;
  reason: string | null;
  cpu: { processes: Record<string, number | null>; machineBusyPct: number };
  generator: StepResult["generator"][];
  /**
   * What the servers counted during the step (drain included): SQL statements per stored message
   * and the batch sizes of group commit. Null when the system has no counters or reading failed.
   */
  server: StepServerStats | null;
  /** Warm-up only: conversation:join calls that failed (see chat-load-worker join()). */
  joinFailures?: number;
  firstJoinError?: string | null;
}

export interface ThroughputResult {
  system: SystemKind;
  label: string;
  pairs: number;
  sockets: number;
  connectMs: number;
  steps: ThroughputStep[];
  maxDeliveredPerSec: number;
  stoppedBecause: string;
}

export function ladderRates(l: Pick<Ladder, "startRate" | "factor" | "maxSteps">): number[] {
  return Array.from({ length: l.maxSteps }, (_, i) => Math.round(l.startRate * l.factor ** i));
}

/** Splits the pairs over the load generators and connects every pair's sockets. */
export async function connectPairs(loadgens: Worker[], sut: SystemUnderTest, pairs: BenchPair[], content: string) {
  const shares = loadgens.map((_, g) => pairs.filter((__, i) => i % loadgens.length === g));
  const results = await Promise.all(
    loadgens.map((w, g) =>
      w.call<ConnectResult>("connect", { system: sut.kind, urls: sut.urls, pairs: shares[g]!, content } satisfies ConnectRequest),
    ),
  );
  return {
    sockets: results.reduce((n, r) => n + r.sockets, 0),
    ms: Math.max(...results.map((r) => r.ms)),
    joinFailures: results.reduce((n, r) => n + r.joinFailures, 0),
    firstJoinError: results.find((r) => r.firstJoinError)?.firstJoinError ?? null,
  };
}

/** One step on every load generator at once (each offers its share of the rate). */
export async function runStep(loadgens: Worker[], sut: SystemUnderTest, req: StepRequest, warmup = false): Promise<ThroughputStep> {
  const counters = warmup ? undefined : sut.counters;
  const before = counters ? await readCounters(counters) : null;
  const meter = new CpuMeter(sut.pids);
  const share = { ...req, rate: req.rate / loadgens.length };
  const parts = await Promise.all(
    loadgens.map((w) => w.call<StepResult & { joinFailures?: number; firstJoinError?: string | null }>(warmup ? "warmup" : "step", share)),
  );
  const cpu = meter.read();
  const after = counters && before ? await readCounters(counters) : null;
  const sum = (f: (r: StepResult) => number) => parts.reduce((n, r) => n + f(r), 0);
  const errors: Record<string, number> = {};
  for (const p of parts) for (const [code, n] of Object.entries(p.errors)) errors[code] = (errors[code] ?? 0) + n;
  return {
    offered: req.rate,
    sent: sum((r) => r.sent),
    acked: sum((r) => r.acked),
    errors,
    completed: sum((r) => r.completed),
    unfinished: sum((r) => r.unfinished),
    deliveredPerSec: sum((r) => r.deliveredPerSec),
    ack: summarizeEncoded(parts.map((p) => p.ackHistogram)),
    deliver: summarizeEncoded(parts.map((p) => p.deliverHistogram)),
    saturated: false,
    reason: null,
    cpu,
    generator: parts.map((p) => p.generator),
    server: before && after ? stepServerStats(before, after, parts.reduce((n, r) => n + r.completed, 0)) : null,
    ...(warmup
      ? {
          joinFailures: parts.reduce((n, p) => n + (p.joinFailures ?? 0), 0),
          firstJoinError: parts.find((p) => p.firstJoinError)?.firstJoinError ?? null,
        }
      : {}),
  };
}

/** A reading of the servers' counters; null (the step's figures then "n/a") when it fails. */
async function readCounters(read: () => Promise<ServerCounters>): Promise<ServerCounters | null> {
  try {
    return await read();
  } catch {
    return null;
  }
}

export async function runLadder(
  loadgens: Worker[],
  sut: SystemUnderTest,
  ladder: Ladder,
  log: (line: string) => void,
): Promise<{ steps: ThroughputStep[]; stoppedBecause: string }> {
  const steps: ThroughputStep[] = [];
  for (const rate of ladderRates(ladder)) {
    if (performance.now() + ladder.stepMs > ladder.deadline) return { steps, stoppedBecause: "time budget" };
    const step = await runStep(loadgens, sut, { label: `${rate}/s`, rate, durationMs: ladder.stepMs, drainMaxMs: ladder.drainMaxMs });
    const reasons: string[] = [];
    if (step.deliveredPerSec < rate * ladder.minDeliveredRatio) reasons.push(`delivered ${step.deliveredPerSec}/s < ${Math.round(ladder.minDeliveredRatio * 100)}% of offered`);
    if (step.unfinished > 0) reasons.push(`${step.unfinished} unfinished after ${ladder.drainMaxMs} ms drain`);
    if (step.deliver.p99 > ladder.maxP99Ms) reasons.push(`p99 ${step.deliver.p99} ms > ${ladder.maxP99Ms} ms`);
    const errorCount = Object.values(step.errors).reduce((a, b) => a + b, 0);
    if (errorCount > 0) reasons.push(`${errorCount} errors`);
    step.saturated = reasons.length > 0;
    step.reason = reasons.join("; ") || null;
    steps.push(step);
    log(
      `  ${sut.label.padEnd(10)} offered ${String(rate).padStart(5)}/s → delivered ${String(step.deliveredPerSec).padStart(5)}/s, ` +
        `deliver p50 ${step.deliver.p50} p99 ${step.deliver.p99} ms, ack p99 ${step.ack.p99} ms, machine CPU ${step.cpu.machineBusyPct}%` +
        serverLine(step.server) +
        (step.saturated ? `  [saturated: ${step.reason}]` : ""),
    );
    if (step.saturated) return { steps, stoppedBecause: "saturated" };
  }
  return { steps, stoppedBecause: "last step of the ladder" };
}

/** ", SQL/msg 2.00, batches 812 mean 3.1 p50 ≤4 p90 ≤8 max ≤16" (batch sizes "n/a" until the nodes expose them). */
export function serverLine(server: StepServerStats | null): string {
  if (!server) return "";
  const b = server.batchSize;
  return (
    `, SQL/msg ${server.statementsPerMessage ?? "n/a"}` +
    (b ? `, batches ${b.batches} mean ${b.mean ?? "-"} p50 ${fmtBound(b.p50)} p90 ${fmtBound(b.p90)} max ${fmtBound(b.max)}` : ", batch sizes n/a") +
    (server.deliveryOrder ? `, order held ${server.deliveryOrder.held} fetched ${server.deliveryOrder.fetched} dropped ${server.deliveryOrder.dropped}` : "")
  );
}

export async function verifyDelivery(loadgens: Worker[], idleMs: number): Promise<Integrity> {
  const parts = await Promise.all(loadgens.map((w) => w.call<Integrity>("verify", { idleMs })));
  const first = parts[0]!;
  const sum = (f: (i: Integrity) => number) => parts.reduce((n, p) => n + f(p), 0);
  return {
    system: first.system,
    sockets: sum((p) => p.sockets),
    messages: sum((p) => p.messages),
    lost: sum((p) => p.lost),
    duplicated: sum((p) => p.duplicated),
    outOfOrder: sum((p) => p.outOfOrder),
    unexpected: sum((p) => p.unexpected),
    unanswered: sum((p) => p.unanswered),
    disconnects: sum((p) => p.disconnects),
    method: first.method,
  };
}
