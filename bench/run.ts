// `npm run bench [-- --quick] [--profile] [--nodes N] [--pairs N] [--sockets N] [--loadgens N]
//                  [--pool N] [--skip a,b] [--no-png]`
//
// Starts its own cluster (real PostgreSQL and Redis: a fresh database migrated with the service's
// migrator and a Redis prefix of its own, both removed at the end), its load generators in child
// processes, and the reference programs beside it, then measures on this machine:
//   - throughput and latency of the service at stepped offered load, with every delivery checked;
//   - idle connections: RSS per socket and connects per second;
//   - per-message cost: SQL statements and Redis commands;
//   - the same traffic through (a) bare Socket.IO + Redis adapter, (b) the per-message SQL alone,
//     (c) a tutorial-style Prisma + Socket.IO server — and prints the service's figures as ratios.
// Output: a table on stdout, JSON and an SVG chart under bench/results/. Exits 1 if any delivery
// of the service was lost, duplicated or out of order (never because of a timing figure).
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";
import { startNode, type NodeProcess } from "../test/support/cluster.js";
import { TEST_SECRET } from "../test/support/tokens.js";
import type { BenchPair, Integrity } from "./load/chat-load-worker.js";
import type { DatabaseRunRequest, DatabaseRunResult } from "./reference/database-worker.js";
import { formatTable } from "./report/table.js";
import { renderLineChart, type ChartSeries } from "./report/svg-chart.js";
import { summarizeProfile, type ProfileSummary } from "./report/cpu-profile.js";
import { renderSvgToPng } from "./report/render-png.js";
import { runConnections, type ConnectionsResult } from "./scenarios/connections.js";
import { measureMessageCost, referenceStatements, serviceStatements, type MessageCost } from "./scenarios/message-cost.js";
import {
  connectPairs,
  runLadder,
  runStep,
  verifyDelivery,
  type Ladder,
  type SystemUnderTest,
  type ThroughputResult,
} from "./scenarios/throughput.js";
import { createBenchEnv, serverVersions, type BenchEnv } from "./support/bench-env.js";
import { summarizeEncoded, type LatencySummary } from "./support/histogram.js";
import { machineDescription, openFileLimit } from "./support/proc-stats.js";
import { seedPairs } from "./support/seed.js";
import { spawnWorker, type Worker } from "./support/worker.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/**
 * The load generator sends more per user than anyone types, and scrapes /metrics unauthenticated:
 * the limits stay on (their checks are part of the hot path being measured) but out of reach.
 */
const UNREACHABLE_RATE_LIMITS = {
  RATE_LIMIT_MESSAGES: "1000000/1s",
  RATE_LIMIT_CONVERSATIONS: "1000000/1s",
  RATE_LIMIT_ANONYMOUS: "1000000/1s",
};
const GC_WAIT_MS = 500;
const GC_ON_SIGNAL = ["--expose-gc", "--import", pathToFileURL(join(ROOT, "bench/support/gc-on-signal.mjs")).href];
const MESSAGE_TEXT = "Hi! Is this still available? I could pick it up tomorrow afternoon if that suits you.";
const KB = 1024;

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

interface Options {
  quick: boolean;
  nodes: number;
  pairs: number;
  sockets: number;
  loadgens: number;
  pool: number;
  profile: boolean;
  png: boolean;
  skip: Set<string>;
  outDir: string;
}

const SKIPPABLE = ["connections", "database", "transport", "naive", "upload", "cost"];

const USAGE = `npm run bench [-- options]
  --quick            smoke run, well under a minute (CI); exits 1 only on lost/duplicated/reordered deliveries
  --profile          record a CPU profile of node-1 (node --cpu-prof) and print its top frames
  --nodes N          service nodes, and processes of each reference (default 2)
  --pairs N          buyer/seller pairs in the throughput scenario (default 128, quick 32)
  --sockets N        idle sockets in the connections scenario (default 10000, quick 400)
  --pool N           DATABASE_POOL_SIZE of every node and reference (default 10)
  --loadgens N       load generator processes (default 1)
  --skip a,b         leave out: ${SKIPPABLE.join(", ")}
  --with-upload      also run bench/upload-bench.ts in a --quick run (a full run always does, in its
                     short form so that the whole run stays under 5 minutes)
  --upload-full      run bench/upload-bench.ts in its full form (adds minutes)
  --no-png           do not render latest.png with Chromium
  --out DIR          where results go (default bench/results)`;

class OptionError extends Error {}

