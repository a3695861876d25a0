// The ordering lock of a conversation as the send path holds it: this process's mutex, then a
// pooled connection holding PostgreSQL's session-level advisory lock until release().
import type pg from "pg";
import { UNLOCK_SQL } from "./send-sql.js";

/** A query, named (prepared once per connection) when `prepared`; the name must always carry the same text. */
export function statement(prepared: boolean, name: string, text: string, values: unknown[]): pg.QueryConfig {
  return prepared ? { name, text, values } : { text, values };
}

/**
 * A conversation's ordering lock: this process's mutex for the conversation, then a pooled
 * connection holding the PostgreSQL advisory lock (which orders the nodes). `release` unlocks,
 * returns the connection, then lets the next local sender in.
 *
 * The local mutex comes first so that senders queued behind a busy conversation wait without
 * holding pooled connections: a burst into one conversation cannot starve the pool for every other
 * conversation on the node. It is also what orders sends in embedded mode, where every pooled
 * connection shares PGlite's one session and advisory locks are re-entrant.
 */
export class ConversationLock {
  private locked = true;
  constructor(
    readonly client: pg.PoolClient,
    private readonly conversationId: string,
    private readonly releaseLocal: () => void,
    private readonly prepared: boolean,
  ) {}

  /** Gives the connection back without unlocking: for when the statement took no lock. */
  abandon(): void {
    if (!this.locked) return;
    this.locked = false;
    this.client.release();
    this.releaseLocal();
  }

  async release(): Promise<void> {
    if (!this.locked) return;
    this.locked = false;
    try {
      await this.client.query(statement(this.prepared, "chat_unlock", UNLOCK_SQL, [this.conversationId]));
      this.client.release();
    } catch (err) {
      // Destroying the connection ends its session, which releases the lock anyway.
      this.client.release(err as Error);
      throw err;
    } finally {
      this.releaseLocal();
    }
  }
}
