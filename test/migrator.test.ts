// src/db/migration-runner.ts (applying) and scripts/migration-engine.ts (status, diff) against the real PostgreSQL: a fresh database is migrated from
// prisma/migrations, then checked table by table and against `_prisma_migrations` with checksums
// computed here independently, so a wrong bookkeeping row fails the test.
import { createHash, randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { migrate } from "../src/db/migration-runner.js";
import { diff, status } from "../scripts/migration-engine.js";

const ADMIN_URL = process.env.TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const PRISMA_DIR = fileURLToPath(new URL("../prisma", import.meta.url));
const MIGRATIONS_DIR = join(PRISMA_DIR, "migrations");

// Every table schema.prisma maps to (@@map names).
const TABLES = [
  "attachments",
  "blocks",
  "broadcasts",
  "conversations",
  "listing_changes",
  "listings",
  "message_reactions",
  "messages",
  "moderation_flags",
  "offers",
  "participants",
  "reports",
  "response_samples",
  "users",
  "webhook_deliveries",
];

const dbName = `mc_migrator_${randomBytes(6).toString("hex")}`;
const dbUrl = (() => {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  return url.toString();
})();

/** Migration directories on disk with the sha256 of their migration.sql, in apply order. */
function localMigrations(): { name: string; checksum: string }[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((entry) => statSync(join(MIGRATIONS_DIR, entry)).isDirectory())
    .sort()
    .map((name) => ({
      name,
      checksum: createHash("sha256").update(readFileSync(join(MIGRATIONS_DIR, name, "migration.sql"))).digest("hex"),
    }));
}

async function query<R extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

describe("migrator", { timeout: 60_000 }, () => {
  const logLines: string[] = [];
  const log = (line: string) => logLines.push(line);

  beforeAll(async () => {
    await query(ADMIN_URL, `CREATE DATABASE "${dbName}"`);
  });

  afterAll(async () => {
    await query(ADMIN_URL, `DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  });

  it("has migrations to test with", () => {
    expect(localMigrations().length).toBeGreaterThan(0);
  });

  it("applies every migration to a fresh database and records it like prisma migrate deploy", async () => {
    const local = localMigrations();
    const { applied } = await migrate(dbUrl, { log });
    expect(applied).toEqual(local.map((m) => m.name));

    const tables = await query<{ table_name: string }>(
      dbUrl,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(tables.map((t) => t.table_name)).toEqual(["_prisma_migrations", ...TABLES].sort());

    const rows = await query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
      rolled_back_at: Date | null;
      applied_steps_count: number;
    }>(
      dbUrl,
      `SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count
         FROM _prisma_migrations ORDER BY migration_name`,
    );
    expect(rows.map((r) => ({ name: r.migration_name, checksum: r.checksum }))).toEqual(local);
    for (const row of rows) {
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }
  });

  it("creates what the schema asks for: uuid defaults, enums, descending composite indexes", async () => {
    const [idDefault] = await query<{ column_default: string }>(
      dbUrl,
      `SELECT column_default FROM information_schema.columns WHERE table_name = 'messages' AND column_name = 'id'`,
    );
    expect(idDefault?.column_default).toBe("gen_random_uuid()");

    const enums = await query<{ typname: string }>(dbUrl, `SELECT typname FROM pg_type WHERE typtype = 'e' ORDER BY 1`);
    expect(enums.map((e) => e.typname)).toEqual(
      ["attachment_kind", "conversation_kind", "flag_action", "flag_rule", "listing_status", "message_type", "offer_status", "participant_role", "report_status"].sort(),
    );

    const descIndexes = await query<{ indexdef: string }>(
      dbUrl,
      `SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexdef LIKE '% DESC%'`,
    );
    expect(descIndexes.length).toBeGreaterThan(0);
  });

  it("is a no-op the second time", async () => {
    const before = await query<{ n: string }>(dbUrl, `SELECT count(*) AS n FROM _prisma_migrations`);
    expect(await migrate(dbUrl)).toEqual({ applied: [] });
    const after = await query<{ n: string }>(dbUrl, `SELECT count(*) AS n FROM _prisma_migrations`);
    expect(after).toEqual(before);
  });

  it("finds schema.prisma in sync with the migrations, and drops its shadow database", async () => {
    logLines.length = 0;
    expect(await diff(dbUrl, { log })).toEqual({ changed: false, sql: "" });

    const shadows = logLines.flatMap((line) => /^created shadow database (\S+)$/.exec(line)?.[1] ?? []);
    expect(shadows).toHaveLength(1);
    const left = await query(ADMIN_URL, `SELECT 1 FROM pg_database WHERE datname = $1`, [shadows[0]]);
    expect(left).toEqual([]);
  });

  it("reports a clean status", async () => {
    const local = localMigrations().map((m) => m.name);
    expect(await status(dbUrl)).toEqual({
      local,
      applied: local,
      pending: [],
      failed: [],
      edited: [],
      missingLocally: [],
      drift: false,
      hasMigrationsTable: true,
      upToDate: true,
    });
  });

  it("runs a migration as one script ($$ bodies intact) and records a failing one as failed, rolled back", async () => {
    // A scratch project: the real schema and migrations plus two more.
    const root = mkdtempSync(join(tmpdir(), "migrator-test-"));
    const extraDb = `${dbName}_extra`;
    const url = new URL(dbUrl);
    url.pathname = `/${extraDb}`;
    try {
      cpSync(PRISMA_DIR, join(root, "prisma"), { recursive: true });
      const addMigration = (name: string, sql: string) => {
        mkdirSync(join(root, "prisma", "migrations", name));
        writeFileSync(join(root, "prisma", "migrations", name, "migration.sql"), sql);
      };
      addMigration(
        "29990101000000_function",
        "CREATE FUNCTION migrator_test() RETURNS int AS $$\nBEGIN\n  PERFORM 1;\n  RETURN 42;\nEND;\n$$ LANGUAGE plpgsql;\n",
      );
      addMigration("29990101000001_broken", "CREATE TABLE half_done (id int);\nSELECT 1/0;\n");

      await expect(migrate(url.toString(), { rootDir: root })).rejects.toThrow(/division by zero/);

      const [fn] = await query<{ v: number }>(url.toString(), "SELECT migrator_test() AS v");
      expect(fn?.v).toBe(42);
      // The failing script's first statement was rolled back with it.
      const [halfDone] = await query<{ t: string | null }>(url.toString(), "SELECT to_regclass('half_done')::text AS t");
      expect(halfDone?.t).toBeNull();

      const s = await status(url.toString(), { rootDir: root });
      expect(s.failed).toEqual(["29990101000001_broken"]);
      expect(s.applied).toEqual([...localMigrations().map((m) => m.name), "29990101000000_function"]);
      expect(s.upToDate).toBe(false);
      // Like prisma migrate deploy, nothing more is applied past a failed migration.
      await expect(migrate(url.toString(), { rootDir: root })).rejects.toThrow(/failed migrations/);
    } finally {
      rmSync(root, { recursive: true, force: true });
      await query(ADMIN_URL, `DROP DATABASE IF EXISTS "${extraDb}" WITH (FORCE)`);
    }
  });

  it("reports pending migrations on a database that was never migrated", async () => {
    const freshName = `${dbName}_empty`;
    await query(ADMIN_URL, `CREATE DATABASE "${freshName}"`);
    try {
      const url = new URL(dbUrl);
      url.pathname = `/${freshName}`;
      const s = await status(url.toString());
      expect(s.hasMigrationsTable).toBe(false);
      expect(s.pending).toEqual(localMigrations().map((m) => m.name));
      expect(s.upToDate).toBe(false);
    } finally {
      await query(ADMIN_URL, `DROP DATABASE IF EXISTS "${freshName}" WITH (FORCE)`);
    }
  });
});
