// `npm run bench:fanout [-- --nodes 3,5] [--rate N] [--pairs N] [--duration-ms N]`
//
// Does a node receive only what its sockets need? For each node count, starts that many nodes on a
// fresh database and Redis prefix, connects every pair's buyer and seller to the first nodes only
// (the last node has no sockets at all), offers a fixed message rate, and reads per node:
//   - event copies received from Redis (marketchat_bus_messages_received_total) ÷ message:new the node
//     delivered to its sockets (counted by the load generator per node): ≈ 1 when each node hears
//     only its sockets' users, ≈ the node count when every node hears everything;
//   - CPU of the node without sockets as a share of the busiest node's;
//   - CPU per delivered message on the busy nodes, compared between node counts (from 3 nodes on,
//     so that at every count buyers and sellers sit on different nodes and every message crosses).
// Every delivery is checked (lost / duplicated / out of order) as in `npm run bench`. Figures are
// printed and written to bench/results/fanout.json; the exit code is 1 only on a delivery fault.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startNode, type NodeProcess } from "../test/support/cluster.js";
import type { BenchPair, Integrity, StepResult } from "./load/chat-load-worker.js";
import { formatTable } from "./report/table.js";
import { runStep, verifyDelivery, type SystemUnderTest } from "./scenarios/throughput.js";
import { summarizeEncoded } from "./support/histogram.js";
import { createBenchEnv } from "./support/bench-env.js";
import { cpuSeconds, machineDescription } from "./support/proc-stats.js";
import { seedPairs } from "./support/seed.js";
import { spawnWorker, type Worker } from "./support/worker.js";
import { UNREACHABLE_LIMITS } from "./support/limits.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MESSAGE_TEXT = "Hi! Is this still available? I could pick it up tomorrow afternoon if that suits you.";
const log = (line: string) => process.stderr.write(`${line}\n`);

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  strict: true,
  options: {
    nodes: { type: "string", default: "3,5" },
    rate: { type: "string", default: "400" },
    pairs: { type: "string", default: "64" },
    "duration-ms": { type: "string", default: "8000" },
  },
});
const nodeCounts = args.nodes.split(",").map(Number);
const rate = Number(args.rate);
const pairCount = Number(args.pairs);
const durationMs = Number(args["duration-ms"]);
if (nodeCounts.some((n) => !Number.isInteger(n) || n < 2 || n > 8) || !(rate > 0) || !(pairCount > 0) || !(durationMs >= 1000)) {
  process.stderr.write("usage: npm run bench:fanout -- [--nodes 3,5 (each 2-8)] [--rate msg/s] [--pairs N] [--duration-ms ≥1000]\n");
  process.exit(2);
}

interface NodeFigures {
  node: string;
  sockets: boolean;
  received: number;
  delivered: number;
  receivedPerDelivered: number | null;
  cpuSeconds: number;
}

