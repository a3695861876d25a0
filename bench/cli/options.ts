// `npm run bench` command line: the options (node:util parseArgs, strict) and the timings of each mode.
import { join } from "node:path";
import { parseArgs } from "node:util";
export interface Options {
  quick: boolean;
  nodes: number;
  pairs: number;
  sockets: number;
  loadgens: number;
  pool: number;
  profile: boolean;
  png: boolean;
  skip: Set<string>;
  /** Which servers the connections scenario opens its idle sockets on. */
  connectionsOn: "service" | "transport";
  uploadFull: boolean;
  outDir: string;
  /** Run the hot-conversation scenario (full runs unless --skip hot; --quick only with --hot). */
  hot: boolean;
  /** Messages per second into the hot conversation, both participants together. */
  hotRate: number;
  /** Messages per second over all the other conversations meanwhile. */
  hotBackground: number;
  /** Messages per appendBatch call in the batched database ceiling. */
  dbBatch: number;
}

const SKIPPABLE = ["connections", "database", "transport", "naive", "upload", "cost", "hot"];

export const USAGE = `npm run bench [-- options]
  --quick            smoke run, well under a minute (CI); exits 1 only on lost/duplicated/reordered deliveries
  --profile          record a CPU profile of node-1 (node --cpu-prof) and print its top frames
  --nodes N          service nodes, and processes of each reference (default 2)
  --pairs N          buyer/seller pairs in the throughput scenario (default 128, quick 32)
  --sockets N        idle sockets in the connections scenario (default 10000, quick 400)
  --pool N           DATABASE_POOL_SIZE of every node and reference (default 10)
  --loadgens N       load generator processes (default 1)
  --skip a,b         leave out: ${SKIPPABLE.join(", ")}
  --connections-on S service (default) or transport: idle sockets on the service's nodes, or on the
                     bare Socket.IO reference (bench/reference/transport-server.ts), to see what
                     Socket.IO itself costs per socket
  --hot              run the hot-conversation scenario in a --quick run too (a full run always
                     does, unless --skip hot): one conversation, buyer on node 1 and seller on
                     node 2, sending --hot-rate while the other pairs send --hot-background
  --hot-rate N       messages/s into the hot conversation, both participants together (default 200)
  --hot-background N messages/s over all the other conversations meanwhile (default 300)
  --db-batch N       messages per MessageRepository.appendBatch call in the batched database
                     ceiling, once the repository has it (default 64)
  --with-upload      also run bench/upload-bench.ts in a --quick run (a full run always does, in its
                     short form so that the whole run stays under 5 minutes)
  --upload-full      run bench/upload-bench.ts in its full form (adds minutes)
  --no-png           do not render latest.png with Chromium
  --out DIR          where results go (default bench/results)`;

export class OptionError extends Error {}

/**
 * Strict: an unknown flag or a flag without its value is an error (exit 2 with the usage), so a
 * typo never runs a 5-minute benchmark with defaults.
 */
export function parseOptions(argv: string[], root: string): Options {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new OptionError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const quick = v.quick ?? false;
  const int = (name: keyof typeof v, fallback: number, min: number, max: number) => {
    const raw = v[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new OptionError(`--${name} must be an integer from ${min} to ${max} (got "${String(raw)}")`);
    return n;
  };
  const skip = new Set((v.skip ?? "").split(",").filter(Boolean));
  for (const s of skip) if (!SKIPPABLE.includes(s)) throw new OptionError(`--skip takes ${SKIPPABLE.join(", ")} (got "${s}")`);
  if (v.hot && skip.has("hot")) throw new OptionError("--hot and --skip hot contradict each other");
  const connectionsOn = v["connections-on"] ?? "service";
  if (connectionsOn !== "service" && connectionsOn !== "transport") {
    throw new OptionError(`--connections-on takes service or transport (got "${connectionsOn}")`);
  }
  return {
    quick,
    connectionsOn,
    nodes: int("nodes", 2, 1, 8),
    pairs: int("pairs", quick ? 32 : 128, 1, 2_000),
    sockets: int("sockets", quick ? 400 : 10_000, 0, 200_000),
    loadgens: int("loadgens", 1, 1, 8),
    pool: int("pool", 10, 1, 100),
    profile: v.profile ?? false,
    png: !(v["no-png"] ?? false),
    skip: quick && !v["with-upload"] ? new Set([...skip, "upload"]) : skip,
    uploadFull: v["upload-full"] ?? false,
    outDir: v.out ?? join(root, "bench/results"),
    hot: !skip.has("hot") && (!quick || (v.hot ?? false)),
    hotRate: int("hot-rate", 200, 2, 100_000),
    hotBackground: int("hot-background", 300, 0, 100_000),
    dbBatch: int("db-batch", 64, 1, 10_000),
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      quick: { type: "boolean" },
      profile: { type: "boolean" },
      nodes: { type: "string" },
      pairs: { type: "string" },
      sockets: { type: "string" },
      pool: { type: "string" },
      loadgens: { type: "string" },
      skip: { type: "string" },
      "connections-on": { type: "string" },
      "with-upload": { type: "boolean" },
      "upload-full": { type: "boolean" },
      hot: { type: "boolean" },
      "hot-rate": { type: "string" },
      "hot-background": { type: "string" },
      "db-batch": { type: "string" },
      "no-png": { type: "boolean" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

/**
 * Timings per mode. Budgets bound each phase so that a full run stays under 5 minutes and
 * --quick under a minute even when a system never saturates; a saturated step ends its ladder.
 */
export function plan(quick: boolean) {
  return quick
    ? {
        ladder: { startRate: 100, factor: 3, maxSteps: 3, stepMs: 1_000, drainMaxMs: 3_000, minDeliveredRatio: 0.9, maxP99Ms: 1_000 },
        ladderBudgetMs: 8_000,
        warmupDrainMs: 10_000,
        cost: { rate: 100, durationMs: 600 },
        connections: { steps: 2, budgetMs: 6_000, settleMs: 500 },
        databaseMs: 1_000,
        verifyIdleMs: 8_000,
        hot: { durationMs: 2_000, drainMaxMs: 3_000, warmupDrainMs: 5_000 },
      }
    : {
        ladder: { startRate: 100, factor: 1.6, maxSteps: 11, stepMs: 3_000, drainMaxMs: 8_000, minDeliveredRatio: 0.9, maxP99Ms: 1_000 },
        ladderBudgetMs: 45_000,
        warmupDrainMs: 15_000,
        cost: { rate: 200, durationMs: 2_500 },
        connections: { steps: 4, budgetMs: 75_000, settleMs: 1_500 },
        databaseMs: 5_000,
        verifyIdleMs: 15_000,
        hot: { durationMs: 6_000, drainMaxMs: 8_000, warmupDrainMs: 10_000 },
      };
}

