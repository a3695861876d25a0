// The sharded pub/sub channels this node listens to (SSUBSCRIBE, Redis 7). A sharded channel
// lives on the shard that owns its slot, so a subscription must be made on that shard's master:
// a topology says which connection serves a channel (one connection for one Redis, one per master
// for a cluster). Subscriptions are kept in step with what the node wants, in batches (every
// change of one event-loop turn leaves together, one command per connection and slot), and are
// restored by this module, not by ioredis, after a reconnect or a topology change, so readiness
// can tell when they are all back.
import calculateSlot from "cluster-key-slot";
import type { Cluster, Redis } from "ioredis";

export interface SubscriberTopology {
  /** The connection serving the channel's slot; null while the topology is unknown. */
  connectionFor(channel: string): Redis | null;
  /** Channels of one group may share one SSUBSCRIBE (a cluster accepts one slot per command). */
  groupOf(channel: string): number;
  /** Every subscriber connection in use. */
  connections(): readonly Redis[];
  /** Called after connections were added or removed, or slots moved. */
  onChange(listener: () => void): void;
  /** Why the topology cannot serve yet, or null. */
  problem(): string | null;
  close(): Promise<void>;
}

/** One Redis: one subscriber connection serves every channel. */
export class SingleTopology implements SubscriberTopology {
  constructor(private readonly conn: Redis) {}

  connectionFor(): Redis {
    return this.conn;
  }

  groupOf(): number {
    return 0;
  }

  connections(): readonly Redis[] {
    return [this.conn];
  }

  onChange(): void {}

  problem(): string | null {
    return null;
  }

  async close(): Promise<void> {
    // Closed with the other connections (redis.ts).
  }
}

/**
 * A Redis Cluster: one subscriber connection per master, following the cluster client's slot map
 * (ioredis refreshes it on MOVED replies, failovers and every few seconds, and says "refresh").
 */
export class ClusterTopology implements SubscriberTopology {
  private slots: string[] = [];
  private readonly conns = new Map<string, Redis>();
  private readonly listeners: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly connect: (host: string, port: number) => Redis,
  ) {
    cluster.on("refresh", () => this.rebuild());
    cluster.on("ready", () => this.rebuild());
  }

  connectionFor(channel: string): Redis | null {
    const master = this.slots[calculateSlot(channel)];
    return master === undefined ? null : (this.conns.get(master) ?? null);
  }

  groupOf(channel: string): number {
    return calculateSlot(channel);
  }

  connections(): readonly Redis[] {
    return [...this.conns.values()];
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  problem(): string | null {
    return this.slots.length === 0 ? "cluster slots unknown" : null;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const conn of this.conns.values()) conn.disconnect();
    this.conns.clear();
  }

  private rebuild(): void {
    if (this.closed) return;
    const slots = this.cluster.slots.map((nodes) => nodes[0]!);
    if (slots.length === 0) return;
    const changed = slots.length !== this.slots.length || slots.some((node, i) => node !== this.slots[i]);
    if (!changed) return;
    this.slots = slots;
    const masters = new Set(slots);
    for (const [key, conn] of this.conns) {
      if (masters.has(key)) continue;
      conn.disconnect();
      this.conns.delete(key);
    }
    for (const key of masters) {
      if (this.conns.has(key)) continue;
      const at = key.lastIndexOf(":");
      this.conns.set(key, this.connect(key.slice(0, at), Number(key.slice(at + 1))));
    }
    for (const listener of this.listeners) listener();
  }
}

export interface ShardedSubscriptionsOptions {
  /** Channels per SSUBSCRIBE / SUNSUBSCRIBE. @default 500 */
  batchSize?: number;
  /** Wait before retrying subscriptions Redis refused. @default 1000 */
  retryMs?: number;
  onError?: (err: Error) => void;
}

interface Placement {
  conn: Redis;
  /** Tells a stale reply (a command sent before a later unsubscribe/subscribe) from the current one. */
  id: number;
  confirmed: boolean;
}

