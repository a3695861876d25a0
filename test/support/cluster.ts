// Real server processes for the multi-node tests: each node is `src/main.ts` in its own child
// process on an ephemeral port, sharing the test file's PostgreSQL database and Redis prefix.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { TEST_SECRET } from "./tokens.js";
import type { TestEnv } from "./app.js";
import { redisEnv } from "./env.js";

// Not `new URL("../..", import.meta.url)`: in DOM-environment test files (test/react-hooks.test.ts)
// vitest rewrites that pattern into a URL relative to the page.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface NodeProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Log lines (pino JSON) the node printed. */
  logs: string[];
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: no clean disconnects, as when a machine dies. */
  kill(): Promise<void>;
}

export interface StartNodeOptions {
  /** Script to run instead of src/main.ts (relative to the repository root); it must print
   * "Server listening at http://127.0.0.1:<port>" on stdout once listening. */
  entry?: string;
  /** Extra node flags placed before the script (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
  /** How long to wait for "Server listening" (default 55 s, within the 60 s hook timeout: tsx compiles the
   * node on start, which takes over 20 s on two cores shared by several test runs; a first embedded
   * start also runs initdb). */
  startTimeoutMs?: number;
  /** Called with each chunk the node writes to stderr, from the start (before it listens). */
  onStderr?: (text: string) => void;
}

/**
 * A node's environment: the test file's database and Redis prefix, or in embedded mode no
 * DATABASE_URL / REDIS_URL and the test file's DATA_DIR.
 */
export function nodeEnv(env: TestEnv, name: string, extraEnv: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const all: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    NODE_ENV: "test",
    ...(env.mode === "embedded"
      ? { DATA_DIR: env.dataDir }
      : { DATABASE_URL: env.databaseUrl, ...redisEnv(extraEnv) }),
    REDIS_PREFIX: env.redisPrefix,
    JWT_SECRET: TEST_SECRET,
    NODE_ID: name,
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    ...extraEnv,
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
}

export async function startNode(
  env: TestEnv,
  name: string,
  /** Variables for the node; `undefined` removes one (e.g. JWT_SECRET, to test its absence). */
  extraEnv: Record<string, string | undefined> = {},
  options: StartNodeOptions = {},
): Promise<NodeProcess> {
  const args = [...(options.nodeArgs ?? []), "--import", "tsx", options.entry ?? "src/main.ts"];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: nodeEnv(env, name, extraEnv),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: string[] = [];
  const stderr: string[] = [];
  child.stderr!.on("data", (d: Buffer) => {
    stderr.push(d.toString());
    options.onStderr?.(d.toString());
  });
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${stderr.join("")}`)), options.startTimeoutMs ?? 55_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}: ${stderr.join("")}`));
    });
    lines.on("line", (line) => {
      logs.push(line);
      const match = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    logs,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      return exited;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}
