// Writes listing changes into their conversations as system messages, in the background (README,
// "Listing changes in the thread"). Every node runs one: it polls for unfinished changes (a change
// whose node died is claimable again once its lease runs out) and is woken at once by a PUT on its
// own node. One change at a time per node, in batches of `batchSize` conversations; between
// batches it yields (`batchPauseMs`, at least one turn of the event loop), so a listing with 10,000
// conversations shares the node with live traffic instead of stalling it. Claiming, fencing and
// exactly-once are the repository's (db/listing-change-repository.ts).
import type { ClaimedChange, ListingChangeRepository } from "../db/listing-change-repository.js";
import type { MessageRecord } from "../db/records.js";
import type { PublishEvent } from "./events.js";
import type { Presenter } from "./presenter.js";

export interface ListingChangeWorkerOptions {
  /** Conversations per batch statement (LISTING_CHANGE_BATCH_SIZE). */
  batchSize: number;
  /** How long a claim holds without renewal; each batch renews it (LISTING_CHANGE_LEASE_MS). */
  leaseMs: number;
  /** How often an idle worker looks for changes left by others (LISTING_CHANGE_POLL_INTERVAL_MS). */
  pollIntervalMs: number;
  /** Pause between batches (LISTING_CHANGE_BATCH_PAUSE_MS). */
  batchPauseMs: number;
}

export interface ListingChangeWorkerDeps {
  repository: ListingChangeRepository;
  /** MessageRepository.acquireLocal: this node's per-conversation send queue. */
  acquireLocal: (conversationId: string) => Promise<() => void>;
  presenter: Presenter;
  publish: PublishEvent;
  onError: (err: unknown, what: string) => void;
  /** Called per stored system message (metrics). */
  onStored?: (count: number) => void;
}

export class ListingChangeWorker {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** A wake-up that arrived while running: run again right after. */
  private again = false;
  private stopped = false;

  constructor(
    private readonly options: ListingChangeWorkerOptions,
    private readonly deps: ListingChangeWorkerDeps,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.wake(), this.options.pollIntervalMs);
    this.timer.unref();
    this.wake();
  }

  /** Runs now (a PUT on this node recorded a change), or right after the current run. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err) => this.deps.onError(err, "listing change worker"))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Stops polling and waits for the batch in progress; an unfinished change is resumed by a node later. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Works changes until none is claimable. */
  private async drain(): Promise<void> {
    while (!this.stopped) {
      const change = await this.deps.repository.claim(this.options.leaseMs);
      if (!change) return;
      await this.work(change);
    }
  }

  /**
   * Writes one claimed change to the end. Stopped or failed midway (a deadlock victim, a lost
   * connection), it gives the change back so that the next poll, here or on another node, resumes
   * it after the last committed batch without waiting for the lease to run out.
   */
  private async work(claimed: ClaimedChange): Promise<void> {
    const held = { change: claimed };
    try {
      if (await this.batches(held)) return;
    } catch (err) {
      await this.deps.repository.release(held.change).catch(() => undefined);
      throw err;
    }
    await this.deps.repository.release(held.change);
  }

  /** True when the change is finished or another node holds it now; false when stopped. */
  private async batches(held: { change: ClaimedChange }): Promise<boolean> {
    const { repository } = this.deps;
    const { batchSize, leaseMs, batchPauseMs } = this.options;
    let change = held.change;
    for (;;) {
      if (this.stopped) return false;
      const ids = await repository.nextConversations(change.listingId, change.cursor, batchSize);
      if (ids.length === 0) {
        await repository.finish(change);
        return true;
      }
      // Same order as an offer: the local queues, then the advisory locks (in the repository).
      const releases: (() => void)[] = [];
      let result;
      try {
        for (const id of ids) releases.push(await this.deps.acquireLocal(id));
        result = await repository.writeBatch(change, ids, leaseMs, (stored) => this.publish(stored));
      } finally {
        releases.forEach((release) => release());
      }
      // Another node took the change over (this one was too slow to renew): it carries on.
      if (!result.leased) return true;
      if (result.messages.length > 0) this.deps.onStored?.(result.messages.length);
      change = held.change = { ...change, cursor: ids.at(-1)!, lease: result.lease };
      if (ids.length < batchSize) {
        await repository.finish(change);
        return true;
      }
      await new Promise((resolve) => (batchPauseMs > 0 ? setTimeout(resolve, batchPauseMs) : setImmediate(resolve)));
    }
  }

  /**
   * message:new to both participants; `notification` to the buyer only, for whom it is unread.
   * A failed publish is logged, not retried: the message is stored and clients catch up over HTTP.
   */
  private async publish(stored: { message: MessageRecord; buyerId: string; sellerId: string }[]): Promise<void> {
    await Promise.all(
      stored.map(({ message, buyerId, sellerId }) =>
        this.deps
          .publish({
            type: "message.created",
            to: [buyerId, sellerId],
            ...this.deps.presenter.shared(message),
            recipientId: buyerId,
            opened: null,
          })
          .catch((err) => this.deps.onError(err, "publish listing change message")),
      ),
    );
  }
}
