// Idle connections: open sockets in steps up to the target (spread over the nodes), and after
// each step read every node's resident memory. RSS per socket is the growth over the empty
// baseline divided by the sockets held; connects per second is the step's handshake rate.
import type { OpenRequest, OpenResult } from "../load/idle-sockets-worker.js";
import { openFileLimit, rssBytes } from "../support/proc-stats.js";
import { spawnWorker, type Worker } from "../support/worker.js";

export interface ConnectionStep {
  sockets: number;
  opened: number;
  failed: number;
  firstError: string | null;
  connectsPerSec: number;
  rssByNode: Record<string, number | null>;
  rssTotal: number;
  /** (RSS now − RSS with no idle sockets) / sockets, summed over the nodes. */
  rssPerSocketBytes: number | null;
  /** (RSS now − RSS at the previous step) / sockets added: the marginal cost. */
  marginalPerSocketBytes: number | null;
  /** (JS heap used + external memory now − at baseline) / sockets: the same, without the
   * allocator's slack (RSS does not grow while freed heap pages are being reused). */
  heapPerSocketBytes: number | null;
}

export interface ConnectionsResult {
  /** Which servers held the sockets (service, or the transport reference). */
  label: string;
  target: number;
  limitedBy: string | null;
  fileLimit: { soft: number; hard: number };
  baselineRss: Record<string, number | null>;
  steps: ConnectionStep[];
  rssPerSocketBytes: number | null;
  /** (RSS at the last step − RSS at the first) / sockets in between. */
  marginalPerSocketBytes: number | null;
  /** Whether the nodes ran a full GC before each reading (see bench/support/gc-on-signal.mjs). */
  collectedGarbage: boolean;
  peakConnectsPerSec: number;
}

