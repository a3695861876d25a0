// The fault suite's world: a private PostgreSQL and Redis (so the tests may kill them), service
// nodes as real processes behind the real nginx, and conversations whose clients (the client
// package, as apps use it) send continuously, retrying each message with its one clientId and
// catching up by seq. What the scenarios assert is checked here, from the stored messages and
// from what every client and socket saw.
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { cpus, loadavg, totalmem, type, release } from "node:os";
import { ChatClient, ChatError, type MessageView } from "@marketchat/client";
import { connectSocket, emitAck, type ClientSocket, type TestEnv } from "../support/app.js";
import { startNode, type NodeProcess } from "../support/cluster.js";
import { uniqueName } from "../support/env.js";
import { startNginx, type Nginx } from "../support/nginx.js";
import { startPostgresServer, type PostgresServer } from "../support/postgres-server.js";
import { startRedisServer, type RedisServer } from "../support/redis-server.js";
import { serviceToken, token } from "../support/tokens.js";

/** Limits set out of reach: every client comes from 127.0.0.1 (nginx) and sends as fast as acks come. */
const NODE_ENV: Record<string, string> = {
  RATE_LIMIT_MESSAGES: "off",
  RATE_LIMIT_CONVERSATIONS: "off",
  RATE_LIMIT_ANONYMOUS: "off",
  SOCKET_HANDSHAKES_PER_IP: "off",
  SOCKETS_PER_IP: "0",
  SOCKETS_PER_USER: "0",
  SOCKET_EVENTS_PER_SOCKET: "off",
  TRUST_PROXY: "true",
  DATABASE_POOL_SIZE: "5",
  // info: startNode waits for the "Server listening" line.
  LOG_LEVEL: "info",
};

/** Pause between one conversation's acknowledged send and its next: ~4 sends/s per conversation. */
const PACE_MS = 250;

export interface Party {
  client: ChatClient;
  /** What the client handed to the app ("message" events): once each, in seq order, it promises. */
  got: MessageView[];
  /** message:new events on the client's socket, by message id: live duplicates show as counts > 1. */
  live: Map<string, number>;
}

export interface Conversation {
  id: string;
  buyer: Party;
  seller: Party;
  /** Acknowledged sends: clientId → seq. */
  acked: Map<string, number>;
}

/** What one scenario measured: printed and written to bench/results/faults.json, never asserted. */
export interface Counters {
  acked: number;
  /** Send attempts refused or unanswered (the client retried each with the same clientId), by code. */
  refused: Record<string, number>;
  ackTimes: number[];
  /** Per conversation, when its first ack after the restore came. */
  firstAckAfterRestore: Map<string, number>;
  restoredAt: number | null;
}

export function newCounters(): Counters {
  return { acked: 0, refused: {}, ackTimes: [], firstAckAfterRestore: new Map(), restoredAt: null };
}

export class FaultWorld {
  pg!: PostgresServer;
  redis!: RedisServer;
  nginx!: Nginx;
  env!: TestEnv;
  /** The nodes behind nginx now. */
  nodes: NodeProcess[] = [];
  /** Nodes that exited without the suite ending them: each is a crash. */
  crashes: string[] = [];
  conversations: Conversation[] = [];
  counters = newCounters();
  private readonly ended = new Set<NodeProcess>();
  private readonly clients: ChatClient[] = [];
  private readonly probeSockets: ClientSocket[] = [];
  private nodeCount = 0;
  private probe = { id: "", buyer: "", seller: "" };

  async start(nodes: number, conversations: number): Promise<void> {
    [this.pg, this.redis] = await Promise.all([
      startPostgresServer(),
      startRedisServer({ args: debugCommandArgs() }),
    ]);
    // The nodes create and migrate this database themselves (MIGRATE_ON_START, under a lock).
    this.env = { mode: "postgres", databaseUrl: this.pg.url("marketchat"), redisPrefix: uniqueName("mcfault"), close: async () => undefined };
    this.nodes = await Promise.all(Array.from({ length: nodes }, () => this.startNode()));
    this.nginx = await startNginx(this.nodes.map((n) => n.port));
    this.probe = await this.openConversation("probe");
    for (let i = 0; i < conversations; i++) {
      const opened = await this.openConversation(`c${i}`);
      const buyer = this.party(opened.buyer);
      const seller = this.party(opened.seller);
      const c: Conversation = { id: opened.id, buyer, seller, acked: new Map() };
      // The seller sees a conversation from its first message on.
      this.record(c, await buyer.client.send(c.id, { content: "hello" }));
      await Promise.all([buyer.client.follow(c.id), seller.client.follow(c.id)]);
      this.conversations.push(c);
    }
  }

