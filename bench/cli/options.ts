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
}

const SKIPPABLE = ["connections", "database", "transport", "naive", "upload", "cost"];

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

