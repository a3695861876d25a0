// Load generator for the throughput scenario (a child process of bench/run.ts). It holds the
// sockets of a set of buyer/seller pairs — every user with one socket on every node — offers
// message:send at a fixed rate (open loop: sends are scheduled by the clock, not by acks, so a
// slow server shows up as latency instead of quietly lowering the load), and checks that every
// socket of both participants gets every message exactly once and, for the service, in seq order.
import { randomUUID } from "node:crypto";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { io, type Socket } from "socket.io-client";
import { encodeHistogram, newHistogram, recordMs, type Histogram } from "../support/histogram.js";
import { serveWorker } from "../support/worker.js";

export type SystemKind = "service" | "transport" | "naive";

export interface BenchUser {
  id: string;
  token: string;
}

export interface BenchPair {
  conversationId: string;
  buyer: BenchUser;
  seller: BenchUser;
}

export interface ConnectRequest {
  system: SystemKind;
  urls: string[];
  pairs: BenchPair[];
  /** Text of every message (its size is part of what is measured). */
  content: string;
  /**
   * Where each pair's users connect (node indexes into urls), aligned with `pairs`. Default:
   * every user has one socket on every node.
   */
  placement?: { buyer: number[]; seller: number[] }[];
}

export interface StepRequest {
  label: string;
  /** Offered messages per second across all pairs. */
  rate: number;
  durationMs: number;
  /** How long to wait after the last send for this step's acks and deliveries. */
  drainMaxMs: number;
  /** The warm-up: one message from each pair's buyer (opens the conversation for the seller). */
  warmup?: boolean;
}

export interface StepResult {
  label: string;
  offered: number;
  durationMs: number;
  sent: number;
  /** Sends answered { ok: true }. */
  acked: number;
  /** Sends answered { ok: false }, by error code. */
  errors: Record<string, number>;
  /** Messages acked and delivered to every socket of both participants. */
  completed: number;
  /** Sent in this step but still unanswered or undelivered when the drain time ran out. */
  unfinished: number;
  /**
   * The rate at which messages completed: 95% of them over the time the first 95% took to
   * complete (a saturated system completes at its capacity however long the backlog; the
   * slowest 5% are left out so that one late delivery does not read as a lower rate).
   */
  deliveredPerSec: number;
  ackHistogram: string;
  deliverHistogram: string;
  generator: { cpuCores: number; loopDelayP99Ms: number };
  /** message:new received during the step by the sockets connected to each node (index into urls). */
  deliveredByNode: number[];
}

export interface Integrity {
  system: SystemKind;
  sockets: number;
  messages: number;
  /** Deliveries a socket never got (for the service: seqs 1..lastSeq missing on a socket). */
  lost: number;
  duplicated: number;
  /** Deliveries that came after a higher seq on the same socket (service only). */
  outOfOrder: number;
  /** message:new for a clientId this generator never sent. */
  unexpected: number;
  /** Sends never answered by an ack. */
  unanswered: number;
  /** Sockets that disconnected during the run (each one would explain losses). */
  disconnects: number;
  method: string;
}

type ClientSocket = Socket;

interface PairState {
  pair: BenchPair;
  /** Buyer's sockets, then the seller's. */
  sockets: ClientSocket[];
  /** How many of `sockets` are the buyer's. */
  buyerSockets: number;
  /** The node (index into urls) each socket is connected to. */
  nodeOf: number[];
  maxSeq: number[];
  seqSeen: number[];
  turn: number;
}

interface StepState {
  sent: number;
  acked: number;
  completed: number;
  outstanding: number;
  errors: Record<string, number>;
  ack: Histogram;
  deliver: Histogram;
  /** performance.now() of each completion, in order. */
  completions: number[];
  sendingDone: boolean;
  onIdle: (() => void) | null;
}

interface Tracked {
  pair: number;
  fromBuyer: boolean;
  sentAt: number;
  step: StepState;
  acked: boolean;
  failed: boolean;
  /** Bit k set once socket k of the pair got the message. */
  got: number;
  pending: number;
  /** Called once the message is completed or failed (the warm-up paces itself on it). */
  done?: () => void;
}

interface MessageLike {
  clientId?: string;
  seq?: number;
}

type AckReply = { ok: true; data: MessageLike } | { ok: false; error?: { code?: string } };