  async close(): Promise<void> {
    this.clients.forEach((c) => c.close());
    this.probeSockets.forEach((s) => s.close());
    await this.nginx?.stop();
    await Promise.all(this.nodes.map((n) => this.end(n, "kill")));
    await this.redis?.stop();
    await this.pg?.close();
  }

  /** A new node (a fresh port unless given: a restart keeps its place in nginx's list). */
  async startNode(port?: number): Promise<NodeProcess> {
    const name = `fault-node-${++this.nodeCount}`;
    const node = await startNode(this.env, name, { ...NODE_ENV, REDIS_URL: this.redis.url, ...(port ? { PORT: String(port) } : {}) }, { startTimeoutMs: 120_000 });
    node.child.once("exit", (code, signal) => {
      if (!this.ended.has(node)) this.crashes.push(`${name} exited (${code ?? signal}): ${node.logs.slice(-5).join("\n")}`);
    });
    return node;
  }

  /** Ends a node on purpose: SIGKILL (a machine dying) or SIGTERM (a deploy). */
  async end(node: NodeProcess, how: "kill" | "stop"): Promise<void> {
    this.ended.add(node);
    await (how === "kill" ? node.kill() : node.stop());
  }

  // ---- Load -----------------------------------------------------------------------------------

  /** Every conversation's buyer sends one message after another until stopped. */
  startLoad(): { stop(): Promise<void> } {
    let running = true;
    const loops = this.conversations.map(async (c, n) => {
      for (let i = 0; running; i++) {
        const sent = await c.buyer.client.send(c.id, { content: `load ${n}/${i}` }).catch((err: unknown) => {
          // Only closing the clients (a failed scenario's clean-up) ends a send; anything else is a finding.
          if (c.buyer.client.isClosed) return null;
          throw err;
        });
        if (!sent) return;
        this.record(c, sent);
        await new Promise((r) => setTimeout(r, PACE_MS));
      }
    });
    return {
      async stop() {
        running = false;
        await Promise.all(loops);
      },
    };
  }

  /** Polls until every conversation had `count` acks since the counters were reset. */
  ackedEach(count: number): number {
    return this.conversations.filter((c) => [...c.acked.keys()].length >= count).length;
  }

  private record(c: Conversation, sent: MessageView): void {
    c.acked.set(sent.clientId, sent.seq);
    const now = Date.now();
    this.counters.acked++;
    this.counters.ackTimes.push(now);
    if (this.counters.restoredAt !== null && !this.counters.firstAckAfterRestore.has(c.id)) this.counters.firstAckAfterRestore.set(c.id, now);
  }

  private party(user: string): Party {
    const client = new ChatClient({
      url: this.nginx.url,
      token: token(user),
      // WebSocket only, each client with its own affinity key so nginx spreads them over the nodes.
      socket: { transports: ["websocket"], query: { affinity: randomUUID() }, reconnectionDelay: 100, reconnectionDelayMax: 1_000 },
      ackTimeoutMs: 3_000,
    });
    this.clients.push(client);
    const party: Party = { client, got: [], live: new Map() };
    client.on("message", (m) => party.got.push(m));
    client.socket.on("message:new", (m) => party.live.set(m.id, (party.live.get(m.id) ?? 0) + 1));
    // Each failed attempt leaves its error on the outbox entry (a new object per attempt).
    const seen = new WeakSet<object>();
    client.outbox.subscribe(() => {
      for (const o of client.outbox.getSnapshot()) {
        if (!o.error || seen.has(o.error)) continue;
        seen.add(o.error);
        const code = o.error instanceof ChatError ? o.error.code : "error";
        this.counters.refused[code] = (this.counters.refused[code] ?? 0) + 1;
      }
    });
    return party;
  }

  private async openConversation(tag: string): Promise<{ id: string; buyer: string; seller: string }> {
    const buyer = `b-${tag}`;
    const seller = `s-${tag}`;
    await this.http("PUT", `/api/internal/users/${seller}`, serviceToken(), { name: "Seller" });
    await this.http("PUT", `/api/internal/listings/l-${tag}`, serviceToken(), { sellerId: seller, title: "Sofa" });
    const opened = await this.http("POST", "/api/conversations", token(buyer), { listingId: `l-${tag}` });
    return { id: (opened as { id: string }).id, buyer, seller };
  }

