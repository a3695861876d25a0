// Development tool: migration status, schema diff and new migrations through Prisma's wasm schema
// engine (`npm run db:status|db:diff|db:create`). Applying migrations is the runtime's job
// (src/db/migration-runner.ts, plain pg): production start-up never loads this engine.
//
// Prisma 7's CLI downloads a native schema-engine binary for `migrate`, and our machines reach only
// the npm registry (see ../shared/PRISMA-OFFLINE.md). The same engine is published as
// WebAssembly (@prisma/schema-engine-wasm, pinned to the build that matches prisma 7.10.0); it
// talks to PostgreSQL through a Prisma driver adapter (@prisma/adapter-pg over `pg`). This module
// drives it with the same migrations layout (prisma/migrations/<timestamp>_<name>/migration.sql +
// migration_lock.toml) and the same `_prisma_migrations` bookkeeping as `prisma migrate`.

import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

import { PrismaPg } from "@prisma/adapter-pg";
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
  type SqlQuery,
  type Transaction,
} from "@prisma/driver-adapter-utils";
import type {
  MigrationList,
  SchemaEngine,
  SchemaFilter,
} from "@prisma/schema-engine-wasm/schema_engine_bg";
import pg from "pg";

import { databaseExists, databaseName, findRootDir, pgIdent, withDatabase } from "../src/db/migration-runner.js";

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

export interface MigratorOptions {
  /** Directory that contains prisma/schema.prisma. Default: found by walking up from this file. */
  rootDir?: string;
  /** Schema file to use instead of <rootDir>/prisma/schema.prisma (migrations stay in rootDir). */
  schemaPath?: string;
  /** Receives progress lines and engine log lines. Quiet when omitted. */
  log?: (line: string) => void;
}

export interface MigrationStatus {
  /** Migration directories found in prisma/migrations, sorted. */
  local: string[];
  /** Migrations recorded as finished (and not rolled back) in `_prisma_migrations`. */
  applied: string[];
  /** Local migrations not applied yet. */
  pending: string[];
  /** Migrations that failed and were not marked rolled back; `migrate` refuses to run past them. */
  failed: string[];
  /** Applied migrations whose migration.sql changed afterwards (checksum mismatch). */
  edited: string[];
  /** Migrations the database has applied but prisma/migrations does not contain. */
  missingLocally: string[];
  /** The database and the migrations directory disagree about history (edited/missing/diverged). */
  drift: boolean;
  /** `_prisma_migrations` exists (false on a database that was never migrated). */
  hasMigrationsTable: boolean;
  /** Nothing pending, failed or drifted. */
  upToDate: boolean;
}

export interface DiffResult {
  /** schema.prisma has changes that no migration holds. */
  changed: boolean;
  /** SQL that would bring the migrations up to schema.prisma; empty when unchanged. */
  sql: string;
}

export interface CreateMigrationResult {
  /** Directory name (<YYYYMMDDHHMMSS>_<name>) of the new migration; null when already in sync. */
  name: string | null;
  /** Absolute path of the written migration.sql; null when already in sync. */
  path: string | null;
  sql: string;
}

/** Compare the migrations directory with the database's `_prisma_migrations` (like `prisma migrate status`). */
export async function status(databaseUrl: string, opts: MigratorOptions = {}): Promise<MigrationStatus> {
  const paths = resolvePaths(opts);
  const log = opts.log ?? noop;
  const migrationsList = await loadMigrations(paths.migrationsDir);
  const diagnosis = await withEngine(databaseUrl, paths, log, (engine) =>
    // No shadow database: status must work for a role without CREATEDB (pitfall 5).
    engine.diagnoseMigrationHistory({ migrationsList, optInToShadowDatabase: false, filters: NO_FILTERS }),
  );

  const local = migrationsList.migrationDirectories.map((d) => d.path);
  const history = diagnosis.history;
  let pending: string[] = [];
  let missingLocally: string[] = [];
  let diverged = false;
  if (history?.diagnostic === "databaseIsBehind") {
    pending = history.unappliedMigrationNames;
  } else if (history?.diagnostic === "migrationsDirectoryIsBehind") {
    missingLocally = history.unpersistedMigrationNames;
  } else if (history?.diagnostic === "historiesDiverge") {
    pending = history.unappliedMigrationNames;
    missingLocally = history.unpersistedMigrationNames;
    diverged = true;
  }
  const applied = diagnosis.hasMigrationsTable ? await readAppliedMigrations(databaseUrl) : [];
  const failed = diagnosis.failedMigrationNames;
  const edited = diagnosis.editedMigrationNames;
  const drift = diverged || edited.length > 0 || missingLocally.length > 0;
  return {
    local,
    applied,
    pending,
    failed,
    edited,
    missingLocally,
    drift,
    hasMigrationsTable: diagnosis.hasMigrationsTable,
    upToDate: !drift && pending.length === 0 && failed.length === 0,
  };
}

