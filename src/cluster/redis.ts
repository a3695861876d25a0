// Redis connections. Each role gets its own connection because a subscribed connection can run
// nothing else, and a slow command on one must not delay the fan-out on another.
import { Redis } from "ioredis";

export interface RedisConnections {
  /** Commands: presence, rate limits, readiness. */
  command: Redis;
  /** Socket.IO adapter publish / subscribe. */
  adapterPub: Redis;
  adapterSub: Redis;
  /** Ordered chat event fan-out (cluster/redis-event-bus.ts). */
  eventsPub: Redis;
  eventsSub: Redis;
  close(): Promise<void>;
}

export function connectRedis(url: string, onError: (err: Error) => void): RedisConnections {
  const make = (name: string) => {
    const client = new Redis(url, {
      connectionName: `marketchat:${name}`,
      // Commands wait while reconnecting instead of failing at once; readiness reports the outage.
      maxRetriesPerRequest: 3,
      lazyConnect: false,
    });
    client.on("error", onError);
    return client;
  };
  const conns = {
    command: make("command"),
    adapterPub: make("adapter-pub"),
    adapterSub: make("adapter-sub"),
    eventsPub: make("events-pub"),
    eventsSub: make("events-sub"),
  };
  return {
    ...conns,
    async close() {
      await Promise.all(
        Object.values(conns).map((c) => (c.status === "end" ? undefined : c.quit().catch(() => c.disconnect()))),
      );
    },
  };
}
