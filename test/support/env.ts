import { readFileSync } from "node:fs";
import { Cluster, Redis } from "ioredis";
import type { RedisClient, RedisTarget } from "../../src/cluster/redis.js";

// Where the test services are. Both default to the machine's own PostgreSQL and Redis.
export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
/**
 * Seed nodes of a Redis Cluster ("host:port,…"), set for the "redis-cluster" project by
 * test/support/redis-cluster-setup.ts, which starts a private 3-master cluster: the suites that
 * touch Redis then run on it instead of REDIS_URL.
 */
export const REDIS_CLUSTER_NODES = process.env.TEST_REDIS_CLUSTER_FILE
  ? readFileSync(process.env.TEST_REDIS_CLUSTER_FILE, "utf8").trim()
  : undefined;

/** connectRedis()'s target for this run. */
export const REDIS_TARGET: RedisTarget = REDIS_CLUSTER_NODES
  ? {
      clusterNodes: REDIS_CLUSTER_NODES.split(",").map((hostPort) => {
        const [host, port] = hostPort.split(":");
        return { host: host!, port: Number(port) };
      }),
    }
  : { url: REDIS_URL };

/** The node's Redis variable for this run: REDIS_URL, or REDIS_CLUSTER_NODES on the cluster. */
export const REDIS_ENV: Record<string, string> = REDIS_CLUSTER_NODES ? { REDIS_CLUSTER_NODES } : { REDIS_URL };

/** REDIS_ENV unless the test sets its own Redis variable. */
export function redisEnv(overrides: Record<string, string | undefined>): Record<string, string> {
  return "REDIS_URL" in overrides || "REDIS_CLUSTER_NODES" in overrides ? {} : REDIS_ENV;
}

/** A plain command connection for tests (a Cluster client on the cluster). */
export function testRedis(): RedisClient {
  return "url" in REDIS_TARGET ? new Redis(REDIS_TARGET.url) : new Cluster(REDIS_TARGET.clusterNodes as { host: string; port: number }[]);
}

export function databaseUrl(name: string): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

/** Deletes the keys matching `pattern` (on every master of a cluster: KEYS sees one node's keys). */
export async function deleteTestKeys(client: RedisClient, pattern: string): Promise<void> {
  const nodes = client instanceof Cluster ? client.nodes("master") : [client];
  for (const node of nodes) {
    const keys = await node.keys(pattern);
    // One DEL per key: on a cluster, keys of different slots cannot share a command.
    for (const key of keys) await node.del(key);
  }
}
