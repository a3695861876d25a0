// The writes of the database ceiling (bench/reference/database-worker.ts), apart from the worker so
// that they can be tested without a process around them.
import { MessageRepository, type SendInput } from "../../src/db/message-repository.js";

/**
 * Writes `inputs` and resolves once all of them are stored: `batched` false — one `append` per
 * message, its lock released after the write (the single-send statement, as offers still use it);
 * `batched` true — one `appendBatch(inputs)` call, the statement of the send path's group commit.
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
  const outcomes = await repo.appendBatch(inputs, null);
  const refused = outcomes.find((o) => o.kind !== "stored");
  if (refused) throw new Error(`not stored: ${refused.kind}`);
  return outcomes.length;
}

