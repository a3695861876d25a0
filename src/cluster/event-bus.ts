// Live events leave a node through an EventBus and reach the nodes that asked for them. The bus
// knows nothing of chat: an event is any JSON value, addressed to targets (user ids) or to every
// node. A node receives the copies addressed to targets it joined (a user's first socket on the
// node joins, the last one leaving leaves) and every copy addressed to all nodes.
//
// Order: the copies on one target reach every node that joined it in the order their publishes
// were accepted. Two nodes publishing one conversation's messages are not ordered against each
// other: the delivering node puts messages back in seq order (realtime/seq-orderer.ts, README
// "Ordering"). Exactly once: a node gets each copy once per target it
// joined; copies for two targets the node joined are two deliveries, each for its own target's
// sockets (the receiving side makes sure a socket in both targets' rooms emits once).

/** publish()'s audience meaning "every node", for rare events every node must see (bans, broadcasts). */
export const EVERY_NODE = null;
export type Audience = readonly string[] | typeof EVERY_NODE;

/** `target` is the user id whose copy this is, or null for a copy addressed to every node. */
export type EventHandler<E> = (event: E, target: string | null) => void;

export interface BusHealth {
  ok: boolean;
  /** Why not, when not ok ("subscriber connection down", "restoring 1200 subscriptions"). */
  reason?: string;
}

export interface EventBus<E> {
  /** Resolves once every copy was accepted (one round trip for the copies of one event). */
  publish(event: E, audience: Audience): Promise<void>;
  subscribe(handler: EventHandler<E>): void;
  /**
   * This node wants `target`'s copies; reference counted (one call per socket). Resolves once
   * they flow to this node, so a socket told "connected" misses nothing published after that; at
   * once when they already flow or when the bus is down (it restores them when it is back).
   */
  join(target: string): Promise<void>;
  /** One join's worth less; the node stops receiving `target` when none is left. */
  leave(target: string): void;
  /** Whether copies flow: the subscriber connections are up and every joined target restored. */
  health(): BusHealth;
  close(): Promise<void>;
}

/** Reference counts of joined targets, with the changes since the last flush (batching). */
export class JoinCounts {
  private readonly counts = new Map<string, number>();

  /** Returns true when this made the target joined (0 → 1). */
  add(target: string): boolean {
    const n = (this.counts.get(target) ?? 0) + 1;
    this.counts.set(target, n);
    return n === 1;
  }

  /** Returns true when this left the target unjoined (1 → 0). Unknown targets are ignored. */
  remove(target: string): boolean {
    const n = this.counts.get(target);
    if (n === undefined) return false;
    if (n > 1) {
      this.counts.set(target, n - 1);
      return false;
    }
    this.counts.delete(target);
    return true;
  }

  has(target: string): boolean {
    return this.counts.has(target);
  }

  get size(): number {
    return this.counts.size;
  }

  keys(): IterableIterator<string> {
    return this.counts.keys();
  }

  clear(): void {
    this.counts.clear();
  }
}
