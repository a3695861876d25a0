// Embedded mode against the PostgreSQL + Redis mode, on this machine: how long a node takes from
// spawn to /readyz 200 (embedded on a fresh DATA_DIR, embedded on an existing one, PostgreSQL),
// and the send → ack latency of N sequential message:send over one socket (each send waits for the
// previous ack, so this is latency, not throughput), after a warm-up.
//
//   npx tsx bench/embedded-vs-postgres.ts [--sends 1000] [--warmup 50]
//
// Each node is a real server process (src/main.ts under tsx, as test/support/cluster.ts starts
// it). Figures are printed and written to bench/results/embedded-vs-postgres.json; nothing here
// fails on a timing.
import { mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { connectSocket, emitAck, type TestEnv } from "../test/support/app.js";
import { startNode, type NodeProcess } from "../test/support/cluster.js";
import { token } from "../test/support/tokens.js";
import { createBenchEnv } from "./support/bench-env.js";
import { machineDescription } from "./support/proc-stats.js";
import { putAsService, round, summarizeSamples, type LatencyFigures } from "./support/samples.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const FIRST_START_TIMEOUT_MS = 300_000;

export type { LatencyFigures };

export interface ModeFigures {
  mode: "embedded" | "postgres";
  /** Spawn → /readyz 200 of the node the sends ran on. */
  startToReadyMs: number;
  sendToAck: LatencyFigures;
}

export interface EmbeddedVsPostgresResult {
  machine: ReturnType<typeof machineDescription>;
  sends: number;
  warmup: number;
  /** Embedded, first start on an empty DATA_DIR (initdb + migrations). */
  embeddedFirstStartToReadyMs: number;
  embedded: ModeFigures;
  postgres: ModeFigures;
  /** embedded p50 / postgres p50. */
  p50Ratio: number;
}

export async function runEmbeddedVsPostgres(opts: { sends?: number; warmup?: number; log?: (line: string) => void } = {}): Promise<EmbeddedVsPostgresResult> {
  const sends = opts.sends ?? 1000;
  const warmup = opts.warmup ?? 50;
  const log = opts.log ?? ((line: string) => console.log(`[embedded-vs-postgres] ${line}`));

  const dataDir = await mkdtemp(join(tmpdir(), "mc-bench-embedded-"));
  const embeddedEnv: TestEnv = { mode: "embedded", databaseUrl: "", redisPrefix: "unused", dataDir, close: () => rm(dataDir, { recursive: true, force: true }) };
  let embedded: ModeFigures;
  let embeddedFirstStartToReadyMs: number;
  try {
    log(`embedded: first start on an empty DATA_DIR (${dataDir})`);
    const first = await timedStart(embeddedEnv, "bench-embedded-first");
    embeddedFirstStartToReadyMs = first.ms;
    await first.node.stop();
    log(`embedded: first start → /readyz 200 in ${first.ms} ms; restarting on the same DATA_DIR`);
    const again = await timedStart(embeddedEnv, "bench-embedded");
    try {
      embedded = { mode: "embedded", startToReadyMs: again.ms, sendToAck: await measureSends(again.node, sends, warmup, log) };
    } finally {
      await again.node.stop();
    }
  } finally {
    await embeddedEnv.close();
  }

  const pgEnv = await createBenchEnv();
  let postgres: ModeFigures;
  try {
    const started = await timedStart(pgEnv, "bench-postgres");
    try {
      postgres = { mode: "postgres", startToReadyMs: started.ms, sendToAck: await measureSends(started.node, sends, warmup, log) };
    } finally {
      await started.node.stop();
    }
  } finally {
    await pgEnv.close();
  }

  const result: EmbeddedVsPostgresResult = {
    machine: machineDescription(),
    sends,
    warmup,
    embeddedFirstStartToReadyMs,
    embedded,
    postgres,
    p50Ratio: round(embedded.sendToAck.p50Ms / postgres.sendToAck.p50Ms),
  };
  printTable(result, log);
  const outDir = join(ROOT, "bench", "results");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "embedded-vs-postgres.json"), `${JSON.stringify(result, null, 2)}\n`);
  log(`wrote bench/results/embedded-vs-postgres.json`);
  return result;
}

