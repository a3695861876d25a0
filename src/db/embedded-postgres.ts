// Embedded mode's database: PGlite (PostgreSQL 18 compiled to WebAssembly, in this process) with
// its files under DATA_DIR, served over the PostgreSQL wire protocol on a private local socket so
// that everything above it — the pg pool, Prisma's pg adapter, the hand-written SQL, the migration runner —
// runs exactly as against a PostgreSQL server. Only the connection URL differs.
//
// Why a server of our own instead of @electric-sql/pglite-socket's: PGlite has ONE session, and
// pglite-socket multiplexes its connections onto it one protocol message at a time. A query is
// several messages (Parse, Bind, Describe, Execute, Sync); when they reach the socket in two reads,
// another connection's query can run in between and take the session's unnamed statement/portal
// (measured: `portal "" does not exist` for the first query). Here a connection's messages run as
// whole units, up to and including the Sync (or a simple Query), and a connection that leaves the
// session inside a transaction block (or mid-protocol) keeps it until it is idle again, so
// transactions of different connections never mix.
//
// Parts: embedded/data-dir.ts (DATA_DIR, its lock, opening PGlite), embedded/session-server.ts
// (the wire-protocol server), and this file (start-up: create aside, migrate, serve, close).
//
// What a single session still changes, by design of PGlite: session state is shared by all
// connections. Session advisory locks are re-entrant across them (no deadlock, but no mutual
// exclusion either: in embedded mode offers and listing changes are kept apart by MessageRepository's
// in-process queue per conversation; message batches are one statement each), SET applies to all, and a connection that opens a transaction block holds every other connection until it ends it.
import { existsSync } from "node:fs";
import { rename, rm, rmdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { acquireDataDirLock, EmbeddedDatabaseError, oneLine, openPGlite, prepareDataDir, refuseForeignDirectory } from "./embedded/data-dir.js";
import { SessionServer } from "./embedded/session-server.js";
import { migrate } from "./migration-runner.js";

export { EmbeddedDatabaseError };

export interface EmbeddedPostgres {
  /** postgresql:// URL of the local socket: hand it to pg / Prisma / the migration runner as DATABASE_URL. */
  url: string;
  /** Absolute DATA_DIR. */
  dataDir: string;
  /** Where PGlite keeps the database files (DATA_DIR/pgdata). */
  pgDataDir: string;
  /** Migrations applied by this start (empty when the database was up to date). */
  appliedMigrations: string[];
  /** Stops serving, shuts PGlite down cleanly and releases DATA_DIR. */
  close(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** DATA_DIR: created when missing (mode 0700). */
  dataDir: string;
  log?: (line: string) => void;
  /**
   * PGlite failed underneath a running node (WebAssembly trap, disk gone). Every connection has
   * been closed; the node cannot continue and should exit.
   */
  onFatal?: (err: Error) => void;
  /** Apply prisma/migrations at start (default true). */
  migrate?: boolean;
}

/**
 * Pool size in embedded mode. PGlite runs one statement at a time whatever the pool size; a few
 * connections let statements queue here instead of in the pool, and let a send that holds its
 * conversation's lock read through the pool meanwhile (see MessageRepository's per-conversation queue).
 */
export const EMBEDDED_POOL_SIZE = 8;

const PG_SUBDIR = "pgdata";
const RUN_SUBDIR = "run";

/**
 * Open (or create) the embedded database under `dataDir`, apply the migrations and serve it.
 * Refuses, with an EmbeddedDatabaseError, a DATA_DIR that is not a writable directory, one in use by
 * another live process, or a database directory that is not a usable PGlite database.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => undefined);
  const dataDir = resolve(options.dataDir);
  await prepareDataDir(dataDir);
  const lock = await acquireDataDirLock(dataDir);
  const pgDataDir = join(dataDir, PG_SUBDIR);
  let served: Served | undefined;
  try {
    await refuseForeignDirectory(pgDataDir);
    const migrateAtStart = options.migrate ?? true;
    const created = existsSync(join(pgDataDir, "PG_VERSION")) ? [] : await createDatabase(pgDataDir, migrateAtStart, log);
    const started = performance.now();
    served = await serve(pgDataDir, migrateAtStart, log, (err) => {
      log(`embedded database failed: ${err.message}`);
      options.onFatal?.(err);
    });
    log(`opened embedded database in ${pgDataDir} (${Math.round(performance.now() - started)} ms)`);
    const { db, server, url } = served;
    let closed = false;
    return {
      url,
      dataDir,
      pgDataDir,
      appliedMigrations: [...created, ...served.applied],
      async close() {
        if (closed) return;
        closed = true;
        try {
          await server.close();
          await db.close();
        } finally {
          await lock.release();
        }
      },
    };
  } catch (err) {
    await served?.server.close().catch((e: unknown) => log(`closing the embedded server: ${oneLine(e)}`));
    await served?.db.close().catch((e: unknown) => log(`closing the embedded database: ${oneLine(e)}`));
    await lock.release();
    if (err instanceof EmbeddedDatabaseError) throw err;
    throw new EmbeddedDatabaseError(`embedded database in ${pgDataDir} failed to start: ${oneLine(err)}`, { cause: err });
  }
}

interface Served {
  db: PGlite;
  server: SessionServer;
  url: string;
  applied: string[];
}

/** Opens the PGlite directory, serves it on a private socket and (optionally) migrates it. */
async function serve(
  pgDataDir: string,
  migrateAtStart: boolean,
  log: (line: string) => void,
  onFatal: (err: Error) => void,
): Promise<Served> {
  const db = await openPGlite(pgDataDir);
  const server = new SessionServer(db, onFatal);
  try {
    // pgdata and pgdata.creating both sit in DATA_DIR, and so does the socket's directory.
    const url = await server.listen(join(dirname(pgDataDir), RUN_SUBDIR));
    // The schema engine's own pool (one connection) comes and goes through the same server.
    const applied = migrateAtStart ? (await migrate(url, { createDatabase: false, log })).applied : [];
    return { db, server, url, applied };
  } catch (err) {
    await server.close().catch((e: unknown) => log(`closing the embedded server: ${oneLine(e)}`));
    await db.close().catch((e: unknown) => log(`closing the embedded database: ${oneLine(e)}`));
    throw err;
  }
}

/**
 * A new database is made aside (initdb, then the migrations) and renamed into place only when
 * complete, so that a first start interrupted halfway (it takes seconds: Ctrl-C, kill) leaves no
 * half-made database that the next start would take for a damaged one. Returns the migrations
 * applied.
 */
async function createDatabase(pgDataDir: string, migrateAtStart: boolean, log: (line: string) => void): Promise<string[]> {
  const building = `${pgDataDir}.creating`;
  // Left by an interrupted first start; we hold DATA_DIR's lock, so nobody else is building it.
  await rm(building, { recursive: true, force: true });
  const started = performance.now();
  log(`creating the embedded database in ${pgDataDir} (first start: this takes a few seconds)`);
  const served = await serve(building, migrateAtStart, log, (err) => log(`embedded database failed: ${err.message}`));
  await served.server.close();
  await served.db.close();
  // An empty pgdata (allowed by refuseForeignDirectory) would make the rename fail; rmdir
  // removes only an empty one.
  if (existsSync(pgDataDir)) await rmdir(pgDataDir);
  await rename(building, pgDataDir);
  log(`created the embedded database in ${Math.round(performance.now() - started)} ms`);
  return served.applied;
}

