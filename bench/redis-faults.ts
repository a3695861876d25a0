// `npm run bench:redis-faults [-- --fault stall|kill|both] [--help for the rest]`
//
// The send path under a Redis stall and a Redis outage (issue 11 item 4), measured through the
// public interface only (Socket.IO events, HTTP /metrics and /readyz, the stored rows), so the same
// tool measures the send path before and after a rewrite. It starts everything itself: a private
// PostgreSQL (test/support/postgres-server.ts), a private redis-server with DEBUG enabled
// (test/support/redis-server.ts) and 2 node processes (test/support/cluster.ts), and ends them all.
//
// Per fault, on 2 fresh nodes and conversations of its own: each buyer has a socket on node A and each seller one
// on node B that send, alternating, at 20–30 msg/s per conversation (open loop: sends follow the
// clock, not the acks), and each has one more listening socket on the other node. A send without
// an ack within 2 s is sent again with the same clientId until acknowledged. After a 3 s warm-up
// (not measured; fresh nodes compile and prepare) and its backlog: ~10 s of steady state,
// then the fault — (a) DEBUG SLEEP 3, (b) SIGKILL and a restart on the same port 5 s later — then
// ~15 s of load; the load then stops offering and unacknowledged sends are retried 5 s longer,
// then the clients close and the nodes are SIGKILLed before the stored messages are read.
//
// Measured: live order breaks and duplicates per socket, acknowledged messages some socket that
// stayed connected never received live; SQL statements/s and messages stored/s on the nodes
// (their /metrics) before / during / after; acks/s; time from Redis answering again to the first
// ack and to acks at the offered rate; the longest time without any ack; send attempts and
// retries; node heap; /readyz codes. Afterwards, from PostgreSQL: each clientId stored once and seq
// 1..N without a gap per conversation. Figures are printed and written to
// bench/results/redis-faults.json; the exit code is 1 only when the stored messages are wrong
// (a clientId twice, a gap in seq, an acknowledged message missing), 2 when the run fails.
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
import { Redis } from "ioredis";
import pg from "pg";
import { io as connect, type Socket } from "socket.io-client";
import type { TestEnv } from "../test/support/app.js";
import { startNode, type NodeProcess } from "../test/support/cluster.js";
import { uniqueName } from "../test/support/env.js";
import { startPostgresServer, type PostgresServer } from "../test/support/postgres-server.js";
import { startRedisServer, type RedisServer } from "../test/support/redis-server.js";
import type { BenchPair } from "./load/chat-load-worker.js";
import { OptionError } from "./cli/options.js";
import { REDIS_FAULTS_USAGE, parseRedisFaultOptions, type RedisFault, type RedisFaultOptions } from "./cli/redis-faults-options.js";
import {
  LiveOrder,
  counterRate,
  firstAtOrAfter,
  firstTimeAtRate,
  longestGap,
  metricValue,
  percentile,
  ratePerSecond,
  round,
  sustainedRateFrom,
  type CounterSample,
} from "./report/redis-faults-figures.js";
import { formatTable } from "./report/table.js";
import { machineDescription, rssBytes } from "./support/proc-stats.js";
import { UNREACHABLE_LIMITS } from "./support/limits.js";
import { seedPairs } from "./support/seed.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Limits out of reach, as every benchmark sets them (bench/support/limits.ts). */
const NODE_VARS: Record<string, string> = {
  ...UNREACHABLE_LIMITS,
  // info: startNode waits for the "Server listening" line.
  LOG_LEVEL: "info",
};
const METRICS_EVERY_MS = 500;
const READYZ_EVERY_MS = 250;
/** Above the node's own readiness timeout (2 s): its 503 is seen rather than our timeout. */
const PROBE_TIMEOUT_MS = 3_000;
/** After the drain: live deliveries still on their way are awaited until none came for this long. */
const SETTLE_QUIET_MS = 1_000;
const SETTLE_MAX_MS = 5_000;
/** After the drain, before the nodes are ended: their SQL statements/s for sends nobody waits for. */
const LEFTOVER_MS = 2_000;

type Role = "buyer" | "seller";

interface Listener {
  label: string;
  conv: number;
  role: Role;
  node: number;
  /** The socket its participant sends on (buyer's on node A, seller's on node B). */
  sends: boolean;
  socket: Socket;
  live: LiveOrder;
  disconnects: number;
}

interface Send {
  conv: number;
  role: Role;
  clientId: string;
  content: string;
  offeredAt: number;
  attempts: number;
  ackedAt: number | null;
  seq: number | null;
  timer: NodeJS.Timeout | null;
}

interface NodeSample {
  t: number;
  statements: number | null;
  sent: number | null;
  heapUsed: number | null;
  procRss: number | null;
  /** Delivery in seq order (marketchat_delivery_order_total): held for a gap, fetched, repeats dropped. */
  order: { held: number; fetched: number; dropped: number } | null;
}

interface ReadySample {
  /** When the answer (or the timeout) came: a probe counts in the window it was answered in. */
  t: number;
  startedAt: number;
  node: number;
  code: string;
}

// ---------------------------------------------------------------------------------------------
// Observing the nodes: /metrics every 500 ms, /readyz every 250 ms (never two probes in flight)
// ---------------------------------------------------------------------------------------------

