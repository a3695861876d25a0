// `npm run bench:redis-faults` command line: strict like `npm run bench` (bench/cli/options.ts),
// so a typo never runs the two-minute scenario with defaults.
import { join } from "node:path";
import { parseArgs } from "node:util";
import { OptionError } from "./options.js";

export type RedisFault = "stall" | "kill";

export interface RedisFaultOptions {
  faults: RedisFault[];
  conversations: number;
  /** Offered msg/s per conversation (buyer and seller together): spread evenly from min to max over the conversations. */
  rate: { min: number; max: number };
  /** Load before the steady state whose figures do not count (fresh nodes warming up). */
  warmupMs: number;
  /** Steady state before the fault; the first second of it is left out of the "before" figures (ramp). */
  beforeMs: number;
  afterMs: number;
  /** After the load stops offering new messages: how long unacknowledged sends are still retried. */
  drainMs: number;
  ackTimeoutMs: number;
  /** How long the Redis stays down in the kill scenario, and the DEBUG SLEEP of the stall. */
  killDownMs: number;
  stallSeconds: number;
  pool: number;
  outDir: string;
}

export const REDIS_FAULTS_USAGE = `npm run bench:redis-faults [-- options]
  --fault F            stall, kill or both (default both; both runs stall, then kill)
  --conversations N    buyer/seller conversations (default 20)
  --rate MIN-MAX       offered msg/s per conversation, both sides alternating (default 20-30;
                       one number for the same rate everywhere)
  --warmup-ms N        load before that, not measured (default 3000), then until every send is acknowledged
  --before-ms N        steady state before the fault (default 10000)
  --after-ms N         load after Redis answers again (default 15000)
  --drain-ms N         after the load stops, how long unacknowledged sends are still retried (default 5000)
  --ack-timeout-ms N   a send with no ack after this long is sent again, same clientId (default 2000)
  --down-ms N          how long Redis stays killed before its restart (default 5000)
  --stall-s N          DEBUG SLEEP seconds (default 3)
  --pool N             DATABASE_POOL_SIZE of each node (default 10, as npm run bench)
  --out DIR            where redis-faults.json goes (default bench/results)`;

export function parseRedisFaultOptions(argv: string[], root: string): RedisFaultOptions | "help" {
  let v: ReturnType<typeof parse>["values"];
  try {
    v = parse(argv).values;
  } catch (err) {
    throw new OptionError((err as Error).message);
  }
  if (v.help) return "help";
  const int = (name: keyof typeof v, fallback: number, min: number, max: number) => {
    const raw = v[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (typeof raw !== "string" || !/^\d+$/.test(raw) || n < min || n > max) {
      throw new OptionError(`--${name} must be an integer from ${min} to ${max} (got "${String(raw)}")`);
    }
    return n;
  };
  const fault = v.fault ?? "both";
  if (fault !== "stall" && fault !== "kill" && fault !== "both") throw new OptionError(`--fault takes stall, kill or both (got "${fault}")`);
  const rateText = v.rate ?? "20-30";
  const match = /^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?$/.exec(rateText);
  const min = match ? Number(match[1]) : NaN;
  const max = match ? Number(match[2] ?? match[1]) : NaN;
  if (!match || !(min > 0) || !(max >= min) || max > 200) {
    throw new OptionError(`--rate takes MIN-MAX or one number, msg/s per conversation, 0 < MIN ≤ MAX ≤ 200 (got "${rateText}")`);
  }
  return {
    faults: fault === "both" ? ["stall", "kill"] : [fault],
    conversations: int("conversations", 20, 1, 500),
    rate: { min, max },
    warmupMs: int("warmup-ms", 3_000, 0, 600_000),
    beforeMs: int("before-ms", 10_000, 2_000, 600_000),
    afterMs: int("after-ms", 15_000, 1_000, 600_000),
    drainMs: int("drain-ms", 5_000, 0, 600_000),
    ackTimeoutMs: int("ack-timeout-ms", 2_000, 100, 60_000),
    killDownMs: int("down-ms", 5_000, 0, 600_000),
    stallSeconds: int("stall-s", 3, 1, 60),
    pool: int("pool", 10, 1, 100),
    outDir: v.out ?? join(root, "bench/results"),
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      fault: { type: "string" },
      conversations: { type: "string" },
      rate: { type: "string" },
      "warmup-ms": { type: "string" },
      "before-ms": { type: "string" },
      "after-ms": { type: "string" },
      "drain-ms": { type: "string" },
      "ack-timeout-ms": { type: "string" },
      "down-ms": { type: "string" },
      "stall-s": { type: "string" },
      pool: { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}
