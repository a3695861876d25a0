// `npm run bench [-- --quick] [--profile] [--nodes N] [--pairs N] [--sockets N] [--loadgens N]
//                  [--pool N] [--skip a,b] [--hot] [--no-png]`
//
// Starts its own cluster (real PostgreSQL and Redis: a fresh database migrated with the service's
// migrator and a Redis prefix of its own, both removed at the end), its load generators in child
// processes, and the reference programs beside it, then measures on this machine:
//   - throughput and latency of the service at stepped offered load, with every delivery checked;
//   - idle connections: RSS per socket and connects per second;
//   - per-message cost: SQL statements and Redis commands; at each offered rate, SQL statements per
//     stored message and the sizes of the batches the nodes wrote (group commit), from /metrics;
//   - a hot conversation (both participants, on two nodes, at a high rate) beside moderate load;
//   - the same traffic through (a) bare Socket.IO + Redis adapter, (b) the per-message SQL alone,
//     (c) a tutorial-style Prisma + Socket.IO server — and prints the service's figures as ratios;
//     (b) once per message and, when MessageRepository.appendBatch exists, once per batch.
// Output: a table on stdout, JSON and an SVG chart under bench/results/. Exits 1 if any delivery
// of the service was lost, duplicated or out of order (never because of a timing figure).
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";
import { startNode, type NodeProcess } from "../test/support/cluster.js";
import { TEST_SECRET } from "../test/support/tokens.js";
import type { BenchPair, Integrity } from "./load/chat-load-worker.js";
import type { DatabaseRunRequest, DatabaseRunResult } from "./reference/database-worker.js";
import { runHotConversation } from "./scenarios/hot-conversation.js";
import { scrapeReferenceCounters, scrapeServiceCounters } from "./support/server-counters.js";
import { OptionError, USAGE, parseOptions, plan, type Options } from "./cli/options.js";
import { buildSummary, chart, printReport } from "./report/summary.js";
import { round, type DatabaseResult, type RunResults, type SystemResult } from "./report/results.js";
import { summarizeProfile, type ProfileSummary } from "./report/cpu-profile.js";
import { renderSvgToPng } from "./report/render-png.js";
import { runConnections } from "./scenarios/connections.js";
import { measureMessageCost, referenceStatements, serviceStatements, type MessageCost } from "./scenarios/message-cost.js";
import {
  connectPairs,
  runLadder,
  runStep,
  verifyDelivery,
  type Ladder,
  type SystemUnderTest,
} from "./scenarios/throughput.js";
import { createBenchEnv, serverVersions, type BenchEnv } from "./support/bench-env.js";
import { summarizeEncoded } from "./support/histogram.js";
import { machineDescription, openFileLimit } from "./support/proc-stats.js";
import { seedPairs } from "./support/seed.js";
import { spawnWorker, type Worker } from "./support/worker.js";
import { UNREACHABLE_LIMITS } from "./support/limits.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const GC_WAIT_MS = 500;
const GC_ON_SIGNAL = ["--expose-gc", "--import", pathToFileURL(join(ROOT, "bench/support/gc-on-signal.mjs")).href];
const MESSAGE_TEXT = "Hi! Is this still available? I could pick it up tomorrow afternoon if that suits you.";