const FD_MARGIN = 256;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runConnections(opts: {
  label: string;
  nodes: { name: string; url: string; pid: number }[];
  target: number;
  steps: number;
  /** No step starts after this long, and a step stops opening sockets when it runs out. */
  budgetMs: number;
  /** Pause before reading RSS, so the handshakes' garbage has a chance to be collected. */
  settleMs: number;
  workers: number;
  concurrency: number;
  /** Makes the servers collect garbage before a reading, when they can. */
  collectGarbage?: () => Promise<void>;
  /** JS heap used + external memory summed over the servers (the service's /metrics), when known. */
  heapBytes?: () => Promise<number>;
  /** Counts the sockets the servers hold (the service's marketchat_sockets_connected), when known. */
  serverSockets?: () => Promise<number>;
  log: (line: string) => void;
}): Promise<ConnectionsResult> {
  const fileLimit = openFileLimit();
  // Every socket is one descriptor in a node and one in a load generator; children inherit this
  // process's limit, and Node cannot raise its own, so stay under it and say so.
  const perNode = Math.ceil(opts.target / opts.nodes.length);
  const perWorker = Math.ceil(opts.target / opts.workers);
  let target = opts.target;
  let limitedBy: string | null = null;
  if (perNode + FD_MARGIN > fileLimit.soft || perWorker + FD_MARGIN > fileLimit.soft) {
    const fit = Math.min((fileLimit.soft - FD_MARGIN) * opts.nodes.length, (fileLimit.soft - FD_MARGIN) * opts.workers);
    target = Math.max(0, Math.min(target, fit));
    limitedBy = `open-file limit (ulimit -n ${fileLimit.soft}); raise it before npm run bench to test ${opts.target}`;
    opts.log(`  connections: limited to ${target} sockets by ${limitedBy}`);
  }
  const urls = opts.nodes.map((n) => n.url);
  const readRss = () => Object.fromEntries(opts.nodes.map((n) => [n.name, rssBytes(n.pid)]));
  const total = (r: Record<string, number | null>) => Object.values(r).reduce<number>((a, b) => a + (b ?? 0), 0);

  const workers: Worker[] = await Promise.all(
    Array.from({ length: opts.workers }, (_, i) => spawnWorker("bench/load/idle-sockets-worker.ts", `idle-${i}`)),
  );
  const deadline = performance.now() + opts.budgetMs;
  const settle = async () => {
    await sleep(opts.settleMs);
    await opts.collectGarbage?.();
  };
  try {
    await settle();
    const baselineRss = readRss();
    const baselineHeap = (await opts.heapBytes?.()) ?? null;
    const baseline = total(baselineRss);
    const steps: ConnectionStep[] = [];
    const userPrefix = `idle-${Date.now().toString(36)}`;
    let held = 0;
    for (let s = 1; s <= opts.steps; s++) {
      const goal = Math.round((target * s) / opts.steps);
      const count = goal - held;
      if (count <= 0) continue;
      if (performance.now() >= deadline) {
        limitedBy = `time budget (${opts.budgetMs / 1000} s) at ${held} sockets`;
        break;
      }
      // Worker w opens sockets held + w, held + w + W, …: each user keeps one socket per node.
      const shares = workers.map((_, w) => Math.floor(count / workers.length) + (w < count % workers.length ? 1 : 0));
      let from = held;
      const results = await Promise.all(
        workers.map((worker, w) => {
          const req: OpenRequest = {
            urls,
            userPrefix,
            from,
            count: shares[w]!,
            concurrency: opts.concurrency,
            maxMs: Math.max(1_000, deadline - performance.now()),
          };
          from += shares[w]!;
          return worker.call<OpenResult>("open", req);
        }),
      );
      const opened = results.reduce((n, r) => n + r.opened, 0);
      const failed = results.reduce((n, r) => n + r.failed, 0);
      const ms = Math.max(...results.map((r) => r.ms));
      held += opened;
      if (opts.serverSockets) {
        const until = performance.now() + 10_000;
        while ((await opts.serverSockets()) < held && performance.now() < until) await sleep(100);
      }
      await settle();
      const rssByNode = readRss();
      const heap = (await opts.heapBytes?.()) ?? null;
      const previous = steps.at(-1);
      const step: ConnectionStep = {
        sockets: held,
        opened,
        failed,
        firstError: results.find((r) => r.firstError)?.firstError ?? null,
        connectsPerSec: ms > 0 ? Math.round(opened / (ms / 1000)) : 0,
        rssByNode,
        rssTotal: total(rssByNode),
        rssPerSocketBytes: held > 0 ? Math.round((total(rssByNode) - baseline) / held) : null,
        marginalPerSocketBytes: opened > 0 ? Math.round((total(rssByNode) - (previous?.rssTotal ?? baseline)) / opened) : null,
        heapPerSocketBytes: heap !== null && baselineHeap !== null && held > 0 ? Math.round((heap - baselineHeap) / held) : null,
      };
      steps.push(step);
      opts.log(
        `  ${opts.label.padEnd(10)} ${String(held).padStart(6)} idle sockets: RSS ${(step.rssTotal / 1024 ** 2).toFixed(1)} MB over the nodes, ` +
          `${step.rssPerSocketBytes === null ? "-" : (step.rssPerSocketBytes / 1024).toFixed(1)} KB/socket` +
          `${step.heapPerSocketBytes === null ? "" : ` (heap ${(step.heapPerSocketBytes / 1024).toFixed(1)} KB)`}, ${step.connectsPerSec} connects/s` +
          (failed > 0 ? `, ${failed} failed (${step.firstError})` : ""),
      );
      if (failed > 0 && opened === 0) break;
      if (opened < count) {
        limitedBy = `time budget (${opts.budgetMs / 1000} s) at ${held} sockets`;
        break;
      }
    }
    const last = steps.at(-1);
    const first = steps[0];
    return {
      label: opts.label,
      marginalPerSocketBytes:
        first && last && last.sockets > first.sockets ? Math.round((last.rssTotal - first.rssTotal) / (last.sockets - first.sockets)) : null,
      collectedGarbage: opts.collectGarbage !== undefined,
      target,
      limitedBy,
      fileLimit,
      baselineRss,
      steps,
      rssPerSocketBytes: last?.rssPerSocketBytes ?? null,
      peakConnectsPerSec: Math.max(0, ...steps.map((s) => s.connectsPerSec)),
    };
  } finally {
    await Promise.all(workers.map((w) => w.call("close").catch((err: Error) => opts.log(`  ${w.name}: ${err.message}`))));
    await Promise.all(workers.map((w) => w.stop()));
  }
}
