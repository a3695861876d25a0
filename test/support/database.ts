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
    drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
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
