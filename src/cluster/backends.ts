// The one place where the node chooses between one node and many: with REDIS_URL every store
// that must be shared (fan-out, presence, rate limits, the Socket.IO adapter) gets its Redis
// backend; without it, its in-memory backend. The rules only ever see the interfaces.
import { createAdapter } from "@socket.io/redis-adapter";
import type { Adapter } from "socket.io-adapter";
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
import { connectRedis, type RedisConnections } from "./redis.js";

export interface ClusterBackends {
  /** Null when running as a single node. */
  redis: RedisConnections | null;
  bus: EventBus;
  presenceStore: PresenceStore;
  rateLimiter: RateLimiter;
  /** The Socket.IO adapter factory; undefined: Socket.IO's in-memory default. */
  adapter: ((nsp: unknown) => Adapter) | undefined;
  /** Readiness of the shared store, if there is one. */
  ping: (() => Promise<unknown>) | null;
  close(): Promise<void>;
}

export interface BackendLog {
  info(msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export function createClusterBackends(config: Config, log: BackendLog): ClusterBackends {
  if (!config.REDIS_URL) {
    const bus = new LocalEventBus();
    const rateLimiter = new LocalRateLimiter();
    return {
      redis: null,
      bus,
      presenceStore: new LocalPresenceStore(),
      rateLimiter,
      adapter: undefined,
      ping: null,
      async close() {
        await bus.close();
        await rateLimiter.close();
      },
    };
  }
  const redis = connectRedis(config.REDIS_URL, (err) => log.warn({ err: err.message }, "redis error"));
  const bus = new RedisEventBus(redis.eventsPub, redis.eventsSub, `${config.REDIS_PREFIX}:events`, (err) =>
    log.error({ err }, "bad event on the bus"),
  );
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
    adapter: createAdapter(redis.adapterPub, redis.adapterSub, { key: `${config.REDIS_PREFIX}:sio` }) as (nsp: unknown) => Adapter,
    ping: () => redis.command.ping(),
    async close() {
      await bus.close();
      await rateLimiter.close();
      await redis.close();
    },
  };
}