/**
 * SQL that takes a database built from prisma/migrations to what schema.prisma describes. The
 * engine replays the migrations into a throwaway shadow database (this needs CREATEDB); the
 * database at `databaseUrl` is only used to create and drop that shadow database.
 */
export async function diff(databaseUrl: string, opts: MigratorOptions = {}): Promise<DiffResult> {
  const paths = resolvePaths(opts);
  const log = opts.log ?? noop;
  const migrationsList = await loadMigrations(paths.migrationsDir);
  // Before the first migration there may be no lockfile, and the engine refuses a migrations
  // source without one. An empty history is unambiguous, so lend it the lockfile in memory.
  // (Diffing from { tag: "empty" } instead would add a `CREATE SCHEMA "public"` step that
  // `prisma migrate dev` does not generate, because its shadow database already has public.)
  if (migrationsList.lockfile.content === null && migrationsList.migrationDirectories.length === 0) {
    migrationsList.lockfile.content = LOCKFILE_CONTENT;
  }
  const schema = await readFile(paths.schemaPath, "utf8");
  // The engine connects to its main database even though this diff never reads it. Diffing must
  // not require the application database to exist (the first migration is created before it is),
  // so fall back to the maintenance database, which also serves to create the shadow database.
  let engineUrl = databaseUrl;
  if (!(await databaseExists(databaseUrl))) {
    engineUrl = withDatabase(databaseUrl, "postgres");
    log(`database ${databaseName(databaseUrl)} does not exist; the engine connects to "postgres" instead`);
  }
  const result = await withEngine(engineUrl, paths, log, (engine) =>
    engine.diff({
      from: { tag: "migrations", ...migrationsList },
      to: { tag: "schemaDatamodel", files: [{ path: paths.schemaPath, content: schema }] },
      script: true,
      // With exitCode the engine reports 2 when the diff is non-empty (as `migrate diff --exit-code`).
      exitCode: true,
      filters: NO_FILTERS,
    }),
  );
  const changed = result.exitCode === 2;
  return { changed, sql: changed ? (result.stdout ?? "") : "" };
}

/**
 * Write prisma/migrations/<YYYYMMDDHHMMSS>_<name>/migration.sql holding what diff() reports, like
 * `prisma migrate dev --create-only`. Nothing is applied. The wasm engine cannot evaluate data loss
 * (its createMigration/evaluateDataLoss fail), so there are no warnings: review the SQL.
 */
export async function createMigration(
  databaseUrl: string,
  name: string,
  opts: MigratorOptions = {},
): Promise<CreateMigrationResult> {
  const slug = migrationSlug(name);
  const paths = resolvePaths(opts);
  const log = opts.log ?? noop;
  // The engine wants the lockfile before it accepts a migrations directory as a diff source.
  await ensureLockfile(paths.migrationsDir, log);

  const { changed, sql } = await diff(databaseUrl, opts);
  if (!changed) {
    log("schema.prisma matches the migrations: nothing to create");
    return { name: null, path: null, sql: "" };
  }

  const existing = (await loadMigrations(paths.migrationsDir)).migrationDirectories.map((d) => d.path);
  const dirName = `${migrationTimestamp(existing)}_${slug}`;
  const dir = join(paths.migrationsDir, dirName);
  // No `recursive`: if the directory already exists something is off and we must not overwrite it.
  await mkdir(dir);
  const file = join(dir, "migration.sql");
  await writeFile(file, sql.endsWith("\n") ? sql : `${sql}\n`, { flag: "wx" });
  log(`created ${file}`);
  return { name: dirName, path: file, sql };
}