export class ShardedSubscriptions {
  /** Channels this node wants. */
  private readonly wanted = new Set<string>();
  /** Channels an SSUBSCRIBE was sent for, on the connection that serves them (and not undone since). */
  private readonly placed = new Map<string, Placement>();
  /** join() calls waiting for their channel's SSUBSCRIBE to be answered. */
  private readonly waiters = new Map<string, (() => void)[]>();
  private readonly dirty = new Set<string>();
  /** Connections whose subscriptions are being restored after a (re)connect. */
  private readonly restoring = new Set<Redis>();
  /** Bumped when a connection is lost: replies to commands sent before are ignored. */
  private readonly generation = new WeakMap<Redis, number>();
  private readonly wired = new WeakSet<Redis>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private flushPending: NodeJS.Immediate | null = null;
  private nextId = 0;
  private closed = false;
  private readonly batchSize: number;
  private readonly retryMs: number;

  constructor(
    private readonly topology: SubscriberTopology,
    private readonly onMessage: (channel: string, message: string) => void,
    private readonly options: ShardedSubscriptionsOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.retryMs = options.retryMs ?? 1000;
    topology.onChange(() => this.replace());
    this.replace();
  }

  /** Resolves once the channel's messages flow (or at once when its connection was lost). */
  want(channel: string): Promise<void> {
    if (!this.wanted.has(channel)) {
      this.wanted.add(channel);
      this.markDirty(channel);
    }
    if (this.placed.get(channel)?.confirmed) return Promise.resolve();
    // Lost and reconnecting: a handshake is not held up for it (restore() brings the channel
    // back with the connection). Still connecting for the first time: wait.
    const conn = this.topology.connectionFor(channel);
    if (conn && DOWN.has(conn.status)) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.waiters.get(channel);
      if (list) list.push(resolve);
      else this.waiters.set(channel, [resolve]);
    });
  }

  unwant(channel: string): void {
    if (!this.wanted.delete(channel)) return;
    this.markDirty(channel);
    this.release(channel);
  }

  /** Channels wanted. */
  get size(): number {
    return this.wanted.size;
  }

  /** Channels whose SSUBSCRIBE Redis has answered on the connection now serving them. */
  get confirmedCount(): number {
    let n = 0;
    for (const p of this.placed.values()) if (p.confirmed) n++;
    return n;
  }

  /** null when every subscriber connection is up and restored; else what is wrong. */
  problem(): string | null {
    const topologyProblem = this.topology.problem();
    if (topologyProblem) return topologyProblem;
    const conns = this.topology.connections();
    const down = conns.filter((c) => c.status !== "ready").length;
    if (down > 0) return `${down} of ${conns.length} subscriber connections down`;
    const restoring = conns.filter((c) => this.restoring.has(c)).length;
    if (restoring > 0) return `restoring subscriptions on ${restoring} of ${conns.length} connections`;
    return null;
  }

  close(): void {
    this.closed = true;
    if (this.flushPending) clearImmediate(this.flushPending);
    for (const timer of this.timers) clearTimeout(timer);
    for (const channel of [...this.waiters.keys()]) this.release(channel);
  }

  private markDirty(channel: string): void {
    this.dirty.add(channel);
    if (!this.flushPending && !this.closed) this.flushPending = setImmediate(() => this.flush());
  }

  /** Sends what changed since the last flush: net of subscribe-then-unsubscribe within one turn. */
  private flush(): void {
    this.flushPending = null;
    const subscribe: Batches = new Map();
    const unsubscribe: Batches = new Map();
    for (const channel of this.dirty) {
      const current = this.placed.get(channel);
      const conn = this.wanted.has(channel) ? this.topology.connectionFor(channel) : null;
      if (current && current.conn === conn) continue;
      if (current) {
        this.placed.delete(channel);
        if (current.conn.status === "ready") addTo(unsubscribe, current.conn, this.topology.groupOf(channel), channel);
      }
      // A connection that is down gets the channel when it is back (restore()).
      if (conn && conn.status === "ready") addTo(subscribe, conn, this.topology.groupOf(channel), channel);
    }
    this.dirty.clear();
    for (const [conn, groups] of unsubscribe) {
      for (const channels of groups.values()) {
        for (const chunk of chunks(channels, this.batchSize)) conn.sunsubscribe(...chunk).catch((err: Error) => this.options.onError?.(err));
      }
    }
    for (const [conn, groups] of subscribe) {
      for (const channels of groups.values()) {
        for (const chunk of chunks(channels, this.batchSize)) void this.subscribe(conn, chunk);
      }
    }
  }

  /** One SSUBSCRIBE; resolves true when Redis answered it (and it still counts). */
  private async subscribe(conn: Redis, channels: string[]): Promise<boolean> {
    const generation = this.generation.get(conn) ?? 0;
    const placements = channels.map((channel) => {
      const placement = { conn, id: ++this.nextId, confirmed: false };
      this.placed.set(channel, placement);
      return placement;
    });
    try {
      await conn.ssubscribe(...channels);
    } catch (err) {
      if ((this.generation.get(conn) ?? 0) !== generation || this.closed) return false;
      this.options.onError?.(err as Error);
      // Refused (not a lost connection, which restore() handles): try these again shortly.
      channels.forEach((channel, i) => {
        if (this.placed.get(channel) === placements[i]) this.placed.delete(channel);
        this.release(channel);
      });
      this.later(() => channels.forEach((channel) => this.markDirty(channel)));
      return false;
    }
    if ((this.generation.get(conn) ?? 0) !== generation) return false;
    channels.forEach((channel, i) => {
      if (this.placed.get(channel) !== placements[i]) return;
      placements[i]!.confirmed = true;
      this.release(channel);
    });
    return true;
  }

  /** Puts back, in batches, every wanted channel this connection serves; readiness waits for it. */
  private async restore(conn: Redis): Promise<void> {
    if (this.closed || conn.status !== "ready") return;
    const generation = this.generation.get(conn) ?? 0;
    this.restoring.add(conn);
    const groups = new Map<number, string[]>();
    for (const channel of this.wanted) {
      if (this.placed.has(channel) || this.topology.connectionFor(channel) !== conn) continue;
      const group = this.topology.groupOf(channel);
      const list = groups.get(group);
      if (list) list.push(channel);
      else groups.set(group, [channel]);
    }
    const sent: Promise<boolean>[] = [];
    for (const channels of groups.values()) for (const chunk of chunks(channels, this.batchSize)) sent.push(this.subscribe(conn, chunk));
    const results = await Promise.all(sent);
    if ((this.generation.get(conn) ?? 0) !== generation) return;
    if (results.every(Boolean)) this.restoring.delete(conn);
    // Some were refused: stay "restoring" and go again.
    else this.later(() => void this.restore(conn));
  }

  private lost(conn: Redis): void {
    this.generation.set(conn, (this.generation.get(conn) ?? 0) + 1);
    this.restoring.delete(conn);
    for (const [channel, placement] of this.placed) {
      if (placement.conn !== conn) continue;
      this.placed.delete(channel);
      this.release(channel);
    }
  }

  /** Connections came or went, or slots moved: wire new connections and move channels. */
  private replace(): void {
    const live = new Set(this.topology.connections());
    for (const conn of live) {
      if (this.wired.has(conn)) continue;
      this.wired.add(conn);
      conn.on("smessage", (channel: string, message: string) => {
        if (this.wanted.has(channel)) this.onMessage(channel, message);
      });
      conn.on("close", () => this.lost(conn));
      conn.on("ready", () => void this.restore(conn));
      if (conn.status === "ready") void this.restore(conn);
    }
    for (const [channel, placement] of this.placed) {
      if (!live.has(placement.conn)) {
        this.lost(placement.conn);
        this.markDirty(channel);
      } else if (this.topology.connectionFor(channel) !== placement.conn) this.markDirty(channel);
    }
    for (const channel of this.wanted) if (!this.placed.has(channel)) this.markDirty(channel);
  }

  private release(channel: string): void {
    const list = this.waiters.get(channel);
    if (!list) return;
    this.waiters.delete(channel);
    for (const resolve of list) resolve();
  }

  private later(fn: () => void): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) fn();
    }, this.retryMs);
    this.timers.add(timer);
  }
}

const DOWN = new Set(["reconnecting", "close", "end"]);

type Batches = Map<Redis, Map<number, string[]>>;

function addTo(batches: Batches, conn: Redis, group: number, channel: string): void {
  let groups = batches.get(conn);
  if (!groups) batches.set(conn, (groups = new Map()));
  const list = groups.get(group);
  if (list) list.push(channel);
  else groups.set(group, [channel]);
}

function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
