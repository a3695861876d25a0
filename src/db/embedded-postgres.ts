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
// What a single session still changes, by design of PGlite: session state is shared by all
// connections. Session advisory locks are re-entrant across them (no deadlock, but no mutual
// exclusion either: see embedded-message-repository.ts for the ordering lock), SET applies to all,
// and a connection that opens a transaction block holds every other connection until it ends it.
import { randomBytes } from "node:crypto";
import { existsSync, unlinkSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { migrate } from "./migration-runner.js";

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

/** A start-up failure of the embedded database; its message is one line for the operator. */
export class EmbeddedDatabaseError extends Error {
  override readonly name = "EmbeddedDatabaseError";
}

/**
 * Pool size in embedded mode. PGlite runs one statement at a time whatever the pool size; a few
 * connections let statements queue here instead of in the pool, and let a send that holds its
 * conversation's lock read through the pool meanwhile (see embedded-message-repository.ts).
 */
export const EMBEDDED_POOL_SIZE = 8;

const LOCK_FILE = "marketchat.lock";
const PG_SUBDIR = "pgdata";
// pg connects to <host>/.s.PGSQL.<port> for a socket directory; 5432 is its default port.
const SOCKET_NAME = ".s.PGSQL.5432";
const RUN_SUBDIR = "run";
// sun_path is 104 bytes on macOS and 108 on Linux, the terminating NUL included.
const MAX_SOCKET_PATH_BYTES = 100;

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

// ---------------------------------------------------------------------------------------------
// DATA_DIR: writable, one process at a time, never a silent second database
// ---------------------------------------------------------------------------------------------

async function prepareDataDir(dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new EmbeddedDatabaseError(`DATA_DIR ${dataDir} cannot be created: ${oneLine(err)}`);
  }
  const info = await stat(dataDir);
  if (!info.isDirectory()) throw new EmbeddedDatabaseError(`DATA_DIR ${dataDir} is not a directory`);
}

interface DataDirLock {
  release(): Promise<void>;
}

/**
 * DATA_DIR/marketchat.lock holds the pid of the process that owns the directory. PGlite has no
 * lock of its own: two processes on one directory would both write the same files and corrupt them.
 * A lock whose process is gone (crash, kill -9) is taken over.
 */
async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EEXIST") {
        throw new EmbeddedDatabaseError(`DATA_DIR ${dataDir} is not writable: ${oneLine(err)}`);
      }
      // An unreadable lock names no pid (NaN): it is treated as stale, and if it cannot be
      // removed either, the second attempt fails and reports the directory as in use.
      const pid = Number.parseInt((await readFile(path, "utf8").catch(() => "")).trim(), 10);
      if (attempt === 0 && !isOtherLiveProcess(pid)) {
        await unlink(path).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== "ENOENT") throw new EmbeddedDatabaseError(`DATA_DIR ${dataDir}: stale lock ${path} cannot be removed: ${oneLine(e)}`);
        });
        continue;
      }
      throw new EmbeddedDatabaseError(
        `DATA_DIR ${dataDir} is in use by another process (pid ${Number.isFinite(pid) ? pid : "unknown"}, ${path}): ` +
          "run one embedded node per DATA_DIR; remove the lock file only if that process is not marketchat",
      );
    }
  }
  // A crash that still runs exit handlers (an uncaught exception, process.exit) frees the
  // directory at once; after kill -9 the next start finds the pid dead and takes the lock over.
  const onExit = () => {
    try {
      unlinkSync(path);
    } catch (err) {
      // Already gone is fine; anything else leaves a lock that the next start takes over (dead pid).
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") process.stderr.write(`could not remove ${path}: ${oneLine(err)}\n`);
    }
  };
  process.once("exit", onExit);
  let held = true;
  return {
    async release() {
      if (!held) return;
      held = false;
      process.off("exit", onExit);
      await unlink(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
      });
    },
  };
}

function isOtherLiveProcess(pid: number): boolean {
  // Our own pid in a stale lock happens in containers, where the node is pid 1 on every start.
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * PGlite runs initdb into any directory without PG_VERSION, and initdb tolerates a non-empty one:
 * a damaged or foreign directory would silently become a second, empty database. Refuse instead.
 */
async function refuseForeignDirectory(pgDataDir: string): Promise<void> {
  if (!existsSync(pgDataDir) || existsSync(join(pgDataDir, "PG_VERSION"))) return;
  const entries = await readdir(pgDataDir);
  if (entries.length > 0) {
    throw new EmbeddedDatabaseError(
      `${pgDataDir} is not an embedded database (no PG_VERSION, ${entries.length} other entries): ` +
        "it may be damaged; move it away to start with an empty database",
    );
  }
}

async function openPGlite(pgDataDir: string): Promise<PGlite> {
  // Imported here: nodes with DATABASE_URL never load the WebAssembly build.
  const { PGlite } = await import("@electric-sql/pglite");
  const stderr: string[] = [];
  try {
    return await PGlite.create({
      dataDir: pgDataDir,
      // PostgreSQL's own log lines (and WebAssembly abort messages) are kept for the error below
      // instead of going to the terminal between our JSON log lines.
      onStderr: (line: string) => {
        stderr.push(line);
        if (stderr.length > 20) stderr.shift();
        return true;
      },
      onStdout: () => true,
    });
  } catch (err) {
    // PostgreSQL's own reason, without its log prefix (timestamp, pid).
    const reason = stderr.filter((l) => /FATAL|PANIC|ERROR|Aborted|abort/i.test(l)).at(-1);
    const detail = reason?.replace(/^.*?\b(FATAL|PANIC|ERROR):\s*/, "$1: ") ?? oneLine(err);
    throw new EmbeddedDatabaseError(
      `embedded database in ${pgDataDir} cannot be opened (${detail.trim()}): ` +
        "it may be damaged; move the directory away to start with an empty database",
      { cause: err },
    );
  }
}

function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split("\n")[0]!.trim();
}