// ---------------------------------------------------------------------------------------------
// Migrations directory
// ---------------------------------------------------------------------------------------------

const NO_FILTERS: SchemaFilter = { externalTables: [], externalEnums: [] };
const LOCKFILE = "migration_lock.toml";
// What `prisma migrate dev` writes, so the file does not churn when someone uses the real CLI.
const LOCKFILE_CONTENT =
  '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n';

interface Paths {
  schemaPath: string;
  migrationsDir: string;
}

function resolvePaths(opts: MigratorOptions): Paths {
  const rootDir = opts.rootDir ? resolve(opts.rootDir) : findRootDir();
  return {
    schemaPath: opts.schemaPath ? resolve(opts.schemaPath) : join(rootDir, "prisma", "schema.prisma"),
    migrationsDir: join(rootDir, "prisma", "migrations"),
  };
}

/** Read prisma/migrations into the shape the engine expects (directories sorted by name). */
async function loadMigrations(migrationsDir: string): Promise<MigrationList> {
  let entries: string[] = [];
  if (existsSync(migrationsDir)) entries = (await readdir(migrationsDir)).sort();
  const migrationDirectories: MigrationList["migrationDirectories"] = [];
  for (const entry of entries) {
    const dir = join(migrationsDir, entry);
    if (!(await stat(dir)).isDirectory()) continue;
    const file = join(dir, "migration.sql");
    // A directory without migration.sql is reported by the engine (as the native CLI does) rather
    // than skipped silently, so a half-written migration cannot be mistaken for an applied one.
    const content = existsSync(file)
      ? ({ tag: "ok", value: await readFile(file, "utf8") } as const)
      : ({ tag: "error", value: `${file} does not exist` } as const);
    migrationDirectories.push({ path: entry, migrationFile: { path: "migration.sql", content } });
  }
  const lockPath = join(migrationsDir, LOCKFILE);
  return {
    baseDir: migrationsDir,
    shadowDbInitScript: "",
    lockfile: { path: LOCKFILE, content: existsSync(lockPath) ? await readFile(lockPath, "utf8") : null },
    migrationDirectories,
  };
}

async function ensureLockfile(migrationsDir: string, log: (line: string) => void): Promise<void> {
  const lockPath = join(migrationsDir, LOCKFILE);
  if (existsSync(lockPath)) {
    const content = await readFile(lockPath, "utf8");
    if (!/provider\s*=\s*"postgresql"/.test(content)) {
      throw new Error(`${lockPath} does not say provider = "postgresql"; these migrations are for another database`);
    }
    return;
  }
  await mkdir(migrationsDir, { recursive: true });
  await writeFile(lockPath, LOCKFILE_CONTENT);
  log(`created ${lockPath}`);
}

/** Prisma's directory naming: a snake-ish slug of the user's name. */
function migrationSlug(name: string): string {
  const slug = name
    .trim()
    .replace(/[^A-Za-z0-9_]+/g, "_")
    .replace(/^_+|_+$/g, "");
  if (!slug) throw new Error(`invalid migration name ${JSON.stringify(name)}: use letters, digits and _`);
  return slug.slice(0, 200);
}

/**
 * UTC timestamp YYYYMMDDHHMMSS, as Prisma names migrations. Directories are applied in name order,
 * so if the clock is not past the newest existing migration (same second, or a skewed clock) we
 * step one second past it instead.
 */
function migrationTimestamp(existing: string[]): string {
  const fmt = (d: Date) => d.toISOString().replace(/\D/g, "").slice(0, 14);
  let now = new Date();
  const newest = existing.map((n) => n.slice(0, 14)).filter((p) => /^\d{14}$/.test(p)).sort().at(-1);
  if (newest && fmt(now) <= newest) {
    const [, y, mo, d, h, mi, s] = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/.exec(newest) ?? [];
    now = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s) + 1));
  }
  return fmt(now);
}

