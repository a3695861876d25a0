// Embedded mode's DATA_DIR: writable, used by one process at a time (a lock file holding the pid),
// never a silent second database over a directory that is not ours; and opening PGlite in it.
import { existsSync, unlinkSync } from "node:fs";
import { mkdir, readdir, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { PGlite } from "@electric-sql/pglite";

/** A start-up failure of the embedded database; its message is one line for the operator. */
export class EmbeddedDatabaseError extends Error {
  override readonly name = "EmbeddedDatabaseError";
}

const LOCK_FILE = "marketchat.lock";

// ---------------------------------------------------------------------------------------------
// DATA_DIR: writable, one process at a time, never a silent second database
// ---------------------------------------------------------------------------------------------

export async function prepareDataDir(dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new EmbeddedDatabaseError(`DATA_DIR ${dataDir} cannot be created: ${oneLine(err)}`);
  }
  const info = await stat(dataDir);
  if (!info.isDirectory()) throw new EmbeddedDatabaseError(`DATA_DIR ${dataDir} is not a directory`);
}

export interface DataDirLock {
  release(): Promise<void>;
}

/**
 * DATA_DIR/marketchat.lock holds the pid of the process that owns the directory. PGlite has no
 * lock of its own: two processes on one directory would both write the same files and corrupt them.
 * A lock whose process is gone (crash, kill -9) is taken over.
 */
export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
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
export async function refuseForeignDirectory(pgDataDir: string): Promise<void> {
  if (!existsSync(pgDataDir) || existsSync(join(pgDataDir, "PG_VERSION"))) return;
  const entries = await readdir(pgDataDir);
  if (entries.length > 0) {
    throw new EmbeddedDatabaseError(
      `${pgDataDir} is not an embedded database (no PG_VERSION, ${entries.length} other entries): ` +
        "it may be damaged; move it away to start with an empty database",
    );
  }
}

export async function openPGlite(pgDataDir: string): Promise<PGlite> {
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

export function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split("\n")[0]!.trim();
}