function parseOptions(argv: string[]): Options {
  const quick = argv.includes("--quick");
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
  };
  const int = (name: string, fallback: number, min: number, max: number) => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new OptionError(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
    return n;
  };
  const skip = new Set((value("--skip") ?? "").split(",").filter(Boolean));
  for (const s of skip) if (!SKIPPABLE.includes(s)) throw new OptionError(`--skip takes ${SKIPPABLE.join(", ")} (got "${s}")`);
  return {
    quick,
    nodes: int("--nodes", 2, 1, 8),
    pairs: int("--pairs", quick ? 32 : 128, 1, 2_000),
    sockets: int("--sockets", quick ? 400 : 10_000, 0, 200_000),
    loadgens: int("--loadgens", 1, 1, 8),
    pool: int("--pool", 10, 1, 100),
    profile: argv.includes("--profile"),
    png: !argv.includes("--no-png"),
    skip: quick && !argv.includes("--with-upload") ? new Set([...skip, "upload"]) : skip,
    outDir: value("--out") ?? join(ROOT, "bench/results"),
  };
}

/**
 * Timings per mode. Budgets bound each phase so that a full run stays under 5 minutes and
 * --quick under a minute even when a system never saturates; a saturated step ends its ladder.
 */
function plan(quick: boolean) {
  return quick
    ? {
        ladder: { startRate: 100, factor: 3, maxSteps: 3, stepMs: 1_000, drainMaxMs: 3_000, minDeliveredRatio: 0.9, maxP99Ms: 1_000 },
        ladderBudgetMs: 8_000,
        warmupDrainMs: 10_000,
        cost: { rate: 100, durationMs: 600 },
        connections: { steps: 2, budgetMs: 6_000, settleMs: 500 },
        databaseMs: 1_000,
        verifyIdleMs: 8_000,
      }
    : {
        ladder: { startRate: 100, factor: 1.6, maxSteps: 11, stepMs: 3_000, drainMaxMs: 8_000, minDeliveredRatio: 0.9, maxP99Ms: 1_000 },
        ladderBudgetMs: 45_000,
        warmupDrainMs: 15_000,
        cost: { rate: 200, durationMs: 2_500 },
        connections: { steps: 4, budgetMs: 75_000, settleMs: 1_500 },
        databaseMs: 5_000,
        verifyIdleMs: 15_000,
      };
}

// ---------------------------------------------------------------------------------------------
// Run
// ---------------------------------------------------------------------------------------------

interface SystemResult extends ThroughputResult {
  warmup: { sent: number; completed: number; errors: Record<string, number>; joinFailures: number };
  integrity: Integrity | null;
  cost: Omit<MessageCost, "step"> | null;
}

