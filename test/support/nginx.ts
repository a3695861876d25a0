// A real nginx in front of two nodes, with the repository's own proxy rules
// (deploy/nginx.test.conf + deploy/nginx-proxy.conf). CI installs Debian's nginx (.ci/run).
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const DEPLOY = fileURLToPath(new URL("../../deploy/", import.meta.url));
const NGINX = process.env.NGINX_BIN ?? "/usr/sbin/nginx";

export interface Nginx {
  url: string;
  accessLog(): string;
  /** Rewrites the upstreams (nodes added or removed) and reloads nginx gracefully (SIGHUP): new
   * requests go to the new list, connections already open stay on their worker until they close. */
  setUpstreams(ports: number[]): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, "close");
  return port;
}

/** deploy/nginx.test.conf with its two upstream lines replaced by one line per port. */
function render(dir: string, port: number, upstreamPorts: readonly number[]): string {
  return readFileSync(join(DEPLOY, "nginx.test.conf"), "utf8")
    .replaceAll("__DIR__", dir)
    .replaceAll("__PORT__", String(port))
    .replace(/^(\s*server 127\.0\.0\.1:)__UPSTREAM1__(.*)$/gm, (_, head: string, tail: string) =>
      upstreamPorts.map((p) => `${head}${p}${tail}`).join("\n"),
    )
    .replace(/^\s*server 127\.0\.0\.1:__UPSTREAM2__.*\n/gm, "");
}

export async function startNginx(upstreamPorts: readonly number[]): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), "mc-nginx-"));
  // Started as root, nginx runs its workers as `nobody`: they must reach the temp paths in here
  // (request bodies over 16 KB, uploads, are buffered to client_body_temp), which a 0700 directory
  // would refuse with a 500.
  chmodSync(dir, 0o755);
  const port = await freePort();
  writeFileSync(join(dir, "nginx.conf"), render(dir, port, upstreamPorts));
  copyFileSync(join(DEPLOY, "nginx-proxy.conf"), join(dir, "nginx-proxy.conf"));
  const child: ChildProcess = spawn(NGINX, ["-e", "stderr", "-p", dir, "-c", join(dir, "nginx.conf")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const stderr: string[] = [];
  child.stderr!.on("data", (d: Buffer) => stderr.push(d.toString()));
  const exited = once(child, "exit");
  child.once("error", (err) => stderr.push(String(err)));
  // Ready when the port accepts connections.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`nginx did not start (${NGINX}): ${stderr.join("")}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    accessLog: () => readFileSync(join(dir, "access.log"), "utf8"),
    async setUpstreams(ports) {
      // The master logs "reconfiguring" when it has read the new file and started new workers.
      const reloads = () => (readFileSync(join(dir, "error.log"), "utf8").match(/reconfiguring/g) ?? []).length;
      const before = reloads();
      writeFileSync(join(dir, "nginx.conf"), render(dir, port, ports));
      child.kill("SIGHUP");
      const deadline = Date.now() + 10_000;
      while (reloads() === before) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nginx did not reload: ${stderr.join("")}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
