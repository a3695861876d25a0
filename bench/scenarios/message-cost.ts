// Per-message cost: SQL statements and Redis commands spent per delivered message, over a
// measured batch at a moderate rate. SQL comes from the servers' own statement counters. Redis
// comes two ways: INFO commandstats deltas (server-wide, so polluted by any other client of the
// same Redis) and MONITOR restricted to the TCP connections our server processes hold (exact).
import { Redis } from "ioredis";
import { tcpPortsTo } from "../support/proc-stats.js";
import type { Worker } from "../support/worker.js";
import { runStep, type SystemUnderTest, type ThroughputStep } from "./throughput.js";

export interface MessageCost {
  system: string;
  messages: number;
  sqlStatementsPerMessage: number | null;
  /** Commands from our own server processes, by command, per message. */
  redisCommandsPerMessage: number | null;
  redisByCommand: Record<string, number>;
  /** Server-wide INFO commandstats delta per message (includes other clients of this Redis). */
  redisCommandstatsPerMessage: number;
  redisCommandstatsByCommand: Record<string, number>;
  step: ThroughputStep;
}

async function commandstats(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info("commandstats");
  const counts = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) counts.set(match[1]!, Number(match[2]));
  return counts;
}

const per = (n: number, messages: number) => (messages > 0 ? Math.round((n / messages) * 100) / 100 : 0);

export async function measureMessageCost(opts: {
  loadgens: Worker[];
  sut: SystemUnderTest;
  redisUrl: string;
  rate: number;
  durationMs: number;
  drainMaxMs: number;
  /** Sum of the SQL statements the system's processes have sent so far; null when it has no database. */
  statements: () => Promise<number | null>;
}): Promise<MessageCost> {
  const { sut } = opts;
  const redisPort = Number(new URL(opts.redisUrl).port || 6379);
  const ports = new Set<number>();
  for (const pid of Object.values(sut.pids)) for (const port of tcpPortsTo(pid, redisPort)) ports.add(port);

  const admin = new Redis(opts.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await admin.connect();
  const monitor = await admin.monitor();
  const ours = new Map<string, number>();
  let counting = false;
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    if (!counting) return;
    const port = Number(source.slice(source.lastIndexOf(":") + 1));
    if (!ports.has(port)) return;
    const name = String(args[0]).toLowerCase();
    ours.set(name, (ours.get(name) ?? 0) + 1);
  });
  const stats = new Redis(opts.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await stats.connect();
  try {
    const sqlBefore = await opts.statements();
    const before = await commandstats(stats);
    counting = true;
    const step = await runStep(opts.loadgens, sut, { label: "cost", rate: opts.rate, durationMs: opts.durationMs, drainMaxMs: opts.drainMaxMs });
    // MONITOR lines trail the commands a little: let the last ones arrive before closing the window.
    await stats.ping();
    await new Promise((r) => setTimeout(r, 100));
    counting = false;
    const after = await commandstats(stats);
    const sqlAfter = await opts.statements();
    const messages = step.completed;
    const delta: Record<string, number> = {};
    let total = 0;
    for (const [name, calls] of after) {
      // The two INFO calls and this process's own MONITOR are not the system's.
      const d = calls - (before.get(name) ?? 0) - (name === "info" ? 1 : 0);
      if (d > 0) {
        delta[name] = per(d, messages);
        total += d;
      }
    }
    const byCommand: Record<string, number> = {};
    let oursTotal = 0;
    for (const [name, n] of ours) {
      byCommand[name] = per(n, messages);
      oursTotal += n;
    }
    return {
      system: sut.label,
      messages,
      sqlStatementsPerMessage: sqlBefore === null || sqlAfter === null ? null : per(sqlAfter - sqlBefore, messages),
      redisCommandsPerMessage: ports.size > 0 ? per(oursTotal, messages) : null,
      redisByCommand: byCommand,
      redisCommandstatsPerMessage: per(total, messages),
      redisCommandstatsByCommand: delta,
      step,
    };
  } finally {
    monitor.disconnect();
    admin.disconnect();
    stats.disconnect();
  }
}

/** marketchat_db_statements_total summed over the service's nodes (their /metrics). */
export async function serviceStatements(urls: string[]): Promise<number> {
  let total = 0;
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const match = /^marketchat_db_statements_total(?:\{[^}]*\})? (\d+(?:\.\d+)?)/m.exec(text);
    if (!match) throw new Error(`${url}/metrics has no marketchat_db_statements_total`);
    total += Number(match[1]);
  }
  return total;
}

/** `statements` from the reference servers' GET /stats. */
export async function referenceStatements(urls: string[]): Promise<number> {
  let total = 0;
  for (const url of urls) total += ((await (await fetch(`${url}/stats`)).json()) as { statements: number }).statements;
  return total;
}
