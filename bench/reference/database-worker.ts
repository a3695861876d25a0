// Reference ceiling (b), the database alone: the service's per-message SQL — the same statements,
// through the service's own MessageRepository (lock and read, the write, unlock) — run back to
// back by as many concurrent senders as the node's pool has connections. No sockets, no Redis, no
// JSON to clients: the most messages per second PostgreSQL can store this way here.
//
// Two forms, chosen by the request's `batch`: one message per call (`append`, today's send path),
// or `MessageRepository.appendBatch` (group commit: one statement per batch) when the repository
// has it. The batched form is looked up at run time and reported as skipped while it is missing.
// The writes themselves, and the place for the batched statement, are in ./database-writes.ts.
import { randomUUID } from "node:crypto";
import { createDatabase } from "../../src/db/database.js";
import { MessageRepository, type SendInput } from "../../src/db/message-repository.js";
import { encodeHistogram, newHistogram, recordMs } from "../support/histogram.js";
import { serveWorker } from "../support/worker.js";
import { storeMessages } from "./database-writes.js";

export interface DatabaseRunRequest {
  databaseUrl: string;
  poolSize: number;
  /** Senders running at once in this process (each waits for its call before the next). */
  concurrency: number;
  durationMs: number;
  conversations: { id: string; senderId: string }[];
  content: string;
  /** Null: one message per call (append). Else every call is one appendBatch of `size` messages. */
  batch: { size: number } | null;
}

export type DatabaseRunResult =
  | {
      stored: number;
      errors: number;
      firstError: string | null;
      ms: number;
      statements: number;
      /** Calls made: messages when unbatched, batches when batched. */
      calls: number;
      /** Latency of one call (one message, or one whole batch). */
      histogram: string;
    }
  | { skipped: string };

async function run(req: DatabaseRunRequest): Promise<DatabaseRunResult> {
  const batched = req.batch !== null;
  const db = createDatabase({ url: req.databaseUrl, poolSize: req.poolSize, applicationName: "mcbench:database-ceiling" });
  const repo = new MessageRepository(db.pool);
  const perCall = req.batch?.size ?? 1;
  const histogram = newHistogram();
  let next = 0;
  let stored = 0;
  let calls = 0;
  let errors = 0;
  let firstError: string | null = null;
  // Consecutive conversations, so a batch spans many of them, as a node's batches do under load.
  const inputs = (): SendInput[] =>
    Array.from({ length: perCall }, () => {
      const c = req.conversations[next++ % req.conversations.length]!;
      return {
        conversationId: c.id,
        senderId: c.senderId,
        admin: false,
        clientId: randomUUID(),
        content: req.content,
        replyToId: null,
        attachmentIds: [],
        unreadWebhookDelayMs: null,
        moderation: null,
      };
    });
  try {
    // Open the pool's connections before the clock starts, as a warmed-up node has them.
    await Promise.all(Array.from({ length: req.concurrency }, () => storeMessages(repo, inputs(), batched)));
    const statementsBefore = db.statementCount();
    const started = performance.now();
    const lane = async () => {
      while (performance.now() - started < req.durationMs) {
        const t0 = performance.now();
        try {
          // Awaited before the addition: `stored += await …` would read `stored` before the wait
          // and lose the other lanes' additions made meanwhile.
          const n = await storeMessages(repo, inputs(), batched);
          stored += n;
          calls += 1;
          recordMs(histogram, performance.now() - t0);
        } catch (err) {
          errors += 1;
          firstError ??= (err as Error).message;
        }
      }
    };
    await Promise.all(Array.from({ length: req.concurrency }, lane));
    const ms = performance.now() - started;
    return { stored, errors, firstError, ms: Math.round(ms), statements: db.statementCount() - statementsBefore, calls, histogram: encodeHistogram(histogram) };
  } finally {
    await db.close();
  }
}

serveWorker({ run });