// ---------------------------------------------------------------------------------------------
// The wasm schema engine
// ---------------------------------------------------------------------------------------------

type EngineBindings = typeof import("@prisma/schema-engine-wasm/schema_engine_bg");

// The last Rust panic message, kept so a panic surfaces as a readable error.
let lastPanic: string | undefined;
let bindingsPromise: Promise<EngineBindings> | undefined;

/**
 * Load and start the wasm engine once per process. The package's entry point imports the .wasm
 * as an ES module, which Node 20 supports only behind --experimental-wasm-modules, so we
 * instantiate it by hand with the JS glue as its import object. Imported lazily: only the
 * commands that need the engine pay for loading it.
 */
function loadEngineBindings(): Promise<EngineBindings> {
  bindingsPromise ??= (async () => {
    installPanicRegistry();
    const bindings = await import("@prisma/schema-engine-wasm/schema_engine_bg");
    const gluePath = createRequire(import.meta.url).resolve("@prisma/schema-engine-wasm/schema_engine_bg");
    const bytes = await readFile(join(dirname(gluePath), "schema_engine_bg.wasm"));
    const { instance } = await webAssembly().instantiate(bytes, { "./schema_engine_bg.js": withUnrefTimers(bindings) });
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bindings;
  })();
  // A failed load is not cached: the next call tries again (and reports its own error).
  bindingsPromise.catch(() => {
    bindingsPromise = undefined;
  });
  return bindingsPromise;
}

/**
 * The engine arms timers, e.g. a 10 s timeout around Prisma's advisory lock, and does not cancel
 * them when the operation finishes first, so a CLI run would linger ~10 s after `migrate` is done.
 * Timers made through this import object are unref'd (they no longer keep the process alive);
 * withEngine() holds the process open itself while an engine call is in flight.
 */
function withUnrefTimers(bindings: EngineBindings): Record<string, unknown> {
  const imports: Record<string, unknown> = { ...bindings };
  for (const key of Object.keys(bindings)) {
    // wasm-bindgen names the import __wbg_setTimeout_<hash>(callback, ms).
    if (key.startsWith("__wbg_setTimeout_")) {
      imports[key] = (callback: () => void, ms: number) => setTimeout(callback, ms >>> 0).unref();
    }
  }
  return imports;
}

/** The global WebAssembly API (our lib setting, ES2023 without DOM, carries no typings for it). */
function webAssembly(): {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }>;
} {
  return (globalThis as unknown as { WebAssembly: ReturnType<typeof webAssembly> }).WebAssembly;
}

/**
 * The engine's panic hook calls globalThis.PRISMA_WASM_PANIC_REGISTRY.set_message(); without it a
 * Rust panic becomes "Cannot read properties of undefined (reading 'set_message')". Prisma's own
 * wasm modules use the same global, so we chain to whatever registry was there before.
 */
function installPanicRegistry(): void {
  const g = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: { set_message(message: string): void } };
  const previous = g.PRISMA_WASM_PANIC_REGISTRY;
  g.PRISMA_WASM_PANIC_REGISTRY = {
    set_message(message: string) {
      lastPanic = message;
      previous?.set_message(message);
    },
  };
}

/**
 * Run `fn` with a schema engine connected to `databaseUrl`, then free the engine, end every pool
 * and drop the shadow database (if the engine asked for one). Ending the pools matters: an idle
 * pg pool keeps a CLI process alive for ~10 s after the work is done.
 */