class NodeWatch {
  readonly samples: NodeSample[][];
  readonly ready: ReadySample[] = [];
  scrapeFailures = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly busy = new Set<string>();

  constructor(private readonly nodes: NodeProcess[]) {
    this.samples = nodes.map(() => []);
  }

  start(): void {
    this.timers.push(setInterval(() => this.nodes.forEach((_, i) => void this.scrape(i)), METRICS_EVERY_MS));
    this.timers.push(setInterval(() => this.nodes.forEach((_, i) => void this.readyz(i)), READYZ_EVERY_MS));
    this.nodes.forEach((_, i) => void this.scrape(i));
  }

  stop(): void {
    this.timers.forEach((t) => clearInterval(t));
  }

  private async scrape(i: number): Promise<void> {
    const key = `m${i}`;
    if (this.busy.has(key)) return;
    this.busy.add(key);
    const node = this.nodes[i]!;
    try {
      const text = await metricsText(node);
      this.samples[i]!.push({
        t: Date.now(),
        statements: metricValue(text, "marketchat_db_statements_total"),
        sent: metricValue(text, "marketchat_messages_sent_total"),
        heapUsed: metricValue(text, "nodejs_heap_size_used_bytes") ?? metricValue(text, "process_heap_bytes"),
        procRss: node.child.pid ? rssBytes(node.child.pid) : null,
        order: deliveryOrder(text),
      });
    } catch {
      this.scrapeFailures++;
      this.samples[i]!.push({ t: Date.now(), statements: null, sent: null, heapUsed: null, procRss: node.child.pid ? rssBytes(node.child.pid) : null, order: null });
    } finally {
      this.busy.delete(key);
    }
  }