interface RunFigures {
  nodes: number;
  offered: number;
  deliveredPerSec: number;
  deliverP99Ms: number;
  perNode: NodeFigures[];
  /** Redis copies received ÷ deliveries, over the nodes with sockets. */
  receivedPerDelivered: number | null;
  /** CPU of the node without sockets ÷ CPU of the busiest node. */
  idleNodeCpuShare: number | null;
  /** CPU microseconds per delivered message, over the nodes with sockets. */
  cpuMicrosPerDelivery: number | null;
  integrity: Integrity;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+]+)$`, "gm"))) total += Number(m[1]);
  return total;
}

async function runWith(nodeCount: number): Promise<RunFigures> {
  const env = await createBenchEnv();
  const nodes: NodeProcess[] = [];
  let loadgen: Worker | undefined;
  try {
    nodes.push(...(await Promise.all(Array.from({ length: nodeCount }, (_, i) => startNode(env, `fanout-${nodeCount}-${i + 1}`, UNREACHABLE_LIMITS)))));
    loadgen = await spawnWorker("bench/load/chat-load-worker.ts", "loadgen-fanout");
    const urls = nodes.map((n) => n.url);
    const pairs: BenchPair[] = await seedPairs(urls, `fanout-${nodeCount}-${Date.now().toString(36)}`, pairCount);
    // Buyers and sellers on different nodes where there are two or more busy nodes, so every
    // message crosses nodes; the last node holds no socket.
    const busy = nodeCount - 1;
    const placement = pairs.map((_, i) => ({ buyer: [i % busy], seller: [(i + 1) % busy] }));
    const sut: SystemUnderTest = {
      kind: "service",
      label: `${nodeCount} nodes`,
      urls,
      pids: Object.fromEntries(nodes.map((n, i) => [`node-${i + 1}`, n.child.pid!])),
    };
    await loadgen.call("connect", { system: "service", urls, pairs, content: MESSAGE_TEXT, placement });
    await runStep([loadgen], sut, { label: "warm-up", rate: 0, durationMs: 0, drainMaxMs: 10_000 }, true);

    const receivedBefore = await Promise.all(urls.map((u) => metric(u, "marketchat_bus_messages_received_total")));
    const cpuBefore = nodes.map((n) => cpuSeconds(n.child.pid!) ?? 0);
    const step = await loadgen.call<StepResult>("step", { label: `${rate}/s`, rate, durationMs, drainMaxMs: 8_000 });
    const cpuAfter = nodes.map((n) => cpuSeconds(n.child.pid!) ?? 0);
    const receivedAfter = await Promise.all(urls.map((u) => metric(u, "marketchat_bus_messages_received_total")));

    const perNode: NodeFigures[] = nodes.map((_, i) => {
      const received = receivedAfter[i]! - receivedBefore[i]!;
      const delivered = step.deliveredByNode[i] ?? 0;
      return {
        node: `node-${i + 1}`,
        sockets: i < busy,
        received,
        delivered,
        receivedPerDelivered: delivered > 0 ? round(received / delivered) : null,
        cpuSeconds: round(cpuAfter[i]! - cpuBefore[i]!, 3),
      };
    });
    const busyNodes = perNode.filter((n) => n.sockets);
    const idle = perNode.find((n) => !n.sockets)!;
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const delivered = sum(busyNodes.map((n) => n.delivered));
    const busiestCpu = Math.max(...busyNodes.map((n) => n.cpuSeconds));
    const integrity = await verifyDelivery([loadgen], 8_000);
    const summary = summarizeEncoded([step.deliverHistogram]);
    return {
      nodes: nodeCount,
      offered: rate,
      deliveredPerSec: step.deliveredPerSec,
      deliverP99Ms: summary.p99,
      perNode,
      receivedPerDelivered: delivered > 0 ? round(sum(busyNodes.map((n) => n.received)) / delivered) : null,
      idleNodeCpuShare: busiestCpu > 0 ? round(idle.cpuSeconds / busiestCpu, 3) : null,
      cpuMicrosPerDelivery: delivered > 0 ? Math.round((sum(busyNodes.map((n) => n.cpuSeconds)) / delivered) * 1e6) : null,
      integrity,
    };
  } finally {
    await loadgen?.call("close").catch(() => undefined);
    await loadgen?.stop().catch(() => undefined);
    await Promise.allSettled(nodes.map((n) => n.stop()));
    await env.close().catch((err: Error) => log(`cleaning up ${env.databaseName} failed: ${err.message}`));
  }
}

function round(n: number, digits = 2): number {
  return Math.round(n * 10 ** digits) / 10 ** digits;
}

async function main(): Promise<number> {
  const machine = machineDescription();
  const runs: RunFigures[] = [];
  for (const n of nodeCounts) {
    log(`fan-out: ${n} nodes (${n - 1} with sockets, 1 without), ${pairCount} pairs, ${rate} msg/s for ${durationMs} ms`);
    runs.push(await runWith(n));
  }
  const base = runs[0]!;
  const lines = [
    `Fan-out (npm run bench:fanout -- --nodes ${nodeCounts.join(",")} --rate ${rate} --pairs ${pairCount} --duration-ms ${durationMs})`,
    `machine: ${machine.cores} × ${machine.cpu}, load average at start ${machine.loadAverage}`,
    "",
    formatTable(
      ["nodes", "delivered/s", "p99 ms", "Redis copies ÷ deliveries", "idle node CPU ÷ busiest", "CPU µs/delivery", `vs ${base.nodes} nodes`, "lost/dup/reordered"],
      runs.map((r) => [
        String(r.nodes),
        String(r.deliveredPerSec),
        String(r.deliverP99Ms),
        r.receivedPerDelivered === null ? "-" : r.receivedPerDelivered.toFixed(2),
        r.idleNodeCpuShare === null ? "-" : `${(r.idleNodeCpuShare * 100).toFixed(1)} %`,
        r.cpuMicrosPerDelivery === null ? "-" : String(r.cpuMicrosPerDelivery),
        r.cpuMicrosPerDelivery && base.cpuMicrosPerDelivery ? `${(r.cpuMicrosPerDelivery / base.cpuMicrosPerDelivery).toFixed(2)}×` : "-",
        `${r.integrity.lost}/${r.integrity.duplicated}/${r.integrity.outOfOrder}`,
      ]),
    ),
    "",
    ...runs.flatMap((r) => [
      `${r.nodes} nodes, per node:`,
      formatTable(
        ["node", "sockets", "Redis copies", "delivered", "copies ÷ delivered", "CPU s"],
        r.perNode.map((n) => [n.node, n.sockets ? "yes" : "no", String(n.received), String(n.delivered), n.receivedPerDelivered?.toFixed(2) ?? "-", n.cpuSeconds.toFixed(3)]),
      ),
      "",
    ]),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  const outDir = join(ROOT, "bench/results");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "fanout.json"), `${JSON.stringify({ startedAt: new Date().toISOString(), machine, rate, pairs: pairCount, durationMs, runs }, null, 2)}\n`);
  process.stdout.write(`Written: ${join(outDir, "fanout.json")}\n`);
  const faulty = runs.some((r) => r.integrity.lost + r.integrity.duplicated + r.integrity.outOfOrder > 0);
  if (faulty) process.stdout.write("FAILED: lost, duplicated or reordered deliveries\n");
  return faulty ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:fanout failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