async function withEngine<T>(
  databaseUrl: string,
  paths: Paths,
  log: (line: string) => void,
  fn: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const bindings = await loadEngineBindings();
  const schema = await readFile(paths.schemaPath, "utf8");
  const factory = new MigrationAdapterFactory(databaseUrl, log);
  const bound = bindMigrationAwareSqlAdapterFactory(factory);
  let engine: SchemaEngine | undefined;
  // The engine's own timers are unref'd (see withUnrefTimers), so if an engine call ever waited on
  // a timer alone, Node could exit under it; this interval keeps the process up until we are done.
  const keepAlive = setInterval(noop, 60_000);
  try {
    engine = await bindings.SchemaEngine.new(
      { datamodels: [[paths.schemaPath, schema]] },
      (line: unknown) => log(`engine: ${String(line).trimEnd()}`),
      bound,
    );
    lastPanic = undefined;
    return await fn(engine);
  } catch (error) {
    throw engineError(error, bound.errorRegistry);
  } finally {
    engine?.free();
    await factory.close();
    clearInterval(keepAlive);
  }
}

/**
 * Turn what the engine rejects with into an Error that says what went wrong: adapter errors that
 * are plain JS exceptions are parked in the error registry and only referenced by id, and a panic
 * leaves its message in the panic registry.
 */
