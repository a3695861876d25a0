import pg from "pg";
import { inject } from "vitest";
import { PG_ADMIN_URL, databaseUrl, uniqueName } from "./env.js";

/** A fresh, migrated database of this test file's own; drop() removes it. */
export async function createTestDatabase(): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const template = inject("templateDatabase");
  const name = uniqueName("mc_test");
  await adminQuery(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  return {
    name,
    url: databaseUrl(name),
    drop: () => dropWhenIdle(name),
  };
}

/**
 * Drops the database once the connections of the apps that used it are gone. Pools resolve
 * end() while their last connections are still saying goodbye; FORCE-terminating one of those
 * makes the server send it a FATAL that surfaces as an unhandled error in the test process.
 * FORCE stays for connections a failed test left open.
 */
async function dropWhenIdle(name: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    for (let waited = 0; waited < 5_000; waited += 50) {
      const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1`, [name]);
      if (rows[0]!.n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
