import { JoinCounts, type Audience, type BusHealth, type EventBus, type EventHandler } from "./event-bus.js";
import type { RedisClient } from "./redis.js";
import { ShardedSubscriptions, type SubscriberTopology } from "./redis-subscriptions.js";

export interface RedisEventBusOptions {
  /** REDIS_PREFIX: channels are `<prefix>:u:<target>` and `<prefix>:all`. */
  prefix: string;
  /** A copy that is not JSON, or a refused subscription. */
  onError: (err: Error) => void;
  /** Every copy received from Redis (metrics: what the node receives against what it delivers). */
  onReceived?: () => void;
}

/**
 * Several nodes: one sharded channel per target (a user), plus one every node listens to. An event
 * for A and B is one SPUBLISH on A's channel and one on B's, sent together (the publisher
 * connection pipelines them into one write; on a cluster, one per shard, in parallel) and awaited
 * both, so a sender holding the conversation's lock across publish() orders each channel. A node
 * subscribes to A's channel while it has A's sockets: it receives what its sockets need and
 * nothing else, so adding nodes adds fan-out capacity instead of repeating all traffic on each.
 * Redis delivers a channel's messages to a subscriber in the order it accepted them.
 */
export class RedisEventBus<E> implements EventBus<E> {
  private readonly handlers: EventHandler<E>[] = [];
  private readonly joined = new JoinCounts();
  private readonly subscriptions: ShardedSubscriptions;
  private readonly userPrefix: string;
  private readonly everyNode: string;

  constructor(
    private readonly publisher: RedisClient,
    subscribers: SubscriberTopology,
    private readonly options: RedisEventBusOptions,
  ) {
    this.userPrefix = `${options.prefix}:u:`;
    this.everyNode = `${options.prefix}:all`;
    this.subscriptions = new ShardedSubscriptions(subscribers, (channel, raw) => this.received(channel, raw), {
      onError: options.onError,
    });
    // Not awaited: the node starts (and says it is not ready) while Redis is away.
    void this.subscriptions.want(this.everyNode);
  }

  async publish(event: E, audience: Audience): Promise<void> {
    const raw = JSON.stringify(event);
    if (audience === null) {
      await this.publisher.spublish(this.everyNode, raw);
      return;
    }
    // Issued in the same turn, so they leave in one write (auto-pipelining) and are answered
    // together: one round trip for the event, whatever the number of targets.
    await Promise.all([...new Set(audience)].map((target) => this.publisher.spublish(this.userPrefix + target, raw)));
  }

  subscribe(handler: EventHandler<E>): void {
    this.handlers.push(handler);
  }

  join(target: string): Promise<void> {
    this.joined.add(target);
    return this.subscriptions.want(this.userPrefix + target);
  }

  leave(target: string): void {
    if (this.joined.remove(target)) this.subscriptions.unwant(this.userPrefix + target);
  }

  /** Targets joined (for tests and metrics). */
  get joinedCount(): number {
    return this.joined.size;
  }

  health(): BusHealth {
    const problem = this.subscriptions.problem();
    return problem ? { ok: false, reason: problem } : { ok: true };
  }

  async close(): Promise<void> {
    this.handlers.length = 0;
    this.subscriptions.close();
  }

  private received(channel: string, raw: string): void {
    this.options.onReceived?.();
    let target: string | null;
    if (channel === this.everyNode) target = null;
    else if (channel.startsWith(this.userPrefix)) target = channel.slice(this.userPrefix.length);
    else return;
    let event: E;
    try {
      event = JSON.parse(raw) as E;
    } catch (err) {
      this.options.onError(err as Error);
      return;
    }
    for (const handler of this.handlers) handler(event, target);
  }
}
