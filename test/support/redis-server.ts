// Private Redis servers for tests that kill Redis or need a cluster: the machine's redis-server
// binary on free loopback ports, with no persistence, in a temporary directory of their own.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RedisServer {
  port: number;
  url: string;
  /** SIGKILL: what a crash looks like to clients (connections reset, nothing flushed). */
  kill(): Promise<void>;
  /** Starts it again on the same port (same directory: a cluster node keeps its identity). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

export async function startRedisServer(options: { port?: number; dir?: string; args?: string[] } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "mc-redis-"));
  const ownDir = options.dir === undefined;
  let child: ChildProcess | null = null;
  const start = async () => {
    const proc = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, ...(options.args ?? [])],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child = proc;
    let output = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server on ${port} did not start: ${output}`)), 20_000);
      proc.stdout!.on("data", (d: Buffer) => {
        output += d.toString();
        if (output.includes("Ready to accept connections")) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server on ${port} exited with ${code}: ${output}`));
      });
    });
    proc.stdout!.resume();
    proc.stderr!.resume();
  };
  const end = async (signal: NodeJS.Signals) => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, "exit");
    proc.kill(signal);
    await exited;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: () => end("SIGKILL"),
    start,
    async stop() {
      await end("SIGTERM");
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisClusterServers {
  /** "host:port,…" as REDIS_CLUSTER_NODES takes it. */
  nodes: string;
  servers: RedisServer[];
  stop(): Promise<void>;
}

/** A real Redis Cluster of `masters` masters (no replicas), created with redis-cli --cluster create. */
export async function startRedisCluster(masters = 3): Promise<RedisClusterServers> {
  const dir = mkdtempSync(join(tmpdir(), "mc-redis-cluster-"));
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      servers.push(
        await startRedisServer({
          dir,
          args: ["--cluster-enabled", "yes", "--cluster-config-file", `nodes-${i}.conf`, "--cluster-node-timeout", "2000"],
        }),
      );
    }
    const addresses = servers.map((s) => `127.0.0.1:${s.port}`);
    const created = spawnSync("redis-cli", ["--cluster", "create", ...addresses, "--cluster-replicas", "0", "--cluster-yes"], {
      encoding: "utf8",
      timeout: 60_000,
    });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    // Every node must agree the cluster is up before clients use it.
    const deadline = Date.now() + 30_000;
    for (const server of servers) {
      for (;;) {
        const info = spawnSync("redis-cli", ["-p", String(server.port), "cluster", "info"], { encoding: "utf8" });
        if (info.stdout.includes("cluster_state:ok")) break;
        if (Date.now() > deadline) throw new Error(`cluster not ok on ${server.port}: ${info.stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    return {
      nodes: addresses.join(","),
      servers,
      async stop() {
        await Promise.all(servers.map((s) => s.stop()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