  private async readyz(i: number): Promise<void> {
    const key = `r${i}`;
    if (this.busy.has(key)) return;
    this.busy.add(key);
    const startedAt = Date.now();
    let code: string;
    try {
      const res = await fetch(`${this.nodes[i]!.url}/readyz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      await res.arrayBuffer();
      code = String(res.status);
    } catch (err) {
      code = (err as Error).name === "TimeoutError" ? "timeout" : "error";
    }
    this.ready.push({ t: Date.now(), startedAt, node: i, code });
    this.busy.delete(key);
  }
}

/** The delivering side's ordering counters; null from a build that does not have them. */
function deliveryOrder(text: string): NodeSample["order"] {
  const of = (outcome: string) => metricValue(text, "marketchat_delivery_order_total", `outcome="${outcome}"`);
  const held = of("held");
  return held === null ? null : { held, fetched: of("fetched") ?? 0, dropped: of("dropped") ?? 0 };
}

async function metricsText(node: NodeProcess): Promise<string> {
  const res = await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`/metrics ${res.status}`);
  return res.text();
}

// ---------------------------------------------------------------------------------------------
// Clients: raw Socket.IO sockets, sends retried with their clientId
// ---------------------------------------------------------------------------------------------

class Load {
  readonly listeners: Listener[] = [];
  readonly sends: Send[] = [];
  readonly ackTimes: number[] = [];
  readonly attemptTimes: number[] = [];
  readonly errorAcks: Record<string, number> = {};
  private readonly senders = new Map<string, Listener>();
  private offering: NodeJS.Timeout | null = null;
  private counter = 0;
  lastArrivalAt = 0;

  constructor(
    private readonly pairs: BenchPair[],
    private readonly nodes: NodeProcess[],
    private readonly ackTimeoutMs: number,
  ) {}

  async connectAll(): Promise<void> {
    const [a, b] = [0, 1];
    const wanted: [number, Role, number, boolean][] = this.pairs.flatMap((_, conv) => [
      [conv, "buyer", a, true],
      [conv, "buyer", b, false],
      [conv, "seller", b, true],
      [conv, "seller", a, false],
    ] as [number, Role, number, boolean][]);
    await Promise.all(wanted.map(([conv, role, node, sends]) => this.open(conv, role, node, sends)));
  }

  private async open(conv: number, role: Role, node: number, sends: boolean): Promise<void> {
    const pair = this.pairs[conv]!;
    const socket = connect(this.nodes[node]!.url, {
      auth: { token: pair[role].token },
      transports: ["websocket"],
      forceNew: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 1_000,
    });
    const listener: Listener = { label: `c${conv}-${role}-node${node === 0 ? "A" : "B"}`, conv, role, node, sends, socket, live: new LiveOrder(), disconnects: 0 };
    socket.on("message:new", (m: { conversationId: string; seq: number }) => {
      if (m.conversationId !== pair.conversationId) return;
      const now = Date.now();
      this.lastArrivalAt = now;
      listener.live.receive(m.seq, now);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", (err) => reject(new Error(`${listener.label}: ${err.message}`)));
    });
    socket.on("disconnect", () => listener.disconnects++);
    this.listeners.push(listener);
    if (sends) this.senders.set(`${conv}:${role}`, listener);
  }

  /** One message from `role`, sent now and again with its clientId every ackTimeoutMs until acknowledged. */
  send(conv: number, role: Role): Send {
    const send: Send = {
      conv,
      role,
      clientId: randomUUID(),
      // Short and without digits: no spam-rule script (SPAM_MIN_CHARS) and no phone number
      // assembled over several messages (README, "Hot-path budget").
      content: `m ${letters(this.counter++)}`,
      offeredAt: Date.now(),
      attempts: 0,
      ackedAt: null,
      seq: null,
      timer: null,
    };
    this.sends.push(send);
    this.attempt(send);
    return send;
  }

  private attempt(send: Send): void {
    if (send.ackedAt !== null) return;
    send.attempts++;
    this.attemptTimes.push(Date.now());
    const socket = this.senders.get(`${send.conv}:${send.role}`)!.socket;
    const payload = { conversationId: this.pairs[send.conv]!.conversationId, clientId: send.clientId, content: send.content };
    socket.emit("message:send", payload, (ack: { ok: boolean; data?: { seq: number }; error?: { code: string } }) => {
      if (send.ackedAt !== null) return;
      if (ack?.ok && ack.data) {
        send.ackedAt = Date.now();
        send.seq = ack.data.seq;
        this.ackTimes.push(send.ackedAt);
        if (send.timer) clearTimeout(send.timer);
        send.timer = null;
      } else {
        const code = ack?.error?.code ?? "malformed";
        this.errorAcks[code] = (this.errorAcks[code] ?? 0) + 1;
      }
    });
    // A refusal is retried at the same pace as a missing ack (a client backing off).
    send.timer = setTimeout(() => this.attempt(send), this.ackTimeoutMs);
  }

  /**
   * Open loop: conversation i offers rates[i] msg/s from `t0`, buyer and seller alternating (the
   * seller first: the buyer's hello was message 1), phases spread so that the conversations do
   * not all send in the same millisecond.
   */
  startOffering(rates: number[], t0: number): void {
    const offered = rates.map(() => 0);
    this.offering = setInterval(() => {
      const elapsed = Date.now() - t0;
      rates.forEach((rate, conv) => {
        const due = Math.floor((elapsed * rate) / 1000 + conv / rates.length);
        while (offered[conv]! < due) {
          this.send(conv, offered[conv]! % 2 === 0 ? "seller" : "buyer");
          offered[conv]!++;
        }
      });
    }, 5);
  }

  stopOffering(): void {
    if (this.offering) clearInterval(this.offering);
    this.offering = null;
  }

  outstanding(): number {
    return this.sends.filter((s) => s.ackedAt === null).length;
  }

  /** Stops retrying (what is still unacknowledged stays so). */
  giveUp(): void {
    for (const s of this.sends) if (s.timer) clearTimeout(s.timer);
  }

  close(): void {
    this.stopOffering();
    this.giveUp();
    // Our own close is no disconnect of the run.
    this.listeners.forEach((l) => l.socket.off("disconnect").close());
  }
}

function letters(n: number): string {
  let s = "";
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26);
  } while (n > 0);
  return s;
}

async function waitFor(check: () => boolean | Promise<boolean>, maxMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------
// One fault
// ---------------------------------------------------------------------------------------------

interface World {
  pg: PostgresServer;
  redis: RedisServer;
  env: TestEnv;
  /** The nodes of the fault running now. */
  nodes: NodeProcess[];
  /** Nodes that exited without this program ending them. */
  crashes: string[];
  ended: Set<NodeProcess>;
}

async function breakRedis(kind: RedisFault, world: World, opts: RedisFaultOptions): Promise<{ faultAt: number; restoredAt: number }> {
  if (kind === "stall") {
    const client = new Redis(world.redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    try {
      const faultAt = Date.now();
      // The reply comes when Redis wakes up: from then on it answers everyone again.
      await client.call("DEBUG", "SLEEP", String(opts.stallSeconds));
      return { faultAt, restoredAt: Date.now() };
    } finally {
      client.disconnect();
    }
  }
  const faultAt = Date.now();
  await world.redis.kill();
  await sleep(opts.killDownMs);
  await world.redis.start();
  return { faultAt, restoredAt: Date.now() };
}

async function runFault(kind: RedisFault, world: World, opts: RedisFaultOptions) {
  const crashesBefore = world.crashes.length;
  // Fresh nodes for each fault: nothing left queued by the one before may shape its figures.
  const bootAt = Date.now();
  await startNodes(world, kind, opts);
  const urls = world.nodes.map((n) => n.url);
  const pairs = await seedPairs(urls, `rf-${kind}-${Date.now().toString(36)}`, opts.conversations);
  log(`  ${kind}: 2 nodes started and ${pairs.length} conversations opened in ${Date.now() - bootAt} ms`);
  const load = new Load(pairs, world.nodes, opts.ackTimeoutMs);
  const watch = new NodeWatch(world.nodes);
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  try {
    await load.connectAll();
    // Message 1 of each conversation: the buyer's hello (the seller sees a conversation from its first message on).
    pairs.forEach((_, conv) => load.send(conv, "buyer"));
    if (!(await waitFor(() => load.outstanding() === 0, 20_000))) throw new Error(`${load.outstanding()} hello messages unacknowledged after 20 s`);

    const n = pairs.length;
    const rates = pairs.map((_, i) => (n === 1 ? opts.rate.min : opts.rate.min + ((opts.rate.max - opts.rate.min) * i) / (n - 1)));
    const offeredRate = rates.reduce((a, b) => a + b, 0);
    // Warm-up at the same load (fresh nodes compile and prepare their statements), then until every
    // send is acknowledged: the steady state starts from an empty backlog. Its messages are checked
    // like all others, but none of its figures count.
    if (opts.warmupMs > 0) {
      load.startOffering(rates, Date.now());
      await sleep(opts.warmupMs);
      load.stopOffering();
      if (!(await waitFor(() => load.outstanding() === 0, 20_000))) log(`  ${kind}: ${load.outstanding()} warm-up sends still unacknowledged after 20 s`);
    }
    watch.start();
    loopDelay.enable();
    const loadAt = Date.now();
    load.startOffering(rates, loadAt);
    log(`  ${kind}: ${n} conversations, ${round(offeredRate)} msg/s offered; steady state ${opts.beforeMs} ms`);
    await sleep(opts.beforeMs);

    log(`  ${kind}: ${kind === "stall" ? `DEBUG SLEEP ${opts.stallSeconds}` : `SIGKILL, restart after ${opts.killDownMs} ms`}`);
    const { faultAt, restoredAt } = await breakRedis(kind, world, opts);
    log(`  ${kind}: Redis answering again after ${restoredAt - faultAt} ms; load for ${opts.afterMs} ms more`);
    await sleep(opts.afterMs);
    const afterEnd = Date.now();
    load.stopOffering();
    const drained = await waitFor(() => load.outstanding() === 0, opts.drainMs);
    const drainEnd = Date.now();
    load.giveUp();
    const unacked = load.outstanding();
    log(`  ${kind}: load stopped; ${drained ? "every send acknowledged" : `${unacked} sends still unacknowledged`} ${drainEnd - afterEnd} ms later`);
    // Live deliveries still on their way; meanwhile the nodes' SQL rate shows the work they still
    // do for sends nobody waits for any more.
    await sleep(LEFTOVER_MS);
    await waitFor(() => Date.now() - load.lastArrivalAt >= SETTLE_QUIET_MS, SETTLE_MAX_MS, 50);
    const leftoverEnd = Date.now();
    loopDelay.disable();
    watch.stop();
    // No ack counts from here on; then the nodes go (SIGKILL), so that what is stored stays put
    // while it is checked.
    load.close();
    await killNodes(world);
    const storage = await checkStorage(world.pg, pairs, load.sends);
    const figures = summarize({ kind, load, watch, offeredRate, loadAt, faultAt, restoredAt, afterEnd, drainEnd, leftoverEnd, storage, opts });
    return {
      ...figures,
      loadGeneratorLoopDelayP99Ms: round(loopDelay.percentile(99) / 1e6, 1),
      nodeCrashes: world.crashes.slice(crashesBefore),
    };
  } finally {
    watch.stop();
    load.close();
  }
}

interface SummaryInput {
  kind: RedisFault;
  load: Load;
  watch: NodeWatch;
  offeredRate: number;
  loadAt: number;
  faultAt: number;
  restoredAt: number;
  afterEnd: number;
  drainEnd: number;
  leftoverEnd: number;
  storage: StorageCheck;
  opts: RedisFaultOptions;
}

function summarize(x: SummaryInput) {
  const { load, watch, faultAt, restoredAt, afterEnd, drainEnd } = x;
  const rel = (t: number | null) => (t === null ? null : t - faultAt);
  const windows = {
    // The first second of the load is its ramp.
    before: [x.loadAt + 1_000, faultAt] as const,
    during: [faultAt, restoredAt] as const,
    after: [restoredAt, afterEnd] as const,
  };
  type WindowName = keyof typeof windows;
  const names = Object.keys(windows) as WindowName[];
  const perWindow = <T>(f: (from: number, to: number) => T) => Object.fromEntries(names.map((w) => [w, f(...windows[w])])) as Record<WindowName, T>;

  const ackTimes = [...load.ackTimes].sort((a, b) => a - b);
  const offeredTimes = load.sends.filter((s) => s.offeredAt >= x.loadAt).map((s) => s.offeredAt);
  const warmup = load.sends.filter((s) => s.offeredAt < x.loadAt);
  const ackLatency = (from: number, to: number) => {
    const ms = load.sends.filter((s) => s.offeredAt >= from && s.offeredAt < to && s.ackedAt !== null).map((s) => s.ackedAt! - s.offeredAt);
    return { p50: percentile(ms, 50), p99: percentile(ms, 99), max: ms.length ? Math.max(...ms) : null };
  };
  const firstAck = firstAtOrAfter(ackTimes, restoredAt);
  const atRate = firstTimeAtRate(ackTimes, restoredAt, 0.9 * x.offeredRate);
  const sustained = sustainedRateFrom(ackTimes, restoredAt, afterEnd, 0.9 * x.offeredRate);
  const pendingAtRestore = load.sends.filter((s) => s.offeredAt < restoredAt && (s.ackedAt === null || s.ackedAt >= restoredAt));
  const backlogCleared = pendingAtRestore.some((s) => s.ackedAt === null) ? null : Math.max(restoredAt, ...pendingAtRestore.map((s) => s.ackedAt!));
  const gap = longestGap(ackTimes, x.loadAt, afterEnd);

  // Live: every socket; "connected throughout" ones are checked for every acknowledged message.
  const ackedSeqs = new Map<number, Set<number>>();
  for (const s of load.sends) if (s.seq !== null) (ackedSeqs.get(s.conv) ?? ackedSeqs.set(s.conv, new Set()).get(s.conv)!).add(s.seq);
  const throughout = load.listeners.filter((l) => l.disconnects === 0);
  const missingLive = throughout.map((l) => l.live.missing(ackedSeqs.get(l.conv) ?? []).map((seq) => `${l.conv}:${seq}`));
  const firstBreaks = load.listeners.map((l) => l.live.firstBreakAt).filter((t): t is number => t !== null);
  const live = {
    sockets: load.listeners.length,
    socketsConnectedThroughout: throughout.length,
    disconnects: load.listeners.reduce((n, l) => n + l.disconnects, 0),
    socketsWithOrderBreaks: load.listeners.filter((l) => l.live.orderBreaks > 0).length,
    orderBreaks: load.listeners.reduce((n, l) => n + l.live.orderBreaks, 0),
    firstOrderBreakMs: firstBreaks.length ? rel(Math.min(...firstBreaks)) : null,
    socketsWithDuplicates: load.listeners.filter((l) => l.live.duplicates > 0).length,
    duplicates: load.listeners.reduce((n, l) => n + l.live.duplicates, 0),
    ackedNotReceivedLive: missingLive.reduce((n, m) => n + m.length, 0),
    ackedMessagesMissedBySomeSocket: new Set(missingLive.flat()).size,
    socketsThatMissedSome: missingLive.filter((m) => m.length > 0).length,
  };

  // Nodes: counters summed over the nodes, heap per node.
  const sumCounterRate = (field: "statements" | "sent", from: number, to: number) => {
    const rates = watch.samples.map((s) => counterRate(counterSamples(s, field), from, to));
    return rates.some((r) => r === null) ? null : round(rates.reduce<number>((a, b) => a + b!, 0), 1);
  };
  const sumRate = (field: "statements" | "sent") => perWindow((from, to) => sumCounterRate(field, from, to));
  const heapSource = watch.samples.every((s) => s.some((p) => p.heapUsed !== null)) ? "nodejs_heap_size_used_bytes" : "VmRSS (/proc)";
  const memory = (p: NodeSample) => (heapSource === "VmRSS (/proc)" ? p.procRss : p.heapUsed);
  const mb = (bytes: number | null | undefined) => (bytes == null ? null : round(bytes / 2 ** 20, 1));
  const heap = watch.samples.map((samples, i) => {
    const values = (from: number, to: number) => samples.filter((p) => p.t >= from && p.t <= to).map(memory).filter((v): v is number => v !== null);
    const before = values(...windows.before);
    const peak = values(faultAt, drainEnd);
    const end = values(windows.after[1] - 2_000, windows.after[1]);
    return {
      node: nodeName(i),
      beforeMb: mb(before.length ? Math.max(...before) : null),
      peakMb: mb(peak.length ? Math.max(...peak) : null),
      endOfAfterMb: mb(end.at(-1)),
    };
  });
  const readyz = watch.samples.map((_, i) => {
    const codes = (from: number, to: number) => {
      const counts: Record<string, number> = {};
      for (const r of watch.ready) if (r.node === i && r.t >= from && r.t < to) counts[r.code] = (counts[r.code] ?? 0) + 1;
      return counts;
    };
    const firstOk = watch.ready.find((r) => r.node === i && r.t >= restoredAt && r.code === "200");
    return {
      node: nodeName(i),
      before: codes(...windows.before),
      during: codes(...windows.during),
      after: codes(...windows.after),
      firstOkAfterRestoreMs: firstOk ? firstOk.t - restoredAt : null,
    };
  });

  const attempts = load.sends.filter((s) => s.offeredAt >= x.loadAt).reduce((n, s) => n + s.attempts, 0);
  return {
    fault: x.kind,
    description: x.kind === "stall" ? `DEBUG SLEEP ${x.opts.stallSeconds}` : `SIGKILL, restarted on the same port ${x.opts.killDownMs} ms later`,
    faultMs: restoredAt - faultAt,
    offeredPerSec: round(x.offeredRate, 1),
    windowsMs: {
      before: [windows.before[0] - faultAt, 0],
      during: [0, restoredAt - faultAt],
      after: [restoredAt - faultAt, afterEnd - faultAt],
      drainEnd: drainEnd - faultAt,
    },
    sends: {
      offered: load.sends.length - warmup.length,
      warmupAndHello: warmup.length,
      warmupAttempts: warmup.reduce((n, s) => n + s.attempts, 0),
      acked: load.sends.filter((s) => s.offeredAt >= x.loadAt && s.ackedAt !== null).length,
      unackedAtEnd: load.sends.filter((s) => s.ackedAt === null).length,
      attempts,
      retries: attempts - (load.sends.length - warmup.length),
      errorAcks: load.errorAcks,
      offeredPerSec: perWindow((from, to) => ratePerSecond(offeredTimes, from, to)),
      ackedPerSec: perWindow((from, to) => ratePerSecond(ackTimes, from, to)),
      attemptsPerSec: perWindow((from, to) => ratePerSecond(load.attemptTimes, from, to)),
      /** First offer → ack, of the sends offered in each window. */
      ackLatencyMs: perWindow(ackLatency),
    },
    recovery: {
      firstAckAfterRestoreMs: firstAck === null ? null : firstAck - restoredAt,
      /** First 1-s window (sliding) after the restore with acks ≥ 90 % of the offered rate. */
      ackRateBackAfterRestoreMs: atRate === null ? null : atRate - restoredAt,
      /** From this whole second after the restore on, every second until the end of the after window had acks ≥ 90 % of the offered rate. */
      ackRateSustainedAfterRestoreMs: sustained,
      sendsPendingAtRestore: pendingAtRestore.length,
      backlogClearedAfterRestoreMs: backlogCleared === null ? null : backlogCleared - restoredAt,
      longestPauseWithoutAckMs: gap.ms,
      longestPauseStartedMs: rel(gap.startedAt),
    },
    live,
    nodes: {
      sqlStatementsPerSec: sumRate("statements"),
      /** Once the clients stopped offering and retrying: work done for nobody. */
      sqlStatementsPerSecAfterClientsStopped: sumCounterRate("statements", drainEnd, x.leftoverEnd),
      messagesStoredPerSec: sumRate("sent"),
      heapSource,
      heap,
      readyz,
      metricScrapeFailures: watch.scrapeFailures,
      /** Messages the delivering nodes held for a gap, fetched to fill one, dropped as repeats (over the whole run). */
      deliveryOrder: orderCounts(watch.samples),
    },
    storage: x.storage,
    series: series(x, ackTimes, offeredTimes),
  };
}

/** The ordering counters' growth from the first to the last scrape, summed over the nodes. */
function orderCounts(perNode: NodeSample[][]): NodeSample["order"] {
  const total = { held: 0, fetched: 0, dropped: 0 };
  for (const samples of perNode) {
    const seen = samples.filter((s) => s.order !== null);
    if (seen.length === 0) return null;
    const first = seen[0]!.order!;
    const last = seen.at(-1)!.order!;
    total.held += last.held - first.held;
    total.fetched += last.fetched - first.fetched;
    total.dropped += last.dropped - first.dropped;
  }
  return total;
}

function counterSamples(samples: NodeSample[], field: "statements" | "sent"): CounterSample[] {
  return samples.filter((s) => s[field] !== null).map((s) => ({ t: s.t, value: s[field]! }));
}

/** Per second from the start of the load to the end of the drain, t relative to the fault. */
function series(x: SummaryInput, ackTimes: number[], offeredTimes: number[]) {
  const out = [];
  const start = x.faultAt - Math.ceil((x.faultAt - x.loadAt) / 1000) * 1000;
  for (let from = start; from < x.drainEnd; from += 1000) {
    const to = from + 1000;
    const count = (ts: number[]) => ts.filter((t) => t >= from && t < to).length;
    const statements = x.watch.samples.map((s) => counterRate(counterSamples(s, "statements"), from - METRICS_EVERY_MS, to));
    out.push({
      t: (from - x.faultAt) / 1000,
      offered: count(offeredTimes),
      acked: count(ackTimes),
      attempts: count(x.load.attemptTimes),
      outstanding: x.load.sends.filter((s) => s.offeredAt < to && (s.ackedAt === null || s.ackedAt >= to)).length,
      sqlPerSec: statements.some((r) => r === null) ? null : Math.round(statements.reduce<number>((a, b) => a + b!, 0)),
      heapMb: x.watch.samples.map((s) => {
        const last = s.filter((p) => p.t < to && p.t >= from).at(-1);
        const v = last?.heapUsed ?? last?.procRss;
        return v == null ? null : round(v / 2 ** 20, 1);
      }),
      readyz: x.watch.samples.map((_, i) => x.watch.ready.filter((r) => r.node === i && r.t >= from && r.t < to).at(-1)?.code ?? null),
    });
  }
  return out;
}

const nodeName = (i: number) => `node-${i === 0 ? "A" : "B"}`;

// ---------------------------------------------------------------------------------------------
// The stored messages (read from PostgreSQL once the load is over)
// ---------------------------------------------------------------------------------------------

interface StorageCheck {
  conversations: number;
  messages: number;
  clientIdsStoredTwice: number;
  conversationsWithSeqGap: number;
  ackedMissingOrAtOtherSeq: number;
  storedButNeverAcked: number;
}

async function checkStorage(server: PostgresServer, pairs: BenchPair[], sends: Send[]): Promise<StorageCheck> {
  const client = new pg.Client({ connectionString: server.url("marketchat") });
  await client.connect();
  try {
    const ids = pairs.map((p) => p.conversationId);
    const perConversation = await client.query<{ n: number; keys: number; min: number; max: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT (sender_id, client_id))::int AS keys, min(seq)::int AS min, max(seq)::int AS max
         FROM messages WHERE conversation_id = ANY($1::uuid[]) GROUP BY conversation_id`,
      [ids],
    );
    const rows = await client.query<{ client_id: string; seq: number }>(
      "SELECT client_id::text, seq FROM messages WHERE conversation_id = ANY($1::uuid[])",
      [ids],
    );
    const stored = new Map(rows.rows.map((r) => [r.client_id, r.seq]));
    const acked = sends.filter((s) => s.seq !== null);
    const ackedIds = new Set(acked.map((s) => s.clientId));
    return {
      conversations: perConversation.rows.length,
      messages: rows.rows.length,
      clientIdsStoredTwice: perConversation.rows.reduce((n, r) => n + (r.n - r.keys), 0),
      conversationsWithSeqGap: perConversation.rows.filter((r) => r.min !== 1 || r.max !== r.n).length,
      ackedMissingOrAtOtherSeq: acked.filter((s) => stored.get(s.clientId) !== s.seq).length,
      storedButNeverAcked: [...stored.keys()].filter((id) => !ackedIds.has(id)).length,
    };
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Run
// ---------------------------------------------------------------------------------------------

/** DEBUG SLEEP is refused from Redis 7 on unless enabled; Redis 6 allows it and refuses the option. */
function debugCommandArgs(): string[] {
  const version = /v=(\d+)\./.exec(spawnSync("redis-server", ["--version"], { encoding: "utf8" }).stdout)?.[1];
  return Number(version) >= 7 ? ["--enable-debug-command", "yes"] : [];
}

async function startWorld(): Promise<World> {
  const [pgServer, redis] = await Promise.all([startPostgresServer(), startRedisServer({ args: debugCommandArgs() })]);
  // The nodes create and migrate the database themselves (MIGRATE_ON_START, under a lock).
  const env: TestEnv = { mode: "postgres", databaseUrl: pgServer.url("marketchat"), redisPrefix: uniqueName("mcredisfault"), close: async () => undefined };
  return { pg: pgServer, redis, env, nodes: [], crashes: [], ended: new Set() };
}

async function startNodes(world: World, tag: string, opts: RedisFaultOptions): Promise<void> {
  const vars = { ...NODE_VARS, REDIS_URL: world.redis.url, DATABASE_POOL_SIZE: String(opts.pool) };
  world.nodes = await Promise.all(
    ["A", "B"].map(async (name) => {
      const node = await startNode(world.env, `redis-faults-${tag}-${name}`, vars, { startTimeoutMs: 120_000 });
      node.child.once("exit", (code, signal) => {
        if (!world.ended.has(node)) world.crashes.push(`node-${name} exited (${code ?? signal}): ${node.logs.slice(-3).join(" | ")}`);
      });
      return node;
    }),
  );
}

async function killNodes(world: World): Promise<void> {
  world.nodes.forEach((n) => world.ended.add(n));
  await Promise.allSettled(world.nodes.map((n) => n.kill()));
  world.nodes = [];
}

async function stopWorld(world: Partial<World>): Promise<void> {
  if (world.nodes && world.ended) await killNodes(world as World);
  await world.redis?.stop().catch((err: Error) => log(`stopping redis-server: ${err.message}`));
  await world.pg?.close().catch((err: Error) => log(`stopping PostgreSQL: ${err.message}`));
}

type FaultFigures = Awaited<ReturnType<typeof runFault>>;

function report(runs: FaultFigures[]): string {
  const cell = (f: (r: FaultFigures) => unknown) => runs.map((r) => {
    const v = f(r);
    return v === null || v === undefined ? "-" : typeof v === "object" ? Object.entries(v as Record<string, unknown>).map(([k, n]) => `${k}×${String(n)}`).join(" ") || "none" : String(v);
  });
  const bdA = (o: { before: unknown; during: unknown; after: unknown }) => `${o.before ?? "-"} / ${o.during ?? "-"} / ${o.after ?? "-"}`;
  const rows: [string, (r: FaultFigures) => unknown][] = [
    ["fault", (r) => r.description],
    ["fault length ms", (r) => r.faultMs],
    ["offered msg/s", (r) => r.offeredPerSec],
    ["sockets with seq N+1 before N (live)", (r) => `${r.live.socketsWithOrderBreaks} of ${r.live.sockets} (${r.live.orderBreaks} late arrivals)`],
    ["live duplicates (sockets)", (r) => `${r.live.duplicates} (${r.live.socketsWithDuplicates})`],
    ["acked, not received live (socket×msg / msgs)", (r) => `${r.live.ackedNotReceivedLive} / ${r.live.ackedMessagesMissedBySomeSocket} (${r.live.socketsConnectedThroughout} sockets connected throughout)`],
    ["SQL statements/s before / during / after", (r) => bdA(r.nodes.sqlStatementsPerSec)],
    ["messages stored/s before / during / after", (r) => bdA(r.nodes.messagesStoredPerSec)],
    ["acks/s before / during / after", (r) => bdA(r.sends.ackedPerSec)],
    ["send attempts/s before / during / after", (r) => bdA(r.sends.attemptsPerSec)],
    ["offer→ack p99 ms before / during / after", (r) => bdA({ before: r.sends.ackLatencyMs.before.p99, during: r.sends.ackLatencyMs.during.p99, after: r.sends.ackLatencyMs.after.p99 })],
    ["Redis back → first ack ms", (r) => r.recovery.firstAckAfterRestoreMs ?? "never"],
    ["Redis back → acks at 90% of offered: first / for good ms", (r) => `${r.recovery.ackRateBackAfterRestoreMs ?? "never"} / ${r.recovery.ackRateSustainedAfterRestoreMs ?? "never"}`],
    ["Redis back → backlog acked ms (sends pending)", (r) => `${r.recovery.backlogClearedAfterRestoreMs ?? "never"} (${r.recovery.sendsPendingAtRestore})`],
    ["longest pause without any ack ms (starts at)", (r) => `${r.recovery.longestPauseWithoutAckMs} (${r.recovery.longestPauseStartedMs} ms from fault)`],
    ["sends / attempts / retries", (r) => `${r.sends.offered} / ${r.sends.attempts} / ${r.sends.retries}`],
    ["error acks", (r) => r.sends.errorAcks],
    ["unacked when the drain ended", (r) => r.sends.unackedAtEnd],
    ...[0, 1].map((i): [string, (r: FaultFigures) => unknown] => [
      `${nodeName(i)} heap MB before / peak / end`,
      (r) => `${r.nodes.heap[i]?.beforeMb ?? "-"} / ${r.nodes.heap[i]?.peakMb ?? "-"} / ${r.nodes.heap[i]?.endOfAfterMb ?? "-"}`,
    ]),
    ...[0, 1].map((i): [string, (r: FaultFigures) => unknown] => [`${nodeName(i)} /readyz during fault`, (r) => r.nodes.readyz[i]?.during]),
    ...[0, 1].map((i): [string, (r: FaultFigures) => unknown] => [`${nodeName(i)} /readyz 200 again after ms`, (r) => r.nodes.readyz[i]?.firstOkAfterRestoreMs]),
    ["SQL statements/s once clients stopped retrying", (r) => r.nodes.sqlStatementsPerSecAfterClientsStopped],
    [
      "delivering nodes: messages held for a gap / fetched / repeats dropped",
      (r) => (r.nodes.deliveryOrder ? `${r.nodes.deliveryOrder.held} / ${r.nodes.deliveryOrder.fetched} / ${r.nodes.deliveryOrder.dropped}` : "n/a"),
    ],
    ["stored: clientId twice / seq gaps / acked missing", (r) => `${r.storage.clientIdsStoredTwice} / ${r.storage.conversationsWithSeqGap} / ${r.storage.ackedMissingOrAtOtherSeq}`],
    ["stored but never acked", (r) => r.storage.storedButNeverAcked],
    ["load generator loop delay p99 ms", (r) => r.loadGeneratorLoopDelayP99Ms],
    ["node crashes", (r) => r.nodeCrashes.length],
  ];
  return formatTable(["figure", ...runs.map((r) => r.fault)], rows.map(([label, f]) => [label, ...cell(f)]));
}

async function main(): Promise<number> {
  const parsed = parseRedisFaultOptions(process.argv.slice(2), ROOT);
  if (parsed === "help") {
    process.stdout.write(`${REDIS_FAULTS_USAGE}\n`);
    return 0;
  }
  const opts = parsed;
  const machine = machineDescription();
  const startedAt = new Date();
  const world: Partial<World> = {};
  const runs: FaultFigures[] = [];
  const onSignal = () => {
    log("interrupted: stopping the servers");
    void stopWorld(world).then(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    log(`redis-faults: private PostgreSQL and redis-server; per fault 2 fresh nodes (pool ${opts.pool})…`);
    Object.assign(world, await startWorld());
    for (const kind of opts.faults) runs.push(await runFault(kind, world as World, opts));
  } finally {
    await stopWorld(world);
  }

  const command = `npm run bench:redis-faults -- ${process.argv.slice(2).join(" ")}`.trim();
  process.stdout.write(
    [
      `Redis faults (${command})`,
      `machine: ${machine.cores} × ${machine.cpu}, load average at start ${machine.loadAverage}; 2 nodes, DATABASE_POOL_SIZE ${opts.pool}, ` +
        `${opts.conversations} conversations at ${opts.rate.min}–${opts.rate.max} msg/s each, ack timeout ${opts.ackTimeoutMs} ms`,
      "windows: before = steady state (first second left out), during = fault until Redis answers again, after = the next " +
        `${opts.afterMs} ms; SQL counts include the /readyz probes (4/s per node)`,
      "",
      report(runs),
      "",
    ].join("\n"),
  );
  mkdirSync(opts.outDir, { recursive: true });
  const file = join(opts.outDir, "redis-faults.json");
  writeFileSync(file, `${JSON.stringify({ startedAt: startedAt.toISOString(), command, machine, options: { ...opts, outDir: undefined }, runs }, null, 2)}\n`);
  process.stdout.write(`Written: ${file}\n`);
  for (const r of runs) for (const c of r.nodeCrashes) process.stdout.write(`node crash during ${r.fault}: ${c}\n`);
  const wrong = runs.filter((r) => r.storage.clientIdsStoredTwice + r.storage.conversationsWithSeqGap + r.storage.ackedMissingOrAtOtherSeq > 0);
  if (wrong.length) process.stdout.write(`FAILED: stored messages wrong after ${wrong.map((r) => r.fault).join(", ")}\n`);
  return wrong.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof OptionError) {
      process.stderr.write(`${err.message}\n\n${REDIS_FAULTS_USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`bench:redis-faults failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