async function timedStart(env: TestEnv, name: string): Promise<{ node: NodeProcess; ms: number }> {
  const started = performance.now();
  // One user sends far more than a person would: the per-user message limit is not under test.
  const node = await startNode(env, name, { RATE_LIMIT_MESSAGES: "off", SOCKET_EVENTS_PER_SOCKET: "off" }, { startTimeoutMs: FIRST_START_TIMEOUT_MS });
  for (;;) {
    const res = await fetch(`${node.url}/readyz`).catch(() => null);
    if (res?.status === 200) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { node, ms: Math.round(performance.now() - started) };
}

async function measureSends(node: NodeProcess, sends: number, warmup: number, log: (line: string) => void): Promise<LatencyFigures> {
  const tag = randomUUID().slice(0, 8);
  const buyer = `bench-buyer-${tag}`;
  const seller = `bench-seller-${tag}`;
  const listing = `bench-listing-${tag}`;
  await putAsService(node, `/api/internal/users/${buyer}`, { name: "Bench Buyer" });
  await putAsService(node, `/api/internal/users/${seller}`, { name: "Bench Seller" });
  await putAsService(node, `/api/internal/listings/${listing}`, { sellerId: seller, title: "Bench listing" });
  const opened = await fetch(`${node.url}/api/conversations`, {
    method: "POST",
    headers: { authorization: `Bearer ${token(buyer)}`, "content-type": "application/json" },
    body: JSON.stringify({ listingId: listing }),
  });
  const conversationId = ((await opened.json()) as { id: string }).id;
  const socket = await connectSocket(node.url, token(buyer));
  const samples: number[] = [];
  try {
    for (let i = 0; i < warmup + sends; i++) {
      const started = performance.now();
      const ack = await emitAck<{ ok: boolean; error?: unknown }>(socket, "message:send", {
        conversationId,
        clientId: randomUUID(),
        content: `message ${i}: is this still available?`,
      });
      const ms = performance.now() - started;
      if (!ack.ok) throw new Error(`send ${i} failed: ${JSON.stringify(ack.error)}`);
      if (i >= warmup) samples.push(ms);
    }
  } finally {
    socket.close();
  }
  const figures = summarizeSamples(samples);
  log(`${node.url}: ${sends} sends, p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms`);
  return figures;
}




function printTable(r: EmbeddedVsPostgresResult, log: (line: string) => void): void {
  const row = (cells: (string | number)[]) => cells.map((c, i) => String(c).padEnd(i === 0 ? 30 : 12)).join("");
  log(`machine: ${r.machine.cpu}, ${r.machine.cores} cores, load average ${r.machine.loadAverage}, Node ${r.machine.node}`);
  log(row(["", "embedded", "postgres"]));
  log(row(["spawn → /readyz 200 (ms)", r.embedded.startToReadyMs, r.postgres.startToReadyMs]));
  log(row(["  first start, empty DATA_DIR", r.embeddedFirstStartToReadyMs, "—"]));
  for (const key of ["p50Ms", "p90Ms", "p99Ms", "meanMs", "maxMs"] as const) {
    log(row([`send → ack ${key.replace("Ms", "")} (ms)`, r.embedded.sendToAck[key], r.postgres.sendToAck[key]]));
  }
  log(`embedded p50 / postgres p50 = ${r.p50Ratio}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Strict: an unknown flag or one without its value is an error, never a run with defaults.
  const { values } = parseArgs({ strict: true, options: { sends: { type: "string" }, warmup: { type: "string" } } });
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  runEmbeddedVsPostgres({ sends: num(values.sends), warmup: num(values.warmup) }).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
