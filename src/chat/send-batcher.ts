// Group commit of sends (README, "Sending: group commit"). Sends that arrive while this node's
// write is in flight wait in a queue and go to PostgreSQL together in the next write: one
// statement for up to `maxBatch` sends across any conversations. No timer: an idle node writes a
// send at once, a busy one writes bigger batches.
//
// - Attempts of one (conversation, sender, clientId) queued or in flight are merged: one write,
//   one outcome, which the later attempts see as "already stored".
// - Two sends naming one attachment never share a batch: the later waits for the next one,
//   which then refuses it as already used.
// - A failed batch: a store that is not answering fails every item (nothing was written; clients
//   retry with the same clientId). Any other error is retried item by item, so one item that the
//   statement cannot take fails alone and the others are stored.
// - The queue is bounded: beyond `queueLimit` a send is answered `unavailable` at once.
import type { BatchOutcome, SendInput } from "../db/message-repository.js";
import { AppError } from "../errors/errors.js";

export interface SendBatcherOptions {
  /** Writes one batch, one outcome per input in order (MessageRepository.appendBatch). */
  write: (inputs: SendInput[]) => Promise<BatchOutcome[]>;
  /** Most sends in one statement (SEND_BATCH_MAX). */
  maxBatch: number;
  /** Most sends waiting on this node (SEND_QUEUE_LIMIT). */
  queueLimit: number;
  /** Whether an error means the store is not answering (then the whole batch fails). */
  isUnavailable: (err: unknown) => boolean;
  /** Each batch written, with its size (metrics). */
  onBatch?: (size: number) => void;
}

export interface Submitted {
  outcome: BatchOutcome;
  /** Another attempt of the same clientId was already queued or in flight: this one wrote nothing. */
  merged: boolean;
}

interface Pending {
  input: SendInput;
  key: string;
  resolve: (outcome: BatchOutcome) => void;
  reject: (err: unknown) => void;
}

const keyOf = (input: SendInput) => `${input.conversationId}\u0000${input.senderId}\u0000${input.clientId}`;

export class SendBatcher {
  private queue: Pending[] = [];
  /** Every queued or in-flight send, by its idempotency key. */
  private readonly byKey = new Map<string, Promise<BatchOutcome>>();
  private writing = false;

  constructor(private readonly options: SendBatcherOptions) {}

  /** Sends waiting for a write (metrics, readiness). */
  get queued(): number {
    return this.queue.length;
  }

  async submit(input: SendInput): Promise<Submitted> {
    const key = keyOf(input);
    const running = this.byKey.get(key);
    if (running) return { outcome: await running, merged: true };
    if (this.queue.length >= this.options.queueLimit) {
      throw new AppError("unavailable", "Too many messages are waiting to be stored on this node; retry shortly", 1_000);
    }
    const promise = new Promise<BatchOutcome>((resolve, reject) => this.queue.push({ input, key, resolve, reject }));
    this.byKey.set(key, promise);
    if (!this.writing) void this.run();
    return { outcome: await promise, merged: false };
  }

  private async run(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.take();
        this.options.onBatch?.(batch.length);
        await this.writeBatch(batch);
        for (const p of batch) this.byKey.delete(p.key);
      }
    } finally {
      this.writing = false;
    }
  }

  /** The next batch in arrival order; a send sharing an attachment with an earlier one waits. */
  private take(): Pending[] {
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    const claimed = new Set<string>();
    for (const p of this.queue) {
      const ids = p.input.attachmentIds;
      if (batch.length >= this.options.maxBatch || ids.some((id) => claimed.has(id))) {
        rest.push(p);
        continue;
      }
      for (const id of ids) claimed.add(id);
      batch.push(p);
    }
    this.queue = rest;
    return batch;
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    try {
      const outcomes = await this.options.write(batch.map((p) => p.input));
      batch.forEach((p, i) => p.resolve(outcomes[i]!));
    } catch (err) {
      if (batch.length === 1 || this.options.isUnavailable(err)) {
        for (const p of batch) p.reject(err);
        return;
      }
      // Something in the batch the statement could not take: each alone, so only it fails.
      for (const p of batch) {
        try {
          const [outcome] = await this.options.write([p.input]);
          p.resolve(outcome!);
        } catch (itemErr) {
          p.reject(itemErr);
        }
      }
    }
  }
}
