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
  /**
   * Presence's once-a-second proof of life: its own connection, so a queue of slow commands on
   * `command` cannot delay it, and background work stays apart in the counts.
   */
  presenceSweep: Redis;
  /** Commands this process sent, by connection and name (hot-path budgets are tested with it). */
  commandCounts(): Record<ConnectionName, Record<string, number>>;
  close(): Promise<void>;
}

export type ConnectionName = "command" | "adapterPub" | "adapterSub" | "eventsPub" | "eventsSub" | "presenceSweep";

export function connectRedis(url: string, onError: (err: Error) => void): RedisConnections {
  // Pub/sub connections queue their commands while Redis is away (maxRetriesPerRequest: null):
  // the Socket.IO adapter does not handle rejected publishes, and our own publishes are bounded
  // by a timeout in the message service. The command connection fails after a few retries so
  // readiness and presence calls report an outage instead of hanging.
  const counts = {} as Record<ConnectionName, Record<string, number>>;
  const make = (name: ConnectionName, maxRetriesPerRequest: number | null = null) => {
    const client = new Redis(url, {
      connectionName: `marketchat:${name}`,
      maxRetriesPerRequest,
    });
    client.on("error", onError);
    // Every ioredis command, pipelined or not, goes through sendCommand: count it there.
    const mine: Record<string, number> = (counts[name] = {});
    const send = client.sendCommand.bind(client);
    client.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
      mine[command.name] = (mine[command.name] ?? 0) + 1;
      return (send as (...args: unknown[]) => unknown)(command, ...rest);
    }) as Redis["sendCommand"];
    return client;
  };
  const conns: Record<ConnectionName, Redis> = {
    command: make("command", 3),
    adapterPub: make("adapterPub"),
    adapterSub: make("adapterSub"),
    eventsPub: make("eventsPub"),
    eventsSub: make("eventsSub"),
    presenceSweep: make("presenceSweep", 3),
  };
  return {
    ...conns,
    commandCounts: () => Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, { ...v }])) as Record<ConnectionName, Record<string, number>>,
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