// ---------------------------------------------------------------------------------------------
// Run
// ---------------------------------------------------------------------------------------------

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2), ROOT);
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
  const results: RunResults = {
    service: null,
    transport: null,
    naive: null,
    database: null,
    databaseBatched: null,
    hot: null,
    connections: null,
    upload: null,
  };

  try {
    // --- processes: the service's nodes and the reference servers start together -------------
    const nodeEnv = { DATABASE_POOL_SIZE: String(opts.pool), LOG_LEVEL: "info", ...UNREACHABLE_LIMITS };
    const names = (prefix: string) => Array.from({ length: opts.nodes }, (_, i) => `${prefix}-${i + 1}`);
    const startGroup = (prefix: string, entry: string | undefined, extra: (i: number) => Record<string, string>) =>
      Promise.all(
        names(prefix).map((name, i) =>
          startNode(env, name, { ...nodeEnv, ...extra(i) }, {
            ...(entry ? { entry } : {}),
            // The service's nodes collect garbage on SIGUSR2 (for RSS readings), node-1 may profile.
            ...(entry === undefined
              ? { nodeArgs: [...GC_ON_SIGNAL, ...(opts.profile && i === 0 ? ["--cpu-prof", "--cpu-prof-dir", profileDir] : [])] }
              : { nodeArgs: GC_ON_SIGNAL }),
          }),
        ),
      );
    const refEnv = (kind: string) => (i: number) => ({
      REDIS_PREFIX: `${env.redisPrefix}:${kind}`,
      JWT_SECRET: TEST_SECRET,
      BENCH_NODE_INDEX: String(i),
      BENCH_NODE_COUNT: String(opts.nodes),
    });
    const [serviceNodes, transportNodes, naiveNodes, loadgens, hotWorkers] = await Promise.all([
      startGroup("node", undefined, () => ({})),
      opts.skip.has("transport") && opts.connectionsOn !== "transport"
        ? Promise.resolve([])
        : startGroup("transport", "bench/reference/transport-server.ts", refEnv("transport")),
      opts.skip.has("naive") ? Promise.resolve([]) : startGroup("naive", "bench/reference/naive-server.ts", refEnv("naive")),
      Promise.all(Array.from({ length: opts.loadgens }, (_, i) => spawnWorker("bench/load/chat-load-worker.ts", `loadgen-${i + 1}`))),
      // The hot conversation's sockets live in a load generator of their own: its latency and its
      // delivery check are then its own, apart from the other pairs'.
      opts.hot ? Promise.all([spawnWorker("bench/load/chat-load-worker.ts", "loadgen-hot")]) : Promise.resolve([]),
    ]);
    servers.push(...serviceNodes, ...transportNodes, ...naiveNodes);
    workers.push(...loadgens, ...hotWorkers);
    log(`[${elapsed()}] started ${servers.length} server processes and ${loadgens.length} load generator(s)`);

    // One set of conversations for every system: the references write into them only after the
    // service's delivery check (the naive server's seq values start far above the service's).
    const tag = `bench-${Date.now().toString(36)}`;
    const pairs = await seedPairs(
      serviceNodes.map((n) => n.url),
      tag,
      opts.pairs,
    );
    const hotPair = opts.hot ? (await seedPairs([serviceNodes[0]!.url], `${tag}-hot`, 1))[0]! : null;
    log(`[${elapsed()}] seeded ${pairs.length}${hotPair ? " + 1 hot" : ""} conversations over HTTP`);

    const sut = (kind: SystemResult["system"], label: string, nodes: NodeProcess[]): SystemUnderTest => {
      const urls = nodes.map((n) => n.url);
      return {
        kind,
        label,
        urls,
        pids: Object.fromEntries(nodes.map((n, i) => [`${label}-${i + 1}`, n.child.pid!])),
        // The transport reference has no database: nothing to count.
        ...(kind === "service"
          ? { counters: () => scrapeServiceCounters(urls) }
          : kind === "naive"
            ? { counters: () => scrapeReferenceCounters(urls) }
            : {}),
      };
    };

    // --- the service: ladder, per-message cost, delivery check --------------------------------
    const service = sut("service", "service", serviceNodes);
    results.service = await throughputOf(loadgens, service, pairs, p, (window) => {
      profileWindow = window;
    });
    results.service.cost = opts.skip.has("cost")
      ? null
      : await costOf(loadgens, service, env, p, () => serviceStatements(service.urls));
    if (hotPair && hotWorkers[0]) {
      results.hot = await runHotConversation({
        hotWorker: hotWorkers[0],
        loadgens,
        sut: service,
        pair: hotPair,
        content: MESSAGE_TEXT,
        rate: opts.hotRate,
        backgroundRate: opts.hotBackground,
        ...p.hot,
        verifyIdleMs: p.verifyIdleMs,
        log,
      });
      if (opts.nodes < 2) notes.push("hot conversation: one node, so buyer and seller share it (no cross-node deliveries)");
    }
    results.service.integrity = await verifyDelivery(loadgens, p.verifyIdleMs);
    await Promise.all(loadgens.map((w) => w.call("close")));
    logIntegrity(results.service.integrity);

    // --- idle connections on the service's nodes (or the bare transport's, --connections-on) -----
    if (!opts.skip.has("connections") && opts.sockets > 0) {
      const onTransport = opts.connectionsOn === "transport";
      const nodes = onTransport ? transportNodes : serviceNodes;
      const urls = nodes.map((n) => n.url);
      results.connections = await runConnections({
        label: opts.connectionsOn,
        nodes: nodes.map((n, i) => ({ name: `${onTransport ? "transport" : "node"}-${i + 1}`, url: n.url, pid: n.child.pid! })),
        target: opts.sockets,
        steps: p.connections.steps,
        budgetMs: p.connections.budgetMs,
        settleMs: p.connections.settleMs,
        workers: Math.max(2, opts.nodes),
        concurrency: 100,
        serverSockets: onTransport ? () => statsSum(urls, "sockets") : () => metricSum(urls, "marketchat_sockets_connected"),
        heapBytes: onTransport
          ? () => statsSum(urls, "heap")
          : async () => (await metricSum(urls, "nodejs_heap_size_used_bytes")) + (await metricSum(urls, "nodejs_external_memory_bytes")),
        collectGarbage: async () => {
          for (const n of nodes) n.child.kill("SIGUSR2");
          await new Promise((r) => setTimeout(r, GC_WAIT_MS));
        },
        log,
      });
    }
    await Promise.all(serviceNodes.map((n) => n.stop()));
    log(`[${elapsed()}] service nodes stopped`);

    // --- reference (b): the database alone -----------------------------------------------------
    if (!opts.skip.has("database")) {
      const perMessage = await databaseCeiling(env, pairs, opts, p.databaseMs, null);
      if ("skipped" in perMessage) throw new Error(`database ceiling: ${perMessage.skipped}`);
      results.database = perMessage;
      logDatabase("database", perMessage);
      // The batched statement (group commit) as the ceiling.
      try {
        results.databaseBatched = await databaseCeiling(env, pairs, opts, p.databaseMs, { size: opts.dbBatch });
        logDatabase("database, batched", results.databaseBatched);
      } catch (err) {
        results.databaseBatched = { failed: (err as Error).message.split("\n")[0]! };
        log(`  database, batched: failed: ${results.databaseBatched.failed}`);
      }
    }

    // --- references (a) and (c): the same traffic through other servers -----------------------
    if (!opts.skip.has("transport")) {
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
  if (!opts.skip.has("upload")) results.upload = await uploadBench(!opts.uploadFull);
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

/** A number field of the reference servers' GET /stats, summed over the nodes. */
async function statsSum(urls: string[], field: "sockets" | "heap"): Promise<number> {
  let total = 0;
  for (const url of urls) total += Number(((await (await fetch(`${url}/stats`)).json()) as Record<string, unknown>)[field] ?? 0);
  return total;
}

function logDatabase(label: string, r: DatabaseResult | { skipped: string }): void {
  if ("skipped" in r) {
    log(`  ${label}: n/a (${r.skipped})`);
    return;
  }
  log(
    `  ${label.padEnd(10)} ${r.perSec} messages/s (${r.processes} × ${r.concurrency} concurrent${r.batchSize ? `, ${r.batchSize} messages per appendBatch` : ""}), ` +
      `p50 ${r.latency.p50} p99 ${r.latency.p99} ms per ${r.batchSize ? "batch" : "message"}, ${r.statementsPerMessage} statements/message`,
  );
}

async function databaseCeiling(
  env: BenchEnv,
  pairs: BenchPair[],
  opts: Options,
  durationMs: number,
  batch: DatabaseRunRequest["batch"],
): Promise<DatabaseResult | { skipped: string }> {
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
          batch,
        } satisfies DatabaseRunRequest),
      ),
    );
    const skipped = parts.find((r) => "skipped" in r);
    if (skipped && "skipped" in skipped) return { skipped: skipped.skipped };
    const done = parts.filter((r): r is Exclude<DatabaseRunResult, { skipped: string }> => !("skipped" in r));
    return databaseResult(done, pairs.length, opts, batch);
  } finally {
    await Promise.all(dbWorkers.map((w) => w.stop()));
  }
}

function databaseResult(
  parts: Exclude<DatabaseRunResult, { skipped: string }>[],
  conversations: number,
  opts: Options,
  batch: DatabaseRunRequest["batch"],
): DatabaseResult {
  const stored = parts.reduce((n, r) => n + r.stored, 0);
  const statements = parts.reduce((n, r) => n + r.statements, 0);
  return {
    processes: parts.length,
    poolSize: opts.pool,
    concurrency: opts.pool,
    conversations,
    stored,
    errors: parts.reduce((n, r) => n + r.errors, 0),
    firstError: parts.find((r) => r.firstError)?.firstError ?? null,
    perSec: Math.round(stored / (Math.max(...parts.map((r) => r.ms)) / 1000)),
    statementsPerMessage: stored > 0 ? round(statements / stored) : 0,
    batchSize: batch?.size ?? null,
    calls: parts.reduce((n, r) => n + r.calls, 0),
    latency: summarizeEncoded(parts.map((r) => r.histogram)),
  };
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
