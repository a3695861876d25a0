// The one place where the node chooses between one node and many: with REDIS_URL (one Redis) or
// REDIS_CLUSTER_NODES (a Redis Cluster) every store that must be shared (fan-out, presence, rate
// limits) gets its Redis backend; without either, its in-memory backend. The rules only ever see
// the interfaces.
import type { Config } from "../config/config.js";
import type { EventBus } from "./event-bus.js";
import { LocalEventBus } from "./local-event-bus.js";
import { RedisEventBus } from "./redis-event-bus.js";
import type { PresenceStore } from "./presence-store.js";
import { LocalPresenceStore } from "./local-presence-store.js";
import { RedisPresenceStore } from "./redis-presence-store.js";
import type { RateLimiter } from "./rate-limiter.js";
import { LocalRateLimiter } from "./local-rate-limiter.js";
import { RedisRateLimiter } from "./redis-rate-limiter.js";
import type { DuplicateCounter } from "./duplicate-counter.js";
import { LocalDuplicateCounter } from "./local-duplicate-counter.js";
import { RedisDuplicateCounter } from "./redis-duplicate-counter.js";
import { connectRedis, type RedisConnections } from "./redis.js";

export interface ClusterBackends<E> {
  /** Null when running as a single node. */
  redis: RedisConnections | null;
  bus: EventBus<E>;
  presenceStore: PresenceStore;
  rateLimiter: RateLimiter;
  /** The spam rule's shared count of identical texts across conversations. */
  duplicates: DuplicateCounter;
  /** Readiness of the shared store, if there is one. */
  ping: (() => Promise<unknown>) | null;
  close(): Promise<void>;
}

export interface BackendLog {
  info(msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface BackendHooks {
  /** Every bus copy this node received from Redis (metrics). */
  onBusMessage?: () => void;
}

export function createClusterBackends<E>(config: Config, log: BackendLog, hooks: BackendHooks = {}): ClusterBackends<E> {
  const target = config.REDIS_CLUSTER_NODES
    ? { clusterNodes: config.REDIS_CLUSTER_NODES }
    : config.REDIS_URL
      ? { url: config.REDIS_URL }
      : null;
  if (!target) {
    const bus = new LocalEventBus<E>();
    const rateLimiter = new LocalRateLimiter();
    return {
      redis: null,
      bus,
      presenceStore: new LocalPresenceStore(),
      rateLimiter,
      duplicates: new LocalDuplicateCounter(),
      ping: null,
      async close() {
        await bus.close();
        await rateLimiter.close();
      },
    };
  }
  const redis = connectRedis(target, (err) => log.warn({ err: err.message }, "redis error"));
  const bus = new RedisEventBus<E>(redis.publisher, redis.subscribers, {
    prefix: config.REDIS_PREFIX,
    onError: (err) => log.error({ err }, "event bus error"),
    ...(hooks.onBusMessage ? { onReceived: hooks.onBusMessage } : {}),
  });
  const rateLimiter = new RedisRateLimiter(redis.command, {
    prefix: config.REDIS_PREFIX,
    onError: (err) => log.warn({ err: err.message }, "rate limits unavailable (Redis): allowing requests"),
    onRecover: () => log.info("rate limits available again"),
  });
  return {
    redis,
    bus,
    presenceStore: new RedisPresenceStore(redis.command, {
      prefix: config.REDIS_PREFIX,
      nodeId: config.NODE_ID,
      ttlMs: config.PRESENCE_TTL_MS,
      graceMs: config.PRESENCE_GRACE_MS,
      sweepConnection: redis.presenceSweep,
    }),
    rateLimiter,
    duplicates: new RedisDuplicateCounter(redis.command, {
      prefix: config.REDIS_PREFIX,
      onError: (err) => log.warn({ err: err.message }, "spam duplicate counts unavailable (Redis): allowing messages"),
      onRecover: () => log.info("spam duplicate counts available again"),
    }),
    ping: () => redis.command.ping(),
    async close() {
      await bus.close();
      await rateLimiter.close();
      await redis.close();
    },
  };
}