function engineError(error: unknown, registry: { consumeError(id: number): { error: unknown } | undefined }): Error {
  const message = error instanceof Error ? error.message : String(error);
  const details: string[] = [];
  if (lastPanic) details.push(`engine panic: ${lastPanic}`);
  // The engine words these as "External error id#<n>".
  for (const match of message.matchAll(/External error id#(\d+)/g)) {
    const original = registry.consumeError(Number(match[1]))?.error;
    if (original !== undefined) details.push(original instanceof Error ? original.message : String(original));
  }
  lastPanic = undefined;
  if (details.length === 0 && error instanceof Error) return error;
  return new Error([message, ...details].join("\n"), { cause: error });
}

// ---------------------------------------------------------------------------------------------
// Driver adapter for the engine: @prisma/adapter-pg with the fixes the engine needs
// ---------------------------------------------------------------------------------------------

const PG_CHAR_OID = 18; // PostgreSQL's internal one-byte "char" type (pg_class.relkind and friends)
const PG_TEXT_OID = 25;

/**
 * The factory the engine connects through. It reuses PrismaPg for query execution and type mapping
 * but owns every pool, so that it can end them all, and it creates the shadow database itself:
 * PrismaPg.connectToShadowDb() builds its pool as { connectionString, database } and pg lets the
 * connection string win, so the "shadow" connection lands on the main database and the engine
 * would replay migrations into it.
 */
class MigrationAdapterFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = "postgres";
  readonly adapterName = "@prisma/adapter-pg";
  private readonly pools = new Set<pg.Pool>();
  private readonly shadowDatabases: string[] = [];
  private readonly schemaName: string | undefined;

  constructor(
    private readonly databaseUrl: string,
    private readonly log: (line: string) => void,
  ) {
    // Honour Prisma's `?schema=` URL parameter the way the Prisma CLI does.
    this.schemaName = new URL(databaseUrl).searchParams.get("schema") ?? undefined;
  }

  async connect(): Promise<SqlDriverAdapter> {
    return this.adapterFor(this.databaseUrl);
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const name = `migrator_shadow_${Date.now().toString(36)}_${randomBytes(6).toString("hex")}`;
    try {
      await withAdminClient(this.databaseUrl, (client) => client.query(`CREATE DATABASE ${pgIdent(name)}`));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`could not create shadow database ${name} (diff and create need CREATEDB): ${reason}`, {
        cause: error,
      });
    }
    this.shadowDatabases.push(name);
    this.log(`created shadow database ${name}`);
    return this.adapterFor(withDatabase(this.databaseUrl, name));
  }

  /** End all pools, then drop the shadow databases. Safe to call more than once. */
  async close(): Promise<void> {
    const pools = [...this.pools];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.end()));
    const shadows = this.shadowDatabases.splice(0);
    for (const name of shadows) {
      // WITH (FORCE) (PostgreSQL 13+) also closes any connection we failed to account for.
      await withAdminClient(this.databaseUrl, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${pgIdent(name)} WITH (FORCE)`),
      );
      this.log(`dropped shadow database ${name}`);
    }
  }

  private async adapterFor(url: string): Promise<SqlDriverAdapter> {
    // One connection, never closed while idle: the engine takes Prisma's session-level advisory
    // lock and then applies migrations; on a larger pool the lock, the migration scripts and the
    // unlock could each land on a different connection (and an idle one could be closed while
    // holding the lock). The native engine also works over a single connection.
    const pool = new pg.Pool({
      connectionString: url,
      max: 1,
      idleTimeoutMillis: 0,
      // Migration scripts use unqualified names, so `?schema=` must also become the search_path
      // (as with the native engine); the adapter's `schema` option only covers the engine's own
      // catalog queries.
      options: this.schemaName ? `-c search_path=${pgIdent(this.schemaName)}` : undefined,
    });
    pool.on("error", (error) => this.log(`idle connection error: ${error.message}`));
    this.pools.add(pool); // registered first, so close() ends it whatever happens next
    // With an external pool, the adapter's dispose() leaves the pool alone: close() ends it.
    const factory = new PrismaPg(pool, this.schemaName ? { schema: this.schemaName } : undefined);
    return patchAdapter(await factory.connect());
  }
}

/** The part of adapter-pg's (private) query path we hook into. */
interface HasPerformIO {
  performIO(query: SqlQuery): Promise<pg.QueryResult | pg.QueryResult[]>;
}

/**
 * Fix two things in an adapter-pg adapter instance (not its prototype: the application's own
 * PrismaClient in the same process must not be affected):
 *  - The engine's catalog queries return columns of type "char" (OID 18), which adapter-pg refuses
 *    ("Column type 'char' could not be deserialized"); its values are text, so relabel them as text.
 *  - adapter-pg's executeScript() splits the script on ";", which breaks `$$` function bodies and
 *    string literals and runs the statements one by one, so a failing migration leaves the ones
 *    before it applied. We send the script as one simple-protocol query instead (executeRaw
 *    without parameters), which PostgreSQL runs as a single implicit transaction, as the native
 *    engine does.
 */
function patchAdapter(adapter: SqlDriverAdapter): SqlDriverAdapter {
  relabelCharColumns(adapter);
  adapter.executeScript = async (script: string) => {
    await adapter.executeRaw({ sql: script, args: [], argTypes: [] });
  };
  const startTransaction = adapter.startTransaction.bind(adapter);
  adapter.startTransaction = async (isolationLevel) => {
    const tx: Transaction = await startTransaction(isolationLevel);
    relabelCharColumns(tx);
    return tx;
  };
  return adapter;
}

function relabelCharColumns(queryable: object): void {
  const target = queryable as HasPerformIO;
  if (typeof target.performIO !== "function") {
    // adapter-pg is pinned; if an upgrade renames this private method, fail loudly, not oddly.
    throw new Error("@prisma/adapter-pg has no performIO(): the migrator's adapter patch needs updating");
  }
  const performIO = target.performIO.bind(target);
  target.performIO = async (query) => {
    const result = await performIO(query);
    // A multi-statement script yields one result per statement.
    for (const r of Array.isArray(result) ? result : [result]) {
      for (const field of r.fields ?? []) {
        if (field.dataTypeID === PG_CHAR_OID) field.dataTypeID = PG_TEXT_OID;
      }
    }
    return result;
  };
}

// ---------------------------------------------------------------------------------------------
// Plain pg helpers (outside the engine)
// ---------------------------------------------------------------------------------------------

/**
 * Run `fn` on a short-lived client for CREATE/DROP DATABASE: connected to the target database
 * when it exists, else to the `postgres` maintenance database.
 */
async function withAdminClient<T>(databaseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = (await databaseExists(databaseUrl)) ? databaseUrl : withDatabase(databaseUrl, "postgres");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Names of the migrations `_prisma_migrations` records as finished and not rolled back. */
async function readAppliedMigrations(databaseUrl: string): Promise<string[]> {
  const schema = new URL(databaseUrl).searchParams.get("schema") ?? "public";
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ migration_name: string }>(
      `SELECT migration_name FROM ${pgIdent(schema)}._prisma_migrations
        WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL
        ORDER BY started_at, migration_name`,
    );
    return rows.map((row) => row.migration_name);
  } finally {
    await client.end();
  }
}

function noop(): void {}
