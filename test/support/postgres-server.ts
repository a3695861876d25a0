// A private PostgreSQL for tests that stop and restart the database under a running node: the
// machine's own server binaries (initdb, pg_ctl under /usr/lib/postgresql/<version>/bin) on a free
// loopback port, with its data in a temporary directory removed at the end. Never the shared
// server at 5432, which every other test file uses.
import { execFile as execFileCb, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./redis-server.js";

const execFile = promisify(execFileCb);

export interface PostgresServer {
  port: number;
  /** postgresql://postgres@127.0.0.1:<port>/<database> (trust authentication). */
  url(database?: string): string;
  /** `pg_ctl stop -m immediate`: the server quits without a clean shutdown, as in a crash. */
  crash(): Promise<void>;
  /** Starts it again on the same port and data directory (crash recovery replays the WAL). */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

/** The newest installed PostgreSQL's bin directory. */
function binDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "pg_ctl"))) : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL server binaries under ${root}/*/bin`);
  return join(root, versions.sort((a, b) => Number(b) - Number(a))[0]!, "bin");
}

/** initdb and postgres refuse to run as root: run them as the postgres user then. */
function runAs(): { uid: number; gid: number } | Record<string, never> {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
  return { uid: id("-u"), gid: id("-g") };
}

export async function startPostgresServer(): Promise<PostgresServer> {
  const bin = binDir();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "mc-pg-"));
  const user = runAs();
  if ("uid" in user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, "data");
  const run = (tool: string, args: string[]) => execFile(join(bin, tool), args, { ...user, cwd: dir, timeout: 60_000 });
  await run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"]);
  const start = async () => {
    // fsync off: a test server; `-m immediate` loses nothing the server acknowledged, as the
    // machine itself stays up (the WAL is in the OS page cache).
    const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c max_connections=100`;
    await run("pg_ctl", ["start", "-D", data, "-w", "-t", "60", "-l", join(dir, "log"), "-o", options]);
  };
  const stop = (mode: string) => run("pg_ctl", ["stop", "-D", data, "-m", mode, "-w"]).then(() => undefined);
  await start();
  return {
    port,
    url: (database = "postgres") => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    crash: () => stop("immediate"),
    start,
    async close() {
      await stop("fast").catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
