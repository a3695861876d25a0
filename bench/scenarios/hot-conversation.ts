// Hot conversation: one conversation receiving messages at a high rate from both participants —
// the buyer's socket on node 1, the seller's on node 2, so every message crosses nodes — while the
// other pairs send at a moderate rate. Group commit must not serialize a busy conversation behind
// its own lock nor slow the rest down: reported are the hot conversation's send→deliver latency
// and its delivery check (every seq once and in order on both sockets), and the others' latency.
import type { BenchPair, ConnectRequest, ConnectResult, Integrity, StepResult } from "../load/chat-load-worker.js";
import { stepServerStats, type StepServerStats } from "../support/server-counters.js";
import type { Worker } from "../support/worker.js";
import { runStep, verifyDelivery, type SystemUnderTest, type ThroughputStep } from "./throughput.js";

export interface HotConversationResult {
  /** Offered messages/s into the hot conversation (buyer and seller alternate: half each). */
  rate: number;
  /** Offered messages/s over all the other conversations, at the same time. */
  backgroundRate: number;
  durationMs: number;
  conversationId: string;
  /** Node of each participant's one socket. */
  placement: { buyer: string; seller: string };
  warmup: { completed: number; errors: Record<string, number>; joinFailures: number };
  hot: ThroughputStep;
  /** Null when the background rate is 0. */
  background: ThroughputStep | null;
  /** The hot conversation's delivery check, on its two sockets. */
  integrity: Integrity;
  /** What the servers counted over both (hot + background), drain included. */
  server: StepServerStats | null;
}

export async function runHotConversation(opts: {
  /** A load generator of its own, holding only the hot conversation's two sockets. */
  hotWorker: Worker;
  /** The load generators already holding the other pairs (connected and warmed up). */
  loadgens: Worker[];
  sut: SystemUnderTest;
  pair: BenchPair;
  content: string;
  rate: number;
  backgroundRate: number;
  durationMs: number;
  drainMaxMs: number;
  warmupDrainMs: number;
  verifyIdleMs: number;
  log: (line: string) => void;
}): Promise<HotConversationResult> {
  const { hotWorker, sut, log } = opts;
  const seller = Math.min(1, sut.urls.length - 1);
  await hotWorker.call<ConnectResult>("connect", {
    system: sut.kind,
    urls: sut.urls,
    pairs: [opts.pair],
    content: opts.content,
    placement: [{ buyer: [0], seller: [seller] }],
  } satisfies ConnectRequest);
  try {
    const warm = await hotWorker.call<StepResult & { joinFailures: number }>("warmup", { drainMaxMs: opts.warmupDrainMs });
    // The counters are read once around both loads (the steps' own readings would overlap).
    const quiet: SystemUnderTest = { ...sut, counters: undefined };
    const before = sut.counters ? await sut.counters().catch(() => null) : null;
    const step = { durationMs: opts.durationMs, drainMaxMs: opts.drainMaxMs };
    const [hot, background] = await Promise.all([
      runStep([hotWorker], quiet, { label: "hot", rate: opts.rate, ...step }),
      opts.backgroundRate > 0
        ? runStep(opts.loadgens, quiet, { label: "hot-background", rate: opts.backgroundRate, ...step })
        : Promise.resolve(null),
    ]);
    const after = sut.counters && before ? await sut.counters().catch(() => null) : null;
    const server = before && after ? stepServerStats(before, after, hot.completed + (background?.completed ?? 0)) : null;
    const integrity = await verifyDelivery([hotWorker], opts.verifyIdleMs);
    const result: HotConversationResult = {
      rate: opts.rate,
      backgroundRate: opts.backgroundRate,
      durationMs: opts.durationMs,
      conversationId: opts.pair.conversationId,
      placement: { buyer: `${sut.label}-1`, seller: `${sut.label}-${seller + 1}` },
      warmup: { completed: warm.completed, errors: warm.errors, joinFailures: warm.joinFailures },
      hot,
      background,
      integrity,
      server,
    };
    log(hotLine(result));
    return result;
  } finally {
    await hotWorker.call("close");
  }
}

export function hotLine(r: HotConversationResult): string {
  const i = r.integrity;
  return (
    `  hot conversation ${r.rate}/s (buyer on ${r.placement.buyer}, seller on ${r.placement.seller}) → delivered ${r.hot.deliveredPerSec}/s, ` +
    `deliver p50 ${r.hot.deliver.p50} p99 ${r.hot.deliver.p99} ms, errors ${Object.values(r.hot.errors).reduce((a, b) => a + b, 0)}; ` +
    `lost ${i.lost}, duplicated ${i.duplicated}, out of order ${i.outOfOrder} over ${i.messages} messages × ${i.sockets} sockets` +
    (r.background
      ? `; the others at ${r.backgroundRate}/s: delivered ${r.background.deliveredPerSec}/s, deliver p50 ${r.background.deliver.p50} p99 ${r.background.deliver.p99} ms`
      : "")
  );
}