let system: SystemKind = "service";
let urls: string[] = [];
let content = "";
let pairs: PairState[] = [];
let tracked = new Map<string, Tracked>();
let counters = { duplicated: 0, outOfOrder: 0, unexpected: 0, disconnects: 0 };
let closing = false;
let nextPair = 0;
/** message:new per node since the current step started. */
let deliveredByNode: number[] = [];
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

function connectOne(url: string, token: string): Promise<ClientSocket> {
  const socket = io(url, { auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true, timeout: 30_000 });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => {
      socket.close();
      reject(new Error(`connect to ${url} failed: ${err.message}`));
    });
  });
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

function onDelivered(p: number, k: number, message: MessageLike): void {
  const now = performance.now();
  const state = pairs[p]!;
  deliveredByNode[state.nodeOf[k]!]! += 1;
  const t = message.clientId ? tracked.get(message.clientId) : undefined;
  if (!t || t.pair !== p) {
    counters.unexpected += 1;
    return;
  }
  const bit = 1 << k;
  if (t.got & bit) {
    counters.duplicated += 1;
    return;
  }
  t.got |= bit;
  t.pending -= 1;
  if (system === "service" && typeof message.seq === "number") {
    if (message.seq < state.maxSeq[k]!) counters.outOfOrder += 1;
    else state.maxSeq[k] = message.seq;
    state.seqSeen[k]! += 1;
  }
  const toBuyer = k < state.buyerSockets;
  if (toBuyer !== t.fromBuyer) recordMs(t.step.deliver, now - t.sentAt);
  if (t.acked && t.pending === 0 && !t.failed) finish(t, now, true);
}

function finish(t: Tracked, now: number, completed: boolean): void {
  const step = t.step;
  if (completed) {
    step.completed += 1;
    step.completions.push(now);
  }
  step.outstanding -= 1;
  t.done?.();
  if (step.outstanding === 0 && step.sendingDone) step.onIdle?.();
}