// ---------------------------------------------------------------------------------------------
// The wire-protocol server: many connections, one PGlite session, whole units at a time
// ---------------------------------------------------------------------------------------------

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
// Messages after which the client waits for the server: the end of a unit.
const UNIT_ENDS = new Set(["S", "Q", "H", "c", "f"]);
const TERMINATE = "X";

interface Unit {
  connection: Connection;
  bytes: Buffer;
  /** Internal clean-up unit: its output goes nowhere. */
  discard?: boolean;
}

class SessionServer {
  private readonly server: Server = createServer((socket) => this.accept(socket));
  private readonly connections = new Set<Connection>();
  private readonly queue: Unit[] = [];
  /** The connection that left the session inside a transaction (or mid-protocol): only it may run. */
  private owner: Connection | null = null;
  private running = false;
  private failed: Error | null = null;
  private closing = false;
  private socketDir: string | null = null;
  private ownsSocketDir = false;

  constructor(
    private readonly db: PGlite,
    private readonly onFatal: (err: Error) => void,
  ) {}

  /** Listens on a Unix socket in `runDir` (0700; a loopback port on Windows); returns the URL. */
  async listen(runDir: string): Promise<string> {
    if (process.platform === "win32") {
      // No Unix sockets for pg on Windows: a loopback port. Like the socket directory, it is for
      // this process only; on a shared Windows machine other local users could reach it.
      await new Promise<void>((ok, fail) => this.server.once("error", fail).listen(0, "127.0.0.1", ok));
      const address = this.server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      return `postgresql://postgres@127.0.0.1:${port}/postgres`;
    }
    // The socket sits in DATA_DIR/run, mode 0700 (as PostgreSQL keeps its socket by its data):
    // no other local user can reach it, which matters because PGlite accepts any user without a
    // password, and one left by kill -9 is simply replaced (we hold DATA_DIR's lock). Socket paths
    // are limited to about 100 bytes, so a deep DATA_DIR gets a fresh 0700 directory under tmpdir.
    if (Buffer.byteLength(join(runDir, SOCKET_NAME)) <= MAX_SOCKET_PATH_BYTES) {
      await mkdir(runDir, { recursive: true, mode: 0o700 });
      await chmod(runDir, 0o700);
      await rm(join(runDir, SOCKET_NAME), { force: true });
      this.socketDir = runDir;
    } else {
      this.socketDir = await mkdtemp(join(tmpdir(), `marketchat-${randomBytes(3).toString("hex")}-`));
      this.ownsSocketDir = true;
    }
    const path = join(this.socketDir, SOCKET_NAME);
    await new Promise<void>((ok, fail) => this.server.once("error", fail).listen(path, ok));
    return `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(this.socketDir)}`;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.queue.length = 0;
    for (const c of this.connections) c.socket.destroy();
    await new Promise<void>((ok) => this.server.close(() => ok()));
    // Let a unit that is running finish before PGlite is closed under it.
    await this.db.runExclusive(async () => undefined);
    if (this.socketDir) {
      await rm(this.ownsSocketDir ? this.socketDir : join(this.socketDir, SOCKET_NAME), { recursive: true, force: true });
    }
  }

  private accept(socket: Socket): void {
    if (this.failed || this.closing) {
      socket.destroy();
      return;
    }
    const connection = new Connection(socket, (unit) => this.enqueue(unit), () => this.forget(connection));
    this.connections.add(connection);
  }

  private enqueue(unit: Unit): void {
    this.queue.push(unit);
    void this.pump();
  }

