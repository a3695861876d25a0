// Redis connections, for one Redis (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES). Each
// role gets its own connection because a subscribed connection can run nothing else, and a slow
// command on one must not delay the fan-out on another.
import { Cluster, Redis, type ClusterNode, type RedisOptions } from "ioredis";
import { ClusterTopology, SingleTopology, type SubscriberTopology } from "./redis-subscriptions.js";

/** A command connection: one Redis, or a Cluster client that routes each command by its key's slot. */
export type RedisClient = Redis | Cluster;

export type RedisTarget = { url: string } | { clusterNodes: readonly { host: string; port: number }[] };

export interface RedisConnections {
  /** Commands: presence, rate limits, readiness. */
  command: RedisClient;
  /** The event bus's SPUBLISHes, auto-pipelined: the copies of one event leave in one write. */
  publisher: RedisClient;
  /**
   * Where the event bus's SSUBSCRIBEs go: one connection for one Redis, one per master for a
   * cluster (a sharded channel lives on the shard that owns its slot).
   */
  subscribers: SubscriberTopology;
  /**
   * Presence's once-a-second proof of life: its own connection, so a queue of slow commands on
   * `command` cannot delay it, and background work stays apart in the counts.
   */
  presenceSweep: RedisClient;
  /** Commands this process sent, by connection and name (hot-path budgets are tested with it). */
  commandCounts(): Record<ConnectionName, Record<string, number>>;
  close(): Promise<void>;
}

export type ConnectionName = "command" | "publisher" | "subscriber" | "presenceSweep";

export function connectRedis(target: RedisTarget, onError: (err: Error) => void): RedisConnections {
  const counts = {} as Record<ConnectionName, Record<string, number>>;
  const count = <C extends RedisClient>(name: ConnectionName, client: C): C => {
    client.on("error", onError);
    // Every ioredis command, pipelined or not, goes through sendCommand: count it there.
    const mine: Record<string, number> = (counts[name] ??= {});
    const send = client.sendCommand.bind(client);
    client.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
      mine[command.name] = (mine[command.name] ?? 0) + 1;
      return (send as (...args: unknown[]) => unknown)(command, ...rest);
    }) as C["sendCommand"];
    return client;
  };
  // The publisher queues while Redis is away (maxRetriesPerRequest: null): the message service
  // bounds its publishes with a timeout. Command connections fail after a few retries so
  // readiness and presence calls report an outage instead of hanging.
  const options = (name: ConnectionName, maxRetriesPerRequest: number | null, extra: RedisOptions = {}): RedisOptions => ({
    connectionName: `marketchat:${name}`,
    maxRetriesPerRequest,
    ...extra,
  });
  // Subscriber connections resubscribe themselves (redis-subscriptions.ts: in batches, and
  // readiness knows when it is done), so ioredis must neither resubscribe nor replay commands
  // from before a reconnect, and commands while down fail at once instead of queueing.
  const subscriberOptions = options("subscriber", 0, {
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: false,
  });
  const all: RedisClient[] = [];
  const make = (name: ConnectionName, maxRetriesPerRequest: number | null, extra: RedisOptions = {}): RedisClient => {
    const opts = options(name, maxRetriesPerRequest, extra);
    const client =
      "url" in target
        ? new Redis(target.url, opts)
        : new Cluster(target.clusterNodes as ClusterNode[], {
            redisOptions: opts,
            // A command for a slot whose master just failed waits for the new topology.
            maxRedirections: 16,
            enableAutoPipelining: extra.enableAutoPipelining ?? false,
          });
    all.push(client);
    return count(name, client);
  };
  // Auto-pipelined: the send path's checks (the spam rule's count) from the sends of one batch
  // leave in one write instead of one each.
  const command = make("command", 3, { enableAutoPipelining: true });
  const publisher = make("publisher", null, { enableAutoPipelining: true });
  const presenceSweep = make("presenceSweep", 3);
  const subscribers =
    "url" in target
      ? new SingleTopology(count("subscriber", new Redis(target.url, subscriberOptions)))
      : new ClusterTopology(command as Cluster, (host, port) => count("subscriber", new Redis({ ...subscriberOptions, host, port })));
  return {
    command,
    publisher,
    subscribers,
    presenceSweep,
    commandCounts: () => Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, { ...v }])) as Record<ConnectionName, Record<string, number>>,
    async close() {
      await subscribers.close();
      // QUIT only on a live connection: on one that is reconnecting it would wait for Redis.
      await Promise.all(
        all.map(async (c) => {
          if (c.status !== "ready") return c.disconnect();
          await c.quit().catch(() => c.disconnect());
        }),
      );
    },
  };
}
