// What one bench run measured, as the orchestration (bench/run.ts) gathers it and the report reads it.
import type { Integrity } from "../load/chat-load-worker.js";
import type { HotConversationResult } from "../scenarios/hot-conversation.js";
import type { ConnectionsResult } from "../scenarios/connections.js";
import type { MessageCost } from "../scenarios/message-cost.js";
import type { ThroughputResult } from "../scenarios/throughput.js";
import type { LatencySummary } from "../support/histogram.js";

export interface SystemResult extends ThroughputResult {
  warmup: { sent: number; completed: number; errors: Record<string, number>; joinFailures: number };
  integrity: Integrity | null;
  cost: Omit<MessageCost, "step"> | null;
}

export interface DatabaseResult {
  processes: number;
  poolSize: number;
  concurrency: number;
  conversations: number;
  stored: number;
  errors: number;
  firstError: string | null;
  perSec: number;
  statementsPerMessage: number;
  /** Null: one message per call (append); else messages per appendBatch call. */
  batchSize: number | null;
  /** Calls made (messages, or batches). */
  calls: number;
  /** Latency of one call: one message's statements, or one whole batch. */
  latency: LatencySummary;
}

/** Every scenario's result; null when skipped or failed. */
export interface RunResults {
  service: SystemResult | null;
  transport: SystemResult | null;
  naive: SystemResult | null;
  database: DatabaseResult | null;
  /** The batched statement (MessageRepository.appendBatch) as the ceiling; skipped while it is missing. */
  databaseBatched: DatabaseResult | { skipped: string } | { failed: string } | null;
  /** One conversation at a high rate across two nodes while the rest of the load runs. */
  hot: HotConversationResult | null;
  connections: ConnectionsResult | null;
  upload: unknown;
}

export const KB = 1024;
export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
