import { JoinCounts, type Audience, type BusHealth, type EventBus, type EventHandler } from "./event-bus.js";

/**
 * Single node: copies go straight to this node's handlers, in publish order, for the targets it
 * joined (the same rule as the Redis backend, so the rules above see one behaviour).
 */
export class LocalEventBus<E> implements EventBus<E> {
  private readonly handlers: EventHandler<E>[] = [];
  private readonly joined = new JoinCounts();

  async publish(event: E, audience: Audience): Promise<void> {
    if (audience === null) {
      for (const handler of this.handlers) handler(event, null);
      return;
    }
    for (const target of new Set(audience)) {
      if (!this.joined.has(target)) continue;
      for (const handler of this.handlers) handler(event, target);
    }
  }

  subscribe(handler: EventHandler<E>): void {
    this.handlers.push(handler);
  }

  async join(target: string): Promise<void> {
    this.joined.add(target);
  }

  leave(target: string): void {
    this.joined.remove(target);
  }

  /** Targets joined (for tests and metrics). */
  get joinedCount(): number {
    return this.joined.size;
  }

  health(): BusHealth {
    return { ok: true };
  }

  async close(): Promise<void> {
    this.handlers.length = 0;
    this.joined.clear();
  }
}
