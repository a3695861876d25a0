// The conversation ordering lock in embedded mode.
//
// On PostgreSQL a send, edit or unsend holds a session advisory lock on its conversation from its
// first statement until after the publish (message-repository.ts), so seq 6 is never published
// before seq 5. In embedded mode every pooled connection runs on PGlite's one session, where
// advisory locks are re-entrant: two sends to one conversation would both get the lock at once,
// and a first message (which reads the conversation for conversation:new before publishing) could
// be overtaken by the second. Embedded mode is one process, so a lock per conversation in this
// process gives the same guarantee. It is taken before the repository's own statement 1 and
// released after its unlock; the advisory lock underneath still runs (same SQL) and is harmless.
//
// Pool size 1 would not do instead: while holding the lock the send path reads through the pool
// again (the conversation for conversation:new, the stored message after a clientId race), so
// with one connection it would wait for itself.
import type pg from "pg";
import { MessageRepository, type ConversationLock } from "./message-repository.js";

export class EmbeddedMessageRepository extends MessageRepository {
  private readonly ordering = new KeyedMutex();

  constructor(private readonly embeddedPool: pg.Pool) {
    super(embeddedPool);
  }

  override async lockForSend(...args: Parameters<MessageRepository["lockForSend"]>) {
    const unlock = await this.ordering.acquire(args[0]);
    return holding(unlock, super.lockForSend(...args));
  }

  override async lockMessage(...args: Parameters<MessageRepository["lockMessage"]>) {
    // The lock is per conversation, and only the message id is known: a message never changes
    // conversation, so this read may precede the lock. Visibility is still checked by the
    // repository's own statement, under the lock.
    const { rows } = await this.embeddedPool.query<{ conversation_id: string }>(
      "SELECT conversation_id FROM messages WHERE id = $1",
      [args[0]],
    );
    if (!rows[0]) return null;
    const unlock = await this.ordering.acquire(rows[0].conversation_id);
    return holding(unlock, super.lockMessage(...args));
  }
}

/** Ties `unlock` to the ConversationLock the repository returns (or frees it at once if none). */
async function holding<T extends { lock: ConversationLock } | null>(unlock: () => void, locked: Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await locked;
  } catch (err) {
    unlock();
    throw err;
  }
  if (!result) {
    unlock();
    return result;
  }
  const release = result.lock.release.bind(result.lock);
  result.lock.release = async () => {
    try {
      await release();
    } finally {
      unlock();
    }
  };
  return result;
}

/** FIFO mutual exclusion per key; an idle key takes no memory. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** Resolves once the caller holds `key`, with the function that releases it (idempotent). */
  async acquire(key: string): Promise<() => void> {
    const previous = this.tails.get(key);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const tail = previous ? previous.then(() => gate) : gate;
    this.tails.set(key, tail);
    if (previous) await previous;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      open();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }

  /** Keys held or waited for (for tests). */
  get size(): number {
    return this.tails.size;
  }
}
