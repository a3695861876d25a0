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
  // Pub/sub connections queue their commands while Redis is away (maxRetriesPerRequest: null):
  // the Socket.IO adapter does not handle rejected publishes, and our own publishes are bounded
  // by a timeout in the message service. The command connection fails after a few retries so
  // readiness and presence calls report an outage instead of hanging.
  const make = (name: string, maxRetriesPerRequest: number | null = null) => {
    const client = new Redis(url, {
      connectionName: `marketchat:${name}`,
      maxRetriesPerRequest,
    });
    client.on("error", onError);
    return client;
  };
  const conns = {
    command: make("command", 3),
    adapterPub: make("adapter-pub"),
    adapterSub: make("adapter-sub"),
    eventsPub: make("events-pub"),
    eventsSub: make("events-sub"),
  };
  return {
    ...conns,
    async close() {
      // QUIT only on a live connection: on one that is reconnecting it would wait for Redis.
      await Promise.all(
        Object.values(conns).map(async (c) => {
          if (c.status !== "ready") return c.disconnect();
          await c.quit().catch(() => c.disconnect());
        }),
      );
    },
  };
}