function sendOne(step: StepState, warmup: boolean, done?: () => void): void {
  const p = nextPair;
  nextPair = (nextPair + 1) % pairs.length;
  const state = pairs[p]!;
  const turn = state.turn++;
  const fromBuyer = warmup || turn % 2 === 0;
  // Each user sends from each of their sockets in turn (with a socket on every node: each node).
  const own = fromBuyer ? state.buyerSockets : state.sockets.length - state.buyerSockets;
  const index = (warmup ? p : Math.floor(turn / 2)) % own;
  const socket = state.sockets[(fromBuyer ? 0 : state.buyerSockets) + index]!;
  const clientId = randomUUID();
  const t: Tracked = {
    pair: p,
    fromBuyer,
    sentAt: performance.now(),
    step,
    acked: false,
    failed: false,
    got: 0,
    pending: state.sockets.length,
    ...(done ? { done } : {}),
  };
  tracked.set(clientId, t);
  step.sent += 1;
  step.outstanding += 1;
  socket.emit("message:send", { conversationId: state.pair.conversationId, clientId, content }, (reply: AckReply) => {
    const now = performance.now();
    t.acked = true;
    if (reply?.ok) {
      step.acked += 1;
      recordMs(step.ack, now - t.sentAt);
      if (t.pending === 0) finish(t, now, true);
    } else {
      const code = reply?.error?.code ?? "malformed_ack";
      step.errors[code] = (step.errors[code] ?? 0) + 1;
      t.failed = true;
      finish(t, now, false);
    }
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const WARMUP_BATCH = 4;

async function runStep(req: StepRequest): Promise<StepResult> {
  const step: StepState = {
    sent: 0,
    acked: 0,
    completed: 0,
    outstanding: 0,
    errors: {},
    ack: newHistogram(),
    deliver: newHistogram(),
    completions: [],
    sendingDone: false,
    onIdle: null,
  };
  const cpuBefore = process.cpuUsage();
  deliveredByNode = urls.map(() => 0);
  loopDelay.reset();
  const started = performance.now();
  if (req.warmup) {
    // First messages go out a few at a time: they open the conversation for the seller, which
    // is not the steady state being measured (and each takes a second pooled connection).
    nextPair = 0;
    const deadline = performance.now() + req.drainMaxMs;
    for (let i = 0; i < pairs.length && performance.now() < deadline; i += WARMUP_BATCH) {
      const batch = Math.min(WARMUP_BATCH, pairs.length - i);
      await Promise.race([
        Promise.all(Array.from({ length: batch }, () => new Promise<void>((resolve) => sendOne(step, true, resolve)))),
        sleep(Math.max(0, deadline - performance.now())),
      ]);
    }
  } else {
    // A 1 ms tick, sending whatever the clock says is due: the offered rate holds even when
    // the timer fires late, as long as this process has CPU to spare (reported as loop delay).
    while (performance.now() - started < req.durationMs) {
      const due = Math.floor(((performance.now() - started) / 1000) * req.rate);
      while (step.sent < due) sendOne(step, false);
      await sleep(1);
    }
  }
  const sendingMs = performance.now() - started;
  step.sendingDone = true;
  if (step.outstanding > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, req.drainMaxMs);
      step.onIdle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  step.onIdle = null;
  const cpu = process.cpuUsage(cpuBefore);
  const wall = (performance.now() - started) / 1000;
  const rate = completionRate(step.completions, sendingMs);
  return {
    label: req.label,
    offered: req.rate,
    durationMs: Math.round(sendingMs),
    sent: step.sent,
    acked: step.acked,
    errors: step.errors,
    completed: step.completed,
    unfinished: step.outstanding,
    deliveredPerSec: rate,
    ackHistogram: encodeHistogram(step.ack),
    deliverHistogram: encodeHistogram(step.deliver),
    generator: {
      cpuCores: Math.round(((cpu.user + cpu.system) / 1e6 / wall) * 100) / 100,
      loopDelayP99Ms: Math.round(loopDelay.percentile(99) / 1e4) / 100,
    },
    deliveredByNode,
  };
}

/**
 * conversation:join on each socket; returns how many failed. A failed join only means the socket
 * also gets `notification` events, so it is reported rather than fatal (an overloaded database
 * can fail one, and the run must not stop on a timing).
 */
function completionRate(times: number[], sendingMs: number): number {
  if (times.length < 2) return times.length;
  const i95 = Math.max(1, Math.ceil(times.length * 0.95) - 1);
  // Never faster than the sends: completions bunched by a stall are not extra capacity.
  const spanMs = Math.max(times[i95]! - times[0]!, (sendingMs * i95) / times.length);
  return spanMs > 0 ? Math.round((i95 / spanMs) * 1000) : 0;
}

async function join(sockets: ClientSocket[], conversationId: string): Promise<number> {
  const results = await Promise.all(
    sockets.map(
      (s) =>
        new Promise<boolean>((resolve) => {
          s.emit("conversation:join", { conversationId }, (reply: AckReply) => {
            if (!reply?.ok && !firstJoinError) firstJoinError = `conversation:join ${conversationId}: ${JSON.stringify(reply)}`;
            resolve(reply?.ok === true);
          });
        }),
    ),
  );
  return results.filter((ok) => !ok).length;
}

let firstJoinError: string | null = null;

async function joinAll(sides: "buyers" | "sellers" | "both"): Promise<number> {
  let failed = 0;
  await inBatches(pairs, 25, async (s) => {
    const sockets = sides === "both" ? s.sockets : sides === "buyers" ? s.sockets.slice(0, s.buyerSockets) : s.sockets.slice(s.buyerSockets);
    // Not `failed += await …`: that reads `failed` before the wait and drops concurrent additions.
    const n = await join(sockets, s.pair.conversationId);
    failed += n;
  });
  return failed;
}

export interface ConnectResult {
  sockets: number;
  ms: number;
  joinFailures: number;
  firstJoinError: string | null;
}

async function connect(req: ConnectRequest): Promise<ConnectResult> {
  const started = performance.now();
  system = req.system;
  urls = req.urls;
  content = req.content;
  tracked = new Map();
  counters = { duplicated: 0, outOfOrder: 0, unexpected: 0, disconnects: 0 };
  closing = false;
  const everyNode = urls.map((_, i) => i);
  pairs = req.pairs.map((pair, i) => {
    const at = req.placement?.[i] ?? { buyer: everyNode, seller: everyNode };
    return { pair, sockets: [], buyerSockets: at.buyer.length, nodeOf: [...at.buyer, ...at.seller], maxSeq: [], seqSeen: [], turn: 0 };
  });
  deliveredByNode = urls.map(() => 0);
  await inBatches(pairs, 25, async (state) => {
    const tokens = state.nodeOf.map((_, k) => (k < state.buyerSockets ? state.pair.buyer.token : state.pair.seller.token));
    state.sockets = await Promise.all(state.nodeOf.map((node, k) => connectOne(urls[node]!, tokens[k]!)));
    state.maxSeq = state.sockets.map(() => 0);
    state.seqSeen = state.sockets.map(() => 0);
  });
  pairs.forEach((state, p) =>
    state.sockets.forEach((socket, k) => {
      socket.on("message:new", (m: MessageLike) => onDelivered(p, k, m));
      socket.on("disconnect", () => {
        if (!closing) counters.disconnects += 1;
      });
    }),
  );
  // The service lets the seller see (and join) a conversation from its first message on, and
  // delivers to user rooms anyway; the references route by conversation room, so join first.
  firstJoinError = null;
  const joinFailures = await joinAll(system === "service" ? "buyers" : "both");
  return { sockets: socketCount(), ms: Math.round(performance.now() - started), joinFailures, firstJoinError };
}

async function warmup(req: { drainMaxMs: number }): Promise<StepResult & { joinFailures: number; firstJoinError: string | null }> {
  const result = await runStep({ label: "warm-up", rate: 0, durationMs: 0, drainMaxMs: req.drainMaxMs, warmup: true });
  firstJoinError = null;
  // The seller may see (and join) the conversation once its first message is stored.
  const joinFailures = system === "service" ? await joinAll("sellers") : 0;
  return { ...result, joinFailures, firstJoinError };
}

/** Waits until nothing is outstanding or nothing has moved for idleMs, then checks delivery. */
async function verify(req: { idleMs: number }): Promise<Integrity> {
  const unfinished = () => {
    let n = 0;
    for (const t of tracked.values()) if (!t.failed && (!t.acked || t.pending > 0)) n += 1;
    return n;
  };
  let last = unfinished();
  let stillSince = performance.now();
  while (last > 0 && performance.now() - stillSince < req.idleMs) {
    await sleep(100);
    const now = unfinished();
    if (now !== last) {
      last = now;
      stillSince = performance.now();
    }
  }
  let unanswered = 0;
  let lostByMessage = 0;
  for (const t of tracked.values()) {
    if (!t.acked) unanswered += 1;
    if (t.acked && !t.failed) lostByMessage += t.pending;
  }
  const sockets = socketCount();
  if (system !== "service") {
    return {
      system,
      sockets,
      messages: tracked.size,
      lost: lostByMessage,
      duplicated: counters.duplicated,
      outOfOrder: 0,
      unexpected: counters.unexpected,
      unanswered,
      disconnects: counters.disconnects,
      method: "every acked clientId once on every socket of both participants",
    };
  }
  // The service's own word on how many messages each conversation holds: every socket must have
  // seen exactly seq 1..lastSeq (a message stored but never acked still counts).
  let lost = 0;
  await inBatches(pairs, 20, async (state) => {
    const { lastSeq } = await lastSeqOf(state.pair);
    for (let k = 0; k < state.sockets.length; k++) lost += Math.max(0, lastSeq - state.seqSeen[k]!);
  });
  return {
    system,
    sockets,
    messages: tracked.size,
    lost: Math.max(lost, lostByMessage),
    duplicated: counters.duplicated,
    outOfOrder: counters.outOfOrder,
    unexpected: counters.unexpected,
    unanswered,
    disconnects: counters.disconnects,
    method: "seq 1..lastSeq (from GET /api/conversations/:id) exactly once and ascending on every socket of both participants",
  };
}

/** GET /api/conversations/:id, tried again on a 5xx (a node too busy to check out a connection). */
async function lastSeqOf(pair: BenchPair): Promise<{ lastSeq: number }> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${urls[0]}/api/conversations/${pair.conversationId}`, {
      headers: { authorization: `Bearer ${pair.buyer.token}` },
    });
    if (res.ok) return (await res.json()) as { lastSeq: number };
    const text = await res.text();
    if (attempt >= 4 || res.status < 500) throw new Error(`GET conversation ${res.status}: ${text}`);
    await sleep(250 * attempt);
  }
}

function socketCount(): number {
  return pairs.reduce((n, state) => n + state.nodeOf.length, 0);
}

async function close(): Promise<{ closed: number }> {
  closing = true;
  let closed = 0;
  for (const state of pairs) {
    for (const s of state.sockets) {
      s.close();
      closed += 1;
    }
  }
  pairs = [];
  tracked = new Map();
  return { closed };
}

serveWorker({ connect, warmup, step: runStep, verify, close });
