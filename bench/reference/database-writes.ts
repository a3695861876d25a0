// The writes of the database ceiling (bench/reference/database-worker.ts), apart from the worker so
// that they can be tested without a process around them.
import { MessageRepository, type SendInput } from "../../src/db/message-repository.js";

/**
 * Writes `inputs` and resolves once all of them are stored, with the send path's batch statement:
 * `batched` false — one statement per message (a node's batches when it is idle); `batched`
 * true — one `appendBatch(inputs)` call for all of them (a busy node's batches).
 * Throws when an item is not stored (the benchmark's inputs are all valid: that is a bug).
 * Resolves with the number of messages stored.
 */
export async function storeMessages(repo: MessageRepository, inputs: SendInput[], batched: boolean): Promise<number> {
  let stored = 0;
  for (const batch of batched ? [inputs] : inputs.map((input) => [input])) {
    const outcomes = await repo.appendBatch(batch, null);
    const refused = outcomes.find((o) => o.kind !== "stored");
    if (refused) throw new Error(`not stored: ${refused.kind}`);
    stored += outcomes.length;
  }
  return stored;
}