interface DatabaseResult {
  processes: number;
  poolSize: number;
  concurrency: number;
  conversations: number;
  stored: number;
  errors: number;
  firstError: string | null;
  perSec: number;
  statementsPerMessage: number;
  latency: LatencySummary;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const p = plan(opts.quick);
  // Read before the run adds its own load: a busy machine makes every figure noisy.
  const machineAtStart = machineDescription();
  const started = performance.now();
  const startedAt = new Date();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
  const notes: string[] = [];
  mkdirSync(opts.outDir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  // One directory per run: Node writes one profile per thread (tsx's loader runs on its own).
  const profileDir = join(opts.outDir, "profiles", `node-1-${stamp}`);

  log(`marketchat bench (${opts.quick ? "quick" : "full"}): ${opts.nodes} node(s), ${opts.pairs} pairs, ${opts.sockets} idle sockets`);
  const env: BenchEnv = await createBenchEnv();
  log(`[${elapsed()}] database ${env.databaseName} migrated; Redis prefix ${env.redisPrefix}`);
  // Ctrl-C: the children get the signal too and stop; the database and keys are ours to remove.
  const interrupted = (signal: NodeJS.Signals) => {
    log(`${signal}: removing ${env.databaseName} and the ${env.redisPrefix} keys`);
    env.close().then(
      () => process.exit(130),
      (err: Error) => {
        log(`cleanup failed: ${err.message}`);
        process.exit(130);
      },
    );
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  const versions = await serverVersions(env);

  const servers: NodeProcess[] = [];
  const workers: Worker[] = [];
  let profileWindow: [number, number] | null = null;
  const results: {
    service: SystemResult | null;
    transport: SystemResult | null;
    naive: SystemResult | null;
    database: DatabaseResult | null;
    connections: ConnectionsResult | null;
    upload: unknown;
  } = { service: null, transport: null, naive: null, database: null, connections: null, upload: null };

  try {
    // --- processes: the service's nodes and the reference servers start together -------------
    const nodeEnv = { DATABASE_POOL_SIZE: String(opts.pool), LOG_LEVEL: "info", ...UNREACHABLE_RATE_LIMITS };
    const names = (prefix: string) => Array.from({ length: opts.nodes }, (_, i) => `${prefix}-${i + 1}`);
    const startGroup = (prefix: string, entry: string | undefined, extra: (i: number) => Record<string, string>) =>
      Promise.all(
        names(prefix).map((name, i) =>
          startNode(env, name, { ...nodeEnv, ...extra(i) }, {
            ...(entry ? { entry } : {}),
            // The service's nodes collect garbage on SIGUSR2 (for RSS readings), node-1 may profile.
            ...(entry === undefined
              ? { nodeArgs: [...GC_ON_SIGNAL, ...(opts.profile && i === 0 ? ["--cpu-prof", "--cpu-prof-dir", profileDir] : [])] }
              : {}),
          }),
        ),
      );
    const refEnv = (kind: string) => (i: number) => ({
      REDIS_PREFIX: `${env.redisPrefix}:${kind}`,
      JWT_SECRET: TEST_SECRET,
      BENCH_NODE_INDEX: String(i),
      BENCH_NODE_COUNT: String(opts.nodes),
    });
    const [serviceNodes, transportNodes, naiveNodes, loadgens] = await Promise.all([
      startGroup("node", undefined, () => ({})),
      opts.skip.has("transport") ? Promise.resolve([]) : startGroup("transport", "bench/reference/transport-server.ts", refEnv("transport")),
      opts.skip.has("naive") ? Promise.resolve([]) : startGroup("naive", "bench/reference/naive-server.ts", refEnv("naive")),
      Promise.all(Array.from({ length: opts.loadgens }, (_, i) => spawnWorker("bench/load/chat-load-worker.ts", `loadgen-${i + 1}`))),
    ]);
    servers.push(...serviceNodes, ...transportNodes, ...naiveNodes);
    workers.push(...loadgens);
    log(`[${elapsed()}] started ${servers.length} server processes and ${loadgens.length} load generator(s)`);

    // One set of conversations for every system: the references write into them only after the
    // service's delivery check (the naive server's seq values start far above the service's).
    const pairs = await seedPairs(
      serviceNodes.map((n) => n.url),
      `bench-${Date.now().toString(36)}`,
      opts.pairs,
    );
    log(`[${elapsed()}] seeded ${pairs.length} conversations over HTTP`);

    const sut = (kind: SystemResult["system"], label: string, nodes: NodeProcess[]): SystemUnderTest => ({
      kind,
      label,
      urls: nodes.map((n) => n.url),
      pids: Object.fromEntries(nodes.map((n, i) => [`${label}-${i + 1}`, n.child.pid!])),
    });

    // --- the service: ladder, per-message cost, delivery check --------------------------------
    const service = sut("service", "service", serviceNodes);
    results.service = await throughputOf(loadgens, service, pairs, p, (window) => {
      profileWindow = window;
    });
    results.service.cost = opts.skip.has("cost")
      ? null
      : await costOf(loadgens, service, env, p, () => serviceStatements(service.urls));
    results.service.integrity = await verifyDelivery(loadgens, p.verifyIdleMs);
    await Promise.all(loadgens.map((w) => w.call("close")));
    logIntegrity(results.service.integrity);

    // --- idle connections on the service's nodes ----------------------------------------------
    if (!opts.skip.has("connections") && opts.sockets > 0) {
      results.connections = await runConnections({
        label: "service",
        nodes: serviceNodes.map((n, i) => ({ name: `node-${i + 1}`, url: n.url, pid: n.child.pid! })),
        target: opts.sockets,
        steps: p.connections.steps,
        budgetMs: p.connections.budgetMs,
        settleMs: p.connections.settleMs,
        workers: Math.max(2, opts.nodes),
        concurrency: 100,
        serverSockets: () => metricSum(service.urls, "chat_sockets_connected"),
        heapBytes: async () =>
          (await metricSum(service.urls, "nodejs_heap_size_used_bytes")) + (await metricSum(service.urls, "nodejs_external_memory_bytes")),
        collectGarbage: async () => {
          for (const n of serviceNodes) n.child.kill("SIGUSR2");
          await new Promise((r) => setTimeout(r, GC_WAIT_MS));
        },
        log,
      });
    }
    await Promise.all(serviceNodes.map((n) => n.stop()));
    log(`[${elapsed()}] service nodes stopped`);

    // --- reference (b): the database alone -----------------------------------------------------
    if (!opts.skip.has("database")) {
      results.database = await databaseCeiling(env, pairs, opts, p.databaseMs);
      log(
        `  database   ${results.database.perSec} messages/s (${results.database.processes} × ${results.database.concurrency} concurrent), ` +
          `p50 ${results.database.latency.p50} p99 ${results.database.latency.p99} ms, ${results.database.statementsPerMessage} statements/message`,
      );
    }

    // --- references (a) and (c): the same traffic through other servers -----------------------
    if (transportNodes.length > 0) {
      const transport = sut("transport", "transport", transportNodes);
      results.transport = await throughputOf(loadgens, transport, pairs, p);
      results.transport.cost = opts.skip.has("cost") ? null : await costOf(loadgens, transport, env, p, async () => null);
      results.transport.integrity = await verifyDelivery(loadgens, p.verifyIdleMs);
      await Promise.all(loadgens.map((w) => w.call("close")));
      logIntegrity(results.transport.integrity);
    }
    if (naiveNodes.length > 0) {
      const naive = sut("naive", "naive", naiveNodes);
      results.naive = await throughputOf(loadgens, naive, pairs, p);
      results.naive.cost = opts.skip.has("cost") ? null : await costOf(loadgens, naive, env, p, () => referenceStatements(naive.urls));
      results.naive.integrity = await verifyDelivery(loadgens, p.verifyIdleMs);
      await Promise.all(loadgens.map((w) => w.call("close")));
      logIntegrity(results.naive.integrity);
    }
  } catch (err) {
    // What the servers said about it is usually the explanation.
    for (const server of servers) {
      const errors = server.logs.filter((l) => /"level":(50|60)/.test(l)).slice(-3);
      for (const line of errors) log(`  ${server.url}: ${line.slice(0, 2_000)}`);
    }
    throw err;
  } finally {
    await Promise.allSettled(workers.map((w) => w.stop()));
    await Promise.allSettled(servers.map((s) => s.stop()));
    await env.close().catch((err: Error) => log(`cleaning up ${env.databaseName} failed: ${err.message}`));
  }
  log(`[${elapsed()}] cluster stopped, database dropped`);

  // --- the upload benchmark (another module), if present ---------------------------------------
  if (!opts.skip.has("upload")) results.upload = await uploadBench(!process.argv.includes("--upload-full"));
  else log("upload benchmark: skipped (--skip upload, or --quick without --with-upload)");

  let profile: ProfileSummary | null = null;
  if (opts.profile) {
    const files = existsSync(profileDir) ? readdirSync(profileDir).filter((f) => f.endsWith(".cpuprofile")) : [];
    // The main thread is the one that was busy.
    const summaries = files.map((f) => summarizeProfile(join(profileDir, f), profileWindow));
    profile = summaries.sort((a, b) => b.busyMs - a.busyMs)[0] ?? null;
    if (!profile) notes.push(`--profile: no profile was written to ${profileDir}`);
  }

  // --- report ----------------------------------------------------------------------------------
  const summary = buildSummary(results, opts);
  if (machineAtStart.loadAverage > machineAtStart.cores / 2) {
    notes.push(
      `the machine was already busy when the run started (load average ${machineAtStart.loadAverage} on ${machineAtStart.cores} cores): other work competed for CPU and PostgreSQL, figures are noisy`,
    );
  }
  const machine = { ...machineAtStart, postgres: versions.postgres, redis: versions.redis, fileLimit: openFileLimit() };
  const report = {
    version: 1,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
    mode: opts.quick ? "quick" : "full",
    startedAt: startedAt.toISOString(),
    durationS: round((performance.now() - started) / 1000, 1),
    machine,
    config: { nodes: opts.nodes, pairs: opts.pairs, socketsPerUser: opts.nodes, poolSize: opts.pool, loadgens: opts.loadgens, plan: p, messageBytes: Buffer.byteLength(MESSAGE_TEXT) },
    ...results,
    profile,
    ratios: summary.ratios,
    p99ByRate: summary.p99ByRate,
    targets: summary.targets,
    integrityOk: summary.integrityOk,
    notes: [...notes, ...summary.notes],
  };
  const svg = chart(results, opts, machine);
  for (const name of ["latest", `bench-${stamp}`]) {
    writeFileSync(join(opts.outDir, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(opts.outDir, `${name}.svg`), svg);
  }
  let pngNote: string | null = null;
  if (opts.png) {
    pngNote = await renderSvgToPng(join(opts.outDir, "latest.svg"), join(opts.outDir, "latest.png")).catch(
      (err: Error) => `PNG rendering failed: ${err.message}`,
    );
  }
  process.stdout.write(`${printReport(report, summary, results, profile)}\n`);
  process.stdout.write(
    `\nWritten: ${join(opts.outDir, "latest.json")}, ${join(opts.outDir, "latest.svg")}` +
      (opts.png && !pngNote ? `, ${join(opts.outDir, "latest.png")}` : "") +
      ` (and bench-${stamp}.*)\n` +
      (pngNote ? `${pngNote}\n` : ""),
  );
  if (!summary.integrityOk) {
    process.stdout.write("\nFAILED: the service lost, duplicated or reordered deliveries (see Delivery check).\n");
    return 1;
  }
  return 0;
}

async function throughputOf(
  loadgens: Worker[],
  sut: SystemUnderTest,
  pairs: BenchPair[],
  p: ReturnType<typeof plan>,
  onWindow?: (window: [number, number]) => void,
): Promise<SystemResult> {
  const connected = await connectPairs(loadgens, sut, pairs, MESSAGE_TEXT);
  const warm = await runStep(loadgens, sut, { label: "warm-up", rate: 0, durationMs: 0, drainMaxMs: p.warmupDrainMs }, true);
  if (warm.completed !== pairs.length) {
    log(`  ${sut.label}: warm-up delivered ${warm.completed} of ${pairs.length} first messages (errors ${JSON.stringify(warm.errors)})`);
  }
  const joinFailures = connected.joinFailures + (warm.joinFailures ?? 0);
  if (joinFailures > 0) {
    log(`  ${sut.label}: ${joinFailures} conversation:join calls failed (first: ${connected.firstJoinError ?? warm.firstJoinError}); those sockets also get notifications`);
  }
  const windowStart = Number(process.hrtime.bigint() / 1000n);
  const ladder: Ladder = { ...p.ladder, deadline: performance.now() + p.ladderBudgetMs };
  const { steps, stoppedBecause } = await runLadder(loadgens, sut, ladder, log);
  onWindow?.([windowStart, Number(process.hrtime.bigint() / 1000n)]);
  return {
    system: sut.kind,
    label: sut.label,
    pairs: pairs.length,
    sockets: connected.sockets,
    connectMs: connected.ms,
    warmup: { sent: warm.sent, completed: warm.completed, errors: warm.errors, joinFailures },
    steps,
    maxDeliveredPerSec: Math.max(0, ...steps.map((s) => s.deliveredPerSec)),
    stoppedBecause,
    integrity: null,
    cost: null,
  };
}

async function costOf(
  loadgens: Worker[],
  sut: SystemUnderTest,
  env: BenchEnv,
  p: ReturnType<typeof plan>,
  statements: () => Promise<number | null>,
): Promise<Omit<MessageCost, "step">> {
  const { step: _step, ...cost } = await measureMessageCost({
    loadgens,
    sut,
    redisUrl: env.redisUrl,
    rate: p.cost.rate,
    durationMs: p.cost.durationMs,
    drainMaxMs: p.ladder.drainMaxMs,
    statements,
  });
  const redis = Object.entries(cost.redisByCommand).map(([c, n]) => `${c} ${n}`).join(", ") || "none";
  log(`  ${sut.label.padEnd(10)} per message: ${cost.sqlStatementsPerMessage ?? "no"} SQL statements; Redis ${cost.redisCommandsPerMessage ?? "?"} (${redis}) over ${cost.messages} messages`);
  return cost;
}

/** A gauge of the nodes' /metrics, summed over the nodes (0 where a node does not expose it). */
async function metricSum(urls: string[], name: string): Promise<number> {
  const pattern = new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+]+)`, "m");
  let total = 0;
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    total += Number(pattern.exec(text)?.[1] ?? 0);
  }
  return total;
}

async function databaseCeiling(env: BenchEnv, pairs: BenchPair[], opts: Options, durationMs: number): Promise<DatabaseResult> {
  const processes = opts.nodes;
  const dbWorkers = await Promise.all(
    Array.from({ length: processes }, (_, i) => spawnWorker("bench/reference/database-worker.ts", `database-${i + 1}`)),
  );
  try {
    const parts = await Promise.all(
      dbWorkers.map((w, i) =>
        w.call<DatabaseRunResult>("run", {
          databaseUrl: env.databaseUrl,
          poolSize: opts.pool,
          concurrency: opts.pool,
          durationMs,
          conversations: pairs.filter((_, j) => j % processes === i).map((pair) => ({ id: pair.conversationId, senderId: pair.buyer.id })),
          content: MESSAGE_TEXT,
        } satisfies DatabaseRunRequest),
      ),
    );
    const stored = parts.reduce((n, r) => n + r.stored, 0);
    const statements = parts.reduce((n, r) => n + r.statements, 0);
    return {
      processes,
      poolSize: opts.pool,
      concurrency: opts.pool,
      conversations: pairs.length,
      stored,
      errors: parts.reduce((n, r) => n + r.errors, 0),
      firstError: parts.find((r) => r.firstError)?.firstError ?? null,
      perSec: Math.round(stored / (Math.max(...parts.map((r) => r.ms)) / 1000)),
      statementsPerMessage: stored > 0 ? round(statements / stored) : 0,
      latency: summarizeEncoded(parts.map((r) => r.histogram)),
    };
  } finally {
    await Promise.all(dbWorkers.map((w) => w.stop()));
  }
}

async function uploadBench(quick: boolean): Promise<unknown> {
  const file = join(ROOT, "bench/upload-bench.ts");
  if (!existsSync(file)) {
    log("upload benchmark: bench/upload-bench.ts is not there yet; skipped");
    return { skipped: "bench/upload-bench.ts not present" };
  }
  // A variable specifier: the module is another engineer's and may not exist when this compiles.
  const specifier = "./upload-bench.js";
  try {
    const mod = (await import(specifier)) as { runUploadBench?: (o: { quick: boolean }) => Promise<unknown> };
    if (typeof mod.runUploadBench !== "function") return { skipped: "bench/upload-bench.ts exports no runUploadBench" };
    log(`upload benchmark: runUploadBench({ quick: ${quick} }) from bench/upload-bench.ts`);
    return await mod.runUploadBench({ quick });
  } catch (err) {
    log(`upload benchmark failed: ${(err as Error).message}`);
    return { failed: (err as Error).message };
  }
}

function logIntegrity(i: Integrity): void {
  log(
    `  ${i.system.padEnd(10)} delivery check: ${i.messages} messages × ${i.sockets} sockets — lost ${i.lost}, duplicated ${i.duplicated}, ` +
      `out of order ${i.outOfOrder}, unexpected ${i.unexpected}, unanswered sends ${i.unanswered}, disconnects ${i.disconnects}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Summary, ratios and targets
// ---------------------------------------------------------------------------------------------

interface Target {
  name: string;
  goal: string;
  value: string;
  met: boolean | null;
}

interface Summary {
  ratios: Record<string, number | null>;
  /** p99 send→deliver of the service and the naive baseline at each offered rate both ran. */
  p99ByRate: { offered: number; service: number; naive: number; ratio: number | null; bothKeptUp: boolean }[];
  targets: Target[];
  integrityOk: boolean;
  notes: string[];
  /** The highest offered rate at which both the service and the baseline kept up. */
  commonRate: number | null;
}

function buildSummary(r: { service: SystemResult | null; transport: SystemResult | null; naive: SystemResult | null; database: DatabaseResult | null; connections: ConnectionsResult | null }, opts: Options): Summary {
  const notes: string[] = [];
  const s = r.service!;
  const ratio = (a: number | null | undefined, b: number | null | undefined) => (a && b ? round(a / b) : null);
  const saturated = (x: SystemResult | null) => x?.steps.some((st) => st.saturated) ?? false;
  for (const x of [r.service, r.transport, r.naive]) {
    if (x && !saturated(x)) notes.push(`${x.label} never saturated (stopped: ${x.stoppedBecause}): its max throughput is a lower bound`);
  }
  let commonRate: number | null = null;
  let p99Ratio: number | null = null;
  const p99ByRate: Summary["p99ByRate"] = [];
  if (r.naive) {
    for (const st of s.steps) {
      const base = r.naive.steps.find((b) => b.offered === st.offered);
      if (!base) continue;
      const bothKeptUp = !st.saturated && !base.saturated;
      p99ByRate.push({ offered: st.offered, service: st.deliver.p99, naive: base.deliver.p99, ratio: ratio(st.deliver.p99, base.deliver.p99), bothKeptUp });
      if (bothKeptUp) {
        commonRate = st.offered;
        p99Ratio = ratio(st.deliver.p99, base.deliver.p99);
      }
    }
  }
  const ratios = {
    throughputVsNaive: ratio(s.maxDeliveredPerSec, r.naive?.maxDeliveredPerSec),
    throughputVsTransport: ratio(s.maxDeliveredPerSec, r.transport?.maxDeliveredPerSec),
    throughputVsDatabase: ratio(s.maxDeliveredPerSec, r.database?.perSec),
    p99DeliverVsNaiveAtCommonLoad: p99Ratio,
  };
  const integrity = s.integrity!;
  const integrityOk = integrity.lost === 0 && integrity.duplicated === 0 && integrity.outOfOrder === 0;
  // RSS grows late while the heap reuses pages freed earlier; the largest of the three readings
  // (RSS over baseline, RSS between the first and last step, heap + external) is the honest one.
  const last = r.connections?.steps.at(-1);
  const readings = [r.connections?.rssPerSocketBytes, r.connections?.marginalPerSocketBytes, last?.heapPerSocketBytes].filter(
    (v): v is number => typeof v === "number",
  );
  const perSocket = readings.length > 0 ? Math.max(...readings) : null;
  const met = (v: number | null, ok: (v: number) => boolean) => (v === null ? null : ok(v));
  const targets: Target[] = [
    { name: "throughput vs naive baseline", goal: "≥ 1.0×", value: fmtRatio(ratios.throughputVsNaive), met: met(ratios.throughputVsNaive, (v) => v >= 1) },
    { name: "throughput vs transport ceiling", goal: "≥ 0.50×", value: fmtRatio(ratios.throughputVsTransport), met: met(ratios.throughputVsTransport, (v) => v >= 0.5) },
    {
      name: `p99 send→deliver vs naive${commonRate ? ` @ ${commonRate}/s` : ""}`,
      goal: "≤ 1.5×",
      value: fmtRatio(p99Ratio),
      met: met(p99Ratio, (v) => v <= 1.5),
    },
    {
      name: `RSS per idle socket${last ? ` (${last.sockets} sockets)` : ""}`,
      goal: "≤ 20 KB",
      value: perSocket === null ? "-" : `${(perSocket / KB).toFixed(1)} KB`,
      met: met(perSocket, (v) => v <= 20 * KB),
    },
    {
      name: "lost / duplicated / reordered deliveries",
      goal: "0",
      value: `${integrity.lost} / ${integrity.duplicated} / ${integrity.outOfOrder}`,
      met: integrityOk,
    },
  ];
  if (opts.quick) notes.push("--quick: short steps and a short ladder; figures are a smoke test, not a measurement");
  return { ratios, p99ByRate, targets, integrityOk, notes, commonRate };
}

const fmtRatio = (v: number | null) => (v === null ? "-" : `${v.toFixed(2)}×`);
const fmtMs = (v: number) => (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

function printReport(
  report: { command: string; mode: string; durationS: number; machine: ReturnType<typeof machineDescription> & { postgres: string; redis: string; fileLimit: { soft: number; hard: number } }; notes: string[] },
  summary: Summary,
  r: { service: SystemResult | null; transport: SystemResult | null; naive: SystemResult | null; database: DatabaseResult | null; connections: ConnectionsResult | null; upload: unknown },
  profile: ProfileSummary | null,
): string {
  const out: string[] = [];
  const m = report.machine;
  out.push(
    `marketchat benchmark — ${report.command} (${report.mode}, ${report.durationS} s)`,
    `machine: ${m.cores} × ${m.cpu}, ${m.memoryGb} GB, ${m.os}, Node ${m.node}, PostgreSQL ${m.postgres}, Redis ${m.redis}, ulimit -n ${m.fileLimit.soft}`,
    "",
  );
  const systems = [r.service, r.transport, r.naive].filter((x): x is SystemResult => x !== null);
  out.push("Throughput and latency at stepped offered load (ms; deliver = send → message:new on the other participant's sockets;");
  out.push("CPU in cores, 1.00 = one core busy; a load generator near 1.00 means the generator, not the system, was the limit)");
  out.push(
    formatTable(
      ["system", "offered/s", "delivered/s", "ack p50", "ack p99", "deliver p50", "deliver p95", "deliver p99", "errors", "server CPU", "loadgen CPU", "machine CPU", "saturated"],
      systems.flatMap((x) =>
        x.steps.map((st) => [
          x.label,
          st.offered,
          st.deliveredPerSec,
          fmtMs(st.ack.p50),
          fmtMs(st.ack.p99),
          fmtMs(st.deliver.p50),
          fmtMs(st.deliver.p95),
          fmtMs(st.deliver.p99),
          Object.values(st.errors).reduce((a, b) => a + b, 0),
          Object.values(st.cpu.processes).map((c) => (c === null ? "-" : c.toFixed(2))).join("+"),
          st.generator.map((g) => g.cpuCores.toFixed(2)).join("+"),
          `${st.cpu.machineBusyPct}%`,
          st.saturated ? "yes" : "",
        ]),
      ),
    ),
    "",
  );
  out.push("Per system");
  const rows = systems.map((x) => [
    x.label,
    `${x.maxDeliveredPerSec}${x.steps.some((st) => st.saturated) ? "" : "+"}`,
    x.cost?.sqlStatementsPerMessage ?? "-",
    x.cost?.redisCommandsPerMessage ?? "-",
    x.cost ? Object.entries(x.cost.redisByCommand).map(([c, n]) => `${c}×${n}`).join(" ") || "none" : "-",
    x.integrity ? `${x.integrity.lost}/${x.integrity.duplicated}/${x.integrity.outOfOrder}` : "-",
  ]);
  if (r.database) rows.push(["database (SQL only)", `${r.database.perSec}`, r.database.statementsPerMessage, "-", "-", "-"]);
  out.push(formatTable(["system", "max msg/s", "SQL/msg", "Redis cmd/msg", "Redis commands", "lost/dup/reordered"], rows), "");
  if (r.database) {
    out.push(
      `Database ceiling: ${r.database.processes} processes × ${r.database.concurrency} concurrent senders (pool ${r.database.poolSize}), ` +
        `${r.database.stored} messages, p50 ${r.database.latency.p50} ms, p99 ${r.database.latency.p99} ms per message` +
        (r.database.errors ? `, ${r.database.errors} errors (${r.database.firstError})` : ""),
      "",
    );
  }
  if (r.connections) {
    const c = r.connections;
    out.push(`Idle connections (service, ${Object.keys(c.baselineRss).length} nodes; baseline RSS ${(Object.values(c.baselineRss).reduce<number>((a, b) => a + (b ?? 0), 0) / KB ** 2).toFixed(1)} MB)`);
    out.push(
      formatTable(
        ["sockets", "RSS total MB", "RSS/socket KB", "marginal KB", "heap/socket KB", "connects/s", "failed"],
        c.steps.map((st) => [
          st.sockets,
          (st.rssTotal / KB ** 2).toFixed(1),
          st.rssPerSocketBytes === null ? null : (st.rssPerSocketBytes / KB).toFixed(1),
          st.marginalPerSocketBytes === null ? null : (st.marginalPerSocketBytes / KB).toFixed(1),
          st.heapPerSocketBytes === null ? null : (st.heapPerSocketBytes / KB).toFixed(1),
          st.connectsPerSec,
          st.failed,
        ]),
      ),
    );
    if (c.limitedBy) out.push(`limited by ${c.limitedBy}`);
    out.push("");
  }
  out.push("Service as a ratio of each reference");
  out.push(
    formatTable(
      ["ratio", "value"],
      [
        ["throughput / naive baseline", fmtRatio(summary.ratios.throughputVsNaive ?? null)],
        ["throughput / transport ceiling", fmtRatio(summary.ratios.throughputVsTransport ?? null)],
        ["throughput / database ceiling", fmtRatio(summary.ratios.throughputVsDatabase ?? null)],
        [`p99 deliver / naive p99${summary.commonRate ? ` @ ${summary.commonRate}/s` : ""}`, fmtRatio(summary.ratios.p99DeliverVsNaiveAtCommonLoad ?? null)],
      ],
    ),
    "",
  );
  out.push("Targets (goals, not pass/fail — except delivery integrity)");
  out.push(formatTable(["target", "goal", "measured", "met"], summary.targets.map((t) => [t.name, t.goal, t.value, t.met === null ? "n/a" : t.met ? "yes" : "NO"])), "");
  const i = r.service?.integrity;
  if (i) out.push(`Delivery check (service): ${i.method}: ${i.messages} messages to ${i.sockets} sockets, lost ${i.lost}, duplicated ${i.duplicated}, out of order ${i.outOfOrder}${i.disconnects ? `, ${i.disconnects} socket disconnects` : ""}`, "");
  if (profile) {
    out.push(`CPU profile of node-1 (${profile.windowed ? "during the throughput ladder" : "whole run"}: ${profile.busyMs} ms busy, ${profile.idlePct}% idle) — top self time`);
    out.push(formatTable(["function", "where", "ms", "% busy"], profile.topFrames.slice(0, 12).map((f) => [f.name, f.where, f.ms, f.pct])));
    out.push("", "called from (heaviest caller chain, nearest first)");
    for (const f of profile.topFrames.slice(0, 5)) if (f.via) out.push(`  ${f.name}: ${f.via}`);
    out.push("", "by package / file");
    out.push(formatTable(["package", "ms", "% busy"], profile.byPackage.slice(0, 12).map((f) => [f.name, f.ms, f.pct])), "");
  }
  if (r.upload !== null && r.upload !== undefined) out.push(`Uploads: ${JSON.stringify(r.upload).slice(0, 400)}`, "");
  for (const n of report.notes) out.push(`note: ${n}`);
  return out.join("\n");
}

function chart(
  r: { service: SystemResult | null; transport: SystemResult | null; naive: SystemResult | null; database: DatabaseResult | null },
  opts: Options,
  machine: ReturnType<typeof machineDescription>,
): string {
  const colors: Record<string, string> = { service: "#1f6feb", transport: "#2da44e", naive: "#d1242f" };
  const series: ChartSeries[] = [];
  for (const x of [r.service, r.transport, r.naive]) {
    if (!x) continue;
    series.push({
      name: `${x.label} p99`,
      color: colors[x.label] ?? "#555",
      points: x.steps.map((st) => ({ x: st.offered, y: st.deliver.p99, hollow: st.saturated })),
    });
    series.push({
      name: `${x.label} p50`,
      color: colors[x.label] ?? "#555",
      dashed: true,
      points: x.steps.map((st) => ({ x: st.offered, y: st.deliver.p50, hollow: st.saturated })),
    });
  }
  return renderLineChart({
    title: "Send → deliver latency against offered load",
    subtitle: `${opts.nodes} nodes, ${opts.pairs} pairs, ${machine.cores} × ${machine.cpu} (${opts.quick ? "--quick" : "full run"}, ${new Date().toISOString().slice(0, 10)})`,
    xLabel: "offered load (messages/s, log scale)",
    yLabel: "latency (ms, log scale)",
    series,
    markers: r.database ? [{ x: r.database.perSec, label: `database ceiling ${r.database.perSec}/s`, color: "#8250df" }] : [],
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof OptionError) {
      process.stderr.write(`${err.message}\n\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
