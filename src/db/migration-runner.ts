// Applies prisma/migrations at start-up with plain `pg`: what a node needs in production, without
// loading Prisma's schema engine. It keeps `prisma migrate deploy`'s bookkeeping exactly
// (`_prisma_migrations`: sha256 checksum, started/finished times, failed migrations recorded and
// refused afterwards, Prisma's advisory lock), so the Prisma CLI and our development tool
// (scripts/migration-engine.ts: status, diff, create) read the same history.
//
// Each migration.sql is sent as one simple-protocol query: PostgreSQL runs a multi-statement
// simple query as one implicit transaction, so a failing migration leaves nothing half-applied
// ($$ bodies stay intact because the server, not us, splits the statements).
import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import pg from "pg";

export interface MigrateOptions {
  /** Directory that contains prisma/ (default: found by walking up from this file). */
  rootDir?: string;
  /** Create the database when it does not exist yet, as `prisma migrate deploy` does (default true). */
  createDatabase?: boolean;
  /** Receives progress lines. Quiet when omitted. */
  log?: (line: string) => void;
}

export interface MigrateResult {
  /** Names of the migrations applied by this call, in order; empty when already up to date. */
  applied: string[];
}

/** The key `prisma migrate` locks, so our runner and the Prisma CLI never migrate at once. */
const PRISMA_MIGRATE_LOCK = 72707369;

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

export interface LocalMigration {
  name: string;
  sql: string;
}

/** Apply every pending migration in name order; throws on a failed one (recorded as failed). */
export async function migrate(databaseUrl: string, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const log = opts.log ?? noop;
  if (opts.createDatabase ?? true) await ensureDatabaseExists(databaseUrl, log);
  const local = await readMigrations(join(opts.rootDir ? resolve(opts.rootDir) : findRootDir(), "prisma", "migrations"));
  const client = new pg.Client({ connectionString: databaseUrl });
  // A connection lost mid-migration fails the query in flight; its 'error' event must not also
  // kill the process (main.ts retries start-up while PostgreSQL is away).
  client.on("error", () => undefined);
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [PRISMA_MIGRATE_LOCK]);
    try {
      return { applied: await applyPending(client, local, log) };
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [PRISMA_MIGRATE_LOCK]);
    }
  } finally {
    await client.end();
  }
}

async function applyPending(client: pg.Client, local: LocalMigration[], log: (line: string) => void): Promise<string[]> {
  await client.query(CREATE_TABLE);
  const { rows } = await client.query<{ migration_name: string; finished_at: Date | null; rolled_back_at: Date | null }>(
    `SELECT migration_name, finished_at, rolled_back_at FROM "_prisma_migrations"`,
  );
  const failed = rows.filter((r) => r.finished_at === null && r.rolled_back_at === null).map((r) => r.migration_name);
  if (failed.length > 0) {
    throw new Error(`failed migrations in the database: ${failed.join(", ")} (fix them, then mark them rolled back)`);
  }
  const done = new Set(rows.filter((r) => r.finished_at !== null && r.rolled_back_at === null).map((r) => r.migration_name));
  const applied: string[] = [];
  for (const migration of local) {
    if (done.has(migration.name)) continue;
    const id = randomUUID();
    await client.query(`INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())`, [
      id,
      migrationChecksum(migration.sql),
      migration.name,
    ]);
    try {
      await client.query(migration.sql);
    } catch (err) {
      await client.query(`UPDATE "_prisma_migrations" SET logs = $2 WHERE id = $1`, [id, (err as Error).message]);
      throw new Error(`migration ${migration.name} failed: ${(err as Error).message}`, { cause: err });
    }
    await client.query(`UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`, [id]);
    applied.push(migration.name);
    log(`applied ${migration.name}`);
  }
  return applied;
}

/** prisma/migrations/<timestamp>_<name>/migration.sql, in name order (the order Prisma applies). */
export async function readMigrations(migrationsDir: string): Promise<LocalMigration[]> {
  if (!existsSync(migrationsDir)) return [];
  const out: LocalMigration[] = [];
  for (const entry of (await readdir(migrationsDir)).sort()) {
    const dir = join(migrationsDir, entry);
    if (!(await stat(dir)).isDirectory()) continue;
    // A directory without migration.sql fails loudly: a half-written migration must not pass as applied.
    out.push({ name: entry, sql: await readFile(join(dir, "migration.sql"), "utf8") });
  }
  return out;
}

/** sha256 hex of a migration.sql as `_prisma_migrations.checksum` stores it. */
export function migrationChecksum(sql: string | Buffer): string {
  return createHash("sha256").update(sql).digest("hex");
}

/** The directory that contains prisma/schema.prisma, walking up from `from` (default: this file). */
export function findRootDir(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, "prisma", "schema.prisma"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no prisma/schema.prisma found in ${from} or any parent directory; pass rootDir`);
    dir = parent;
  }
}

// ---------------------------------------------------------------------------------------------
// Creating the database (also used by the development tool)
// ---------------------------------------------------------------------------------------------

const INVALID_CATALOG_NAME = "3D000"; // "database ... does not exist"

/** The URL with its database name replaced (pg gives the URL's path precedence over `database`). */
export function withDatabase(databaseUrl: string, database: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

export function databaseName(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ""));
  if (!name) throw new Error("the database URL names no database");
  return name;
}

export function pgIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Whether the database the URL names exists (false on "database ... does not exist"). */
export async function databaseExists(databaseUrl: string): Promise<boolean> {
  const probe = new pg.Client({ connectionString: databaseUrl });
  probe.on("error", () => undefined);
  try {
    await probe.connect();
  } catch (error) {
    // No probe.end() here: the connection never opened, pg has already destroyed the socket.
    if ((error as { code?: unknown }).code === INVALID_CATALOG_NAME) return false;
    throw error;
  }
  await probe.end();
  return true;
}

/** Create the database if it does not exist (as `prisma migrate deploy` does). */
export async function ensureDatabaseExists(databaseUrl: string, log: (line: string) => void): Promise<void> {
  if (await databaseExists(databaseUrl)) return;
  const name = databaseName(databaseUrl);
  const admin = new pg.Client({ connectionString: withDatabase(databaseUrl, "postgres") });
  admin.on("error", () => undefined);
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pgIdent(name)}`);
  } catch (error) {
    // Several nodes starting at once on a missing database: one creates it, the others lose the
    // race (42P04, or a unique violation on pg_database while both are in flight) and go on.
    const code = (error as { code?: string }).code;
    if (code === "42P04" || code === "23505") return;
    throw error;
  } finally {
    await admin.end();
  }
  log(`created database ${name}`);
}

function noop(): void {}
