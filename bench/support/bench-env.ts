// The benchmark's own PostgreSQL database (created and migrated with the service's migrator) and
// Redis prefix, removed again afterwards. Shaped like the tests' TestEnv so that
// test/support/cluster.ts startNode can start nodes on it.
import pg from "pg";
import { Redis } from "ioredis";
import { migrate } from "../../src/db/migration-runner.js";
import type { TestEnv } from "../../test/support/app.js";
import { PG_ADMIN_URL, REDIS_URL, databaseUrl, uniqueName } from "../../test/support/env.js";

export interface BenchEnv extends TestEnv {
  databaseName: string;
  redisUrl: string;
}

export async function createBenchEnv(): Promise<BenchEnv> {
  const databaseName = uniqueName("mc_bench");
  const url = databaseUrl(databaseName);
  await migrate(url);
  const redisPrefix = uniqueName("mcbench");
  return {
    databaseName,
    databaseUrl: url,
    redisPrefix,
    redisUrl: REDIS_URL,
    async close() {
      const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
      } finally {
        await admin.end();
      }
      await deleteKeys(REDIS_URL, `${redisPrefix}*`);
    },
  };
}

async function deleteKeys(url: string, pattern: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = "0";
    do {
      const [nextCursor, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = nextCursor;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/** Server versions for the report header. */
export async function serverVersions(env: BenchEnv): Promise<{ postgres: string; redis: string }> {
  const client = new pg.Client({ connectionString: env.databaseUrl });
  await client.connect();
  let postgres: string;
  try {
    postgres = (await client.query<{ server_version: string }>("SHOW server_version")).rows[0]!.server_version;
  } finally {
    await client.end();
  }
  const redis = new Redis(env.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    const info = await redis.info("server");
    return { postgres, redis: /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown" };
  } finally {
    redis.disconnect();
  }
}
