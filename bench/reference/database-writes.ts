// The writes of the database ceiling (bench/reference/database-worker.ts), apart from the worker so
// that they can be tested without a process around them.
import { MessageRepository, type SendInput } from "../../src/db/message-repository.js";

// ---------------------------------------------------------------------------------------------
// The batched statement (group commit). MessageRepository.appendBatch does not exist on main yet:
// its shape here is what the batched ceiling needs of it, checked at run time, never imported.
// ---------------------------------------------------------------------------------------------

/**
 * What this benchmark reads of a `BatchOutcome`: `kind` ("stored" counts as written), and a lock
 * to release if the outcome holds one (today's append returns one; a batch may not).
 * TODO(group commit): replace with `BatchOutcome` from src/db/message-repository.ts once it exists.
 */
interface BatchOutcomeLike {
  kind: string;
  lock?: { release(): Promise<void> };
}
type AppendBatch = (inputs: SendInput[]) => Promise<BatchOutcomeLike[]>;

/** The repository's appendBatch, bound, or null when this build of the service has none. */
export function appendBatchOf(repo: MessageRepository): AppendBatch | null {
  const fn = (repo as unknown as { appendBatch?: unknown }).appendBatch;
  return typeof fn === "function" ? (fn as AppendBatch).bind(repo) : null;
}

/** Whether this build of the service has appendBatch at all (checked before starting any worker). */
export const hasAppendBatch = (): boolean => appendBatchOf(MessageRepository.prototype) !== null;

export const BATCH_MISSING = "MessageRepository.appendBatch is not there yet (src/db/message-repository.ts)";

/**
 * >>> THE PLACE FOR THE BATCHED STATEMENT (database ceiling of group commit) <<<
 *
 * Writes `inputs` and resolves once all of them are stored, as the send path would: `batched`
 * false — one `append` per message, lock released after the write (today); `batched` true — one
 * `appendBatch(inputs)` call, whatever it needs per batch (unlock, …) done before resolving.
 * Throws when an item is not stored (the benchmark's inputs are all valid: that is a bug).
 * Resolves with the number of messages stored.
 */
export async function storeMessages(repo: MessageRepository, inputs: SendInput[], batched: boolean): Promise<number> {
  if (!batched) {
    let stored = 0;
    for (const input of inputs) {
      const outcome = await repo.append(input);
      if (!outcome) throw new Error(`conversation ${input.conversationId} not found for ${input.senderId}`);
      try {
        if (outcome.kind !== "stored") throw new Error(`not stored: ${outcome.kind}`);
        stored += 1;
      } finally {
        await outcome.lock.release();
      }
    }
    return stored;
  }
  const appendBatch = appendBatchOf(repo);
  if (!appendBatch) throw new Error(BATCH_MISSING);
  // TODO(group commit): adjust to BatchOutcome; this assumes one outcome per input, in order.
  const outcomes = await appendBatch(inputs);
  await Promise.all(outcomes.map((o) => o.lock?.release()));
  if (outcomes.length !== inputs.length) throw new Error(`appendBatch answered ${outcomes.length} outcomes for ${inputs.length} inputs`);
  const refused = outcomes.find((o) => o.kind !== "stored");
  if (refused) throw new Error(`not stored: ${refused.kind}`);
  return outcomes.length;
}