  /** A closed connection's queued work is dropped; if it held the session, it is handed back clean. */
  private forget(connection: Connection): void {
    this.connections.delete(connection);
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i]!.connection === connection) this.queue.splice(i, 1);
    }
    if (this.owner === connection) {
      // Sync ends an unfinished extended-protocol exchange; ROLLBACK ends a transaction block
      // (outside one it is a harmless warning). The clean-up runs first, still as the owner.
      this.queue.unshift({ connection, bytes: Buffer.concat([SYNC, simpleQuery("ROLLBACK")]), discard: true });
      void this.pump();
    }
  }

  private async pump(): Promise<void> {
    if (this.running || this.failed || this.closing) return;
    this.running = true;
    try {
      while (!this.closing) {
        const index = this.owner ? this.queue.findIndex((u) => u.connection === this.owner) : 0;
        if (index < 0 || this.queue.length === 0) break;
        const unit = this.queue.splice(index, 1)[0]!;
        const tail = new ReadyTracker();
        await this.db.runExclusive(() =>
          this.db.execProtocolRawStream(unit.bytes, {
            onRawData: (data) => {
              tail.push(data);
              // `data` is a view into PGlite's WebAssembly memory, which the next statement
              // overwrites; a socket keeps what it cannot send at once, so it gets a copy.
              if (!unit.discard) unit.connection.write(Buffer.from(data));
            },
          }),
        );
        this.owner = tail.idle ? null : unit.connection;
      }
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.running = false;
    }
  }

  private fail(err: Error): void {
    this.failed = err;
    this.queue.length = 0;
    for (const c of this.connections) c.socket.destroy(err);
    if (!this.closing) this.onFatal(err);
  }
}

const SYNC = Buffer.from([0x53, 0, 0, 0, 4]);

function simpleQuery(sql: string): Buffer {
  const body = Buffer.from(`${sql}\0`, "utf8");
  const header = Buffer.alloc(5);
  header.write("Q", 0, "latin1");
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/** One client connection: frames its bytes into protocol messages and hands whole units on. */
class Connection {
  private buffer: Buffer = Buffer.alloc(0);
  private started = false;
  private pending: Buffer[] = [];
  private closed = false;

  constructor(
    readonly socket: Socket,
    private readonly submit: (unit: Unit) => void,
    private readonly onClose: () => void,
  ) {
    socket.setNoDelay(true);
    socket.on("data", (data: Buffer) => this.receive(data));
    // A reset by the client (pg reports it on its side) ends the connection: "close" follows.
    socket.on("error", () => this.close());
    socket.on("close", () => this.close());
  }

  write(data: Uint8Array): void {
    if (!this.closed && this.socket.writable) this.socket.write(data);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }

  private receive(data: Buffer): void {
    this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
    while (!this.closed) {
      if (!this.started) {
        // Before the startup message, packets are length + code, with no type byte.
        if (this.buffer.length < 8) return;
        const length = this.buffer.readInt32BE(0);
        if (length < 8 || length > 10_000) return this.reject();
        if (this.buffer.length < length) return;
        const packet = this.buffer.subarray(0, length);
        this.buffer = this.buffer.subarray(length);
        const code = packet.readInt32BE(4);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          this.socket.write("N");
        } else if (code === PROTOCOL_3) {
          this.started = true;
          this.submit({ connection: this, bytes: Buffer.from(packet) });
        } else {
          // CancelRequest (PGlite cannot cancel a running statement) or an unknown protocol.
          return this.reject(code === CANCEL_REQUEST);
        }
        continue;
      }
      if (this.buffer.length < 5) return;
      const length = this.buffer.readInt32BE(1);
      if (length < 4) return this.reject();
      if (this.buffer.length < length + 1) return;
      const type = String.fromCharCode(this.buffer[0]!);
      const message = this.buffer.subarray(0, length + 1);
      this.buffer = this.buffer.subarray(length + 1);
      if (type === TERMINATE) {
        this.socket.end();
        this.close();
        return;
      }
      // Copied: the socket may reuse the chunk's memory before the unit runs.
      this.pending.push(Buffer.from(message));
      if (UNIT_ENDS.has(type)) {
        const bytes = Buffer.concat(this.pending);
        this.pending = [];
        this.submit({ connection: this, bytes });
      }
    }
  }

  private reject(quiet = false): void {
    if (!quiet) this.socket.destroy();
    else this.socket.end();
    this.close();
  }
}

/**
 * Follows the message framing of a unit's output to learn how it ended: with ReadyForQuery 'I'
 * the session is idle and any connection may run next; 'T'/'E' (transaction block) or no
 * ReadyForQuery at all (Flush, COPY) mean the session still belongs to this connection.
 */
class ReadyTracker {
  idle = false;
  private header = Buffer.alloc(0);
  private remaining = 0;
  private type = 0;

  push(data: Uint8Array): void {
    let offset = 0;
    while (offset < data.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, data.length - offset);
        // The status byte is ReadyForQuery's one-byte body.
        if (this.type === 0x5a && take > 0) this.idle = data[offset] === 0x49;
        this.remaining -= take;
        offset += take;
        continue;
      }
      const need = 5 - this.header.length;
      const take = Math.min(need, data.length - offset);
      this.header = Buffer.concat([this.header, data.subarray(offset, offset + take)]);
      offset += take;
      if (this.header.length === 5) {
        this.type = this.header[0]!;
        this.remaining = this.header.readInt32BE(1) - 4;
        this.header = Buffer.alloc(0);
        this.idle = false;
      }
    }
  }
}
