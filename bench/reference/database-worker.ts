// Reference ceiling (b), the database alone: the service's per-message SQL — the same three
// statements, through the service's own MessageRepository (lock and read, the write, unlock) —
// run back to back by as many concurrent senders as the node's pool has connections. No sockets,
// no Redis, no JSON to clients: the most messages per second PostgreSQL can store this way here.
import { randomUUID } from "node:crypto";
import { createDatabase } from "../../src/db/database.js";
import { MessageRepository } from "../../src/db/message-repository.js";
import { encodeHistogram, newHistogram, recordMs } from "../support/histogram.js";
import { serveWorker } from "../support/worker.js";

export interface DatabaseRunRequest {
  databaseUrl: string;
  poolSize: number;
  concurrency: number;
  durationMs: number;
  conversations: { id: string; senderId: string }[];
  content: string;
}

export interface DatabaseRunResult {
  stored: number;
  errors: number;
  firstError: string | null;
  ms: number;
  statements: number;
  histogram: string;
}

async function run(req: DatabaseRunRequest): Promise<DatabaseRunResult> {
  const db = createDatabase({ url: req.databaseUrl, poolSize: req.poolSize, applicationName: "mcbench:database-ceiling" });
  const repo = new MessageRepository(db.pool);
  const histogram = newHistogram();
  let next = 0;
  let stored = 0;
  let errors = 0;
  let firstError: string | null = null;
  const sendOne = async () => {
    const c = req.conversations[next++ % req.conversations.length]!;
    const clientId = randomUUID();
    const outcome = await repo.append({
      conversationId: c.id,
      senderId: c.senderId,
      admin: false,
      clientId,
      content: req.content,
      replyToId: null,
      attachmentIds: [],
      unreadWebhookDelayMs: null,
      moderation: null,
    });
    if (!outcome) throw new Error(`conversation ${c.id} not found for ${c.senderId}`);
    try {
      if (outcome.kind !== "stored") throw new Error(`not stored: ${outcome.kind}`);
    } finally {
      await outcome.lock.release();
    }
  };
  try {
    // Open the pool's connections before the clock starts, as a warmed-up node has them.
    await Promise.all(Array.from({ length: req.concurrency }, () => sendOne()));
    const statementsBefore = db.statementCount();
    const started = performance.now();
    const lane = async () => {
      while (performance.now() - started < req.durationMs) {
        const t0 = performance.now();
        try {
          await sendOne();
          stored += 1;
          recordMs(histogram, performance.now() - t0);
        } catch (err) {
          errors += 1;
          firstError ??= (err as Error).message;
        }
      }
    };
    await Promise.all(Array.from({ length: req.concurrency }, lane));
    const ms = performance.now() - started;
    return { stored, errors, firstError, ms: Math.round(ms), statements: db.statementCount() - statementsBefore, histogram: encodeHistogram(histogram) };
  } finally {
    await db.close();
  }
}

serveWorker({ run });
