// Load generators and reference clients run in child processes of their own (so the process
// measuring the service is never the one being measured). This is the request/reply protocol
// over Node's IPC channel: the parent side (spawnWorker) and the child side (serveWorker).
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

interface Request {
  id: number;
  type: string;
  payload: unknown;
}
type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export interface Worker {
  name: string;
  pid: number;
  call<T>(type: string, payload?: unknown): Promise<T>;
  stop(): Promise<void>;
}

/** Starts `script` (relative to the repository root) under tsx with an IPC channel. */
export async function spawnWorker(script: string, name: string, env: Record<string, string> = {}): Promise<Worker> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", script], {
    cwd: ROOT,
    env: { ...process.env, ...env, BENCH_WORKER_NAME: name },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = true;
      for (const p of pending.values()) p.reject(new Error(`${name} exited (${signal ?? code}) during a request`));
      pending.clear();
      resolve();
    });
  });
  child.on("message", (raw) => {
    const reply = raw as Reply;
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    if (reply.ok) p.resolve(reply.result);
    else p.reject(new Error(`${name}: ${reply.error}`));
  });
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  return {
    name,
    pid: child.pid!,
    call<T>(type: string, payload: unknown = {}): Promise<T> {
      if (exited) return Promise.reject(new Error(`${name} is not running`));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, type, payload } satisfies Request);
      });
    },
    async stop() {
      if (exited) return;
      child.disconnect();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

type Handlers = Record<string, (payload: never) => Promise<unknown>>;

/** Child side: answers requests with the named handler; exits when the parent disconnects. */
export function serveWorker(handlers: Handlers): void {
  if (!process.send) throw new Error("this script is a benchmark worker: start it through bench/run.ts");
  process.on("message", (raw) => {
    const req = raw as Request;
    const handler = handlers[req.type];
    const reply = (r: Reply) => process.send!(r);
    if (!handler) {
      reply({ id: req.id, ok: false, error: `unknown request ${req.type}` });
      return;
    }
    handler(req.payload as never).then(
      (result) => reply({ id: req.id, ok: true, result }),
      (err: unknown) => reply({ id: req.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
  process.on("disconnect", () => process.exit(0));
}