  async http(method: string, path: string, jwt: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.nginx.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${jwt}`, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  }

  // ---- Checks ---------------------------------------------------------------------------------

  /** Every node answers /readyz 200 (false while any does not). */
  async allReady(): Promise<boolean> {
    const states = await Promise.all(this.nodes.map((n) => fetch(`${n.url}/readyz`).then((r) => r.ok, () => false)));
    return states.every(Boolean);
  }

  /**
   * For every ordered pair of nodes: a message sent on one reaches a socket on the other live.
   * Sockets connect to the nodes directly (not through nginx) so each side is on a known node.
   * Resolves true once every pair delivered; false if a probe's message did not arrive within 1 s.
   */
  async liveEverywhere(): Promise<boolean> {
    for (const from of this.nodes) {
      for (const to of this.nodes) {
        if (from === to) continue;
        if (!(await this.probeLive(from, to))) return false;
      }
    }
    return true;
  }

  private async probeLive(from: NodeProcess, to: NodeProcess): Promise<boolean> {
    let sender: ClientSocket | undefined;
    let receiver: ClientSocket | undefined;
    try {
      [sender, receiver] = await Promise.all([connectSocket(from.url, token(this.probe.buyer)), connectSocket(to.url, token(this.probe.seller))]);
      this.probeSockets.push(sender, receiver);
      const clientId = randomUUID();
      const arrived = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 1_000);
        receiver!.on("message:new", (m) => {
          if (m.clientId !== clientId) return;
          clearTimeout(timer);
          resolve(true);
        });
      });
      const ack = await emitAck<{ ok: boolean }>(sender, "message:send", { conversationId: this.probe.id, clientId, content: "probe" });
      return ack.ok && (await arrived);
    } catch {
      return false;
    } finally {
      sender?.close();
      receiver?.close();
    }
  }

  /** All stored messages of a conversation, paged by seq through nginx. */
  async stored(c: Conversation): Promise<MessageView[]> {
    const all: MessageView[] = [];
    for (let after = 0; ; ) {
      const path = `/api/conversations/${c.id}/messages?after=${after}&limit=100`;
      const page = (await this.http("GET", path, token(c.buyer.client.userId!))) as { items: MessageView[] };
      all.push(...page.items);
      if (page.items.length < 100) return all;
      after = all.at(-1)!.seq;
    }
  }

  /**
   * The problems found in the stored messages and in what every client and socket saw, after a
   * last catch-up of every client (empty when all is well).
   */
  async problems(): Promise<string[]> {
    const problems: string[] = [];
    for (const c of this.conversations) {
      const stored = await this.stored(c);
      const byClientId = new Map(stored.map((m) => [m.clientId, m.seq]));
      const missing = [...c.acked].filter(([clientId, seq]) => byClientId.get(clientId) !== seq);
      if (missing.length) problems.push(`${c.id}: ${missing.length} acknowledged messages missing or at another seq`);
      if (byClientId.size !== stored.length) problems.push(`${c.id}: ${stored.length - byClientId.size} clientIds stored twice`);
      const gaps = stored.filter((m, i) => m.seq !== i + 1);
      if (gaps.length) problems.push(`${c.id}: seq not 1..${stored.length} (first off: ${gaps[0]!.seq})`);
      for (const [role, party] of [["buyer", c.buyer], ["seller", c.seller]] as const) {
        await party.client.follow(c.id);
        const ids = party.got.map((m) => m.id);
        if (ids.length !== stored.length || ids.some((id, i) => id !== stored[i]!.id)) {
          problems.push(`${c.id} ${role}: has ${ids.length} of ${stored.length} messages, or not once each in seq order`);
        }
        const doubled = [...party.live.values()].filter((n) => n > 1).length;
        if (doubled) problems.push(`${c.id} ${role}: ${doubled} messages arrived live twice`);
      }
    }
    return problems;
  }
}

/**
 * DEBUG SLEEP (the stall scenario) is refused from Redis 7 on unless enabled; Redis 6 allows it
 * and would refuse the option itself.
 */
function debugCommandArgs(): string[] {
  const version = /v=(\d+)\./.exec(spawnSync("redis-server", ["--version"], { encoding: "utf8" }).stdout)?.[1];
  return Number(version) >= 7 ? ["--enable-debug-command", "yes"] : [];
}

/** The machine the figures come from (as the benchmark reports write it). */
export function machine() {
  return {
    loadAverage: Number(loadavg()[0]!.toFixed(2)),
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    os: `${type()} ${release()}`,
    node: process.version,
  };
}
