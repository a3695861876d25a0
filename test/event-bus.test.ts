// One suite for every event bus backend (the socket.io adapters' testSuite(createAdapter) idea),
// run against the in-memory bus and the Redis bus (sharded per-user channels, on REDIS_URL, or on
// the private cluster in the redis-cluster project); then what only Redis can show: several nodes
// each receiving only their users' copies, batched subscriptions under churn, and subscriptions
// restored after Redis is killed and started again.
import { Cluster } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { EVERY_NODE, type EventBus } from "../src/cluster/event-bus.js";
import { LocalEventBus } from "../src/cluster/local-event-bus.js";
import { RedisEventBus } from "../src/cluster/redis-event-bus.js";
import { connectRedis, type RedisConnections, type RedisTarget } from "../src/cluster/redis.js";
import { createTestEnv, startApp } from "./support/app.js";
import { REDIS_CLUSTER_NODES, REDIS_TARGET, uniqueName } from "./support/env.js";
import { startRedisServer } from "./support/redis-server.js";

interface Ev {
  from: string;
  n: number;
}

interface Received {
  event: Ev;
  target: string | null;
}

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

/** A Redis bus node with its own connections, closed at the end. */
function redisNode(prefix: string, target: RedisTarget = REDIS_TARGET): { bus: RedisEventBus<Ev>; redis: RedisConnections } {
  const redis = connectRedis(target, () => undefined);
  const bus = new RedisEventBus<Ev>(redis.publisher, redis.subscribers, { prefix, onError: () => undefined });
  closers.push(async () => {
    await bus.close();
    await redis.close();
  });
  return { bus, redis };
}

function listen(bus: EventBus<Ev>): Received[] {
  const seen: Received[] = [];
  bus.subscribe((event, target) => seen.push({ event, target }));
  return seen;
}

/** Waits until the bus no longer listens to `target` (Redis: the shard counts no subscriber). */
async function expectLeft(bus: EventBus<Ev>, target: string): Promise<void> {
  if (bus instanceof RedisEventBus) {
    const { redis, prefix } = busInternals.get(bus)!;
    await expect.poll(() => shardSubscribers(redis, `${prefix}:u:${target}`)).toBe(0);
  }
}

const busInternals = new WeakMap<RedisEventBus<Ev>, { redis: RedisConnections; prefix: string }>();

/** Subscribers of a sharded channel (asked of every master: only the channel's shard counts them). */
async function shardSubscribers(redis: RedisConnections, channel: string): Promise<number> {
  const nodes = redis.command instanceof Cluster ? redis.command.nodes("master") : [redis.command];
  let total = 0;
  for (const node of nodes) total += Number(((await node.call("PUBSUB", "SHARDNUMSUB", channel)) as [string, number])[1]);
  return total;
}

function trackedRedisNode(prefix: string, target: RedisTarget = REDIS_TARGET) {
  const node = redisNode(prefix, target);
  busInternals.set(node.bus, { redis: node.redis, prefix });
  return node;
}

const backends: { name: string; node(): EventBus<Ev> }[] = [
  { name: "local", node: () => new LocalEventBus<Ev>() },
  { name: "redis", node: () => trackedRedisNode(uniqueName("bustest")).bus },
];

describe.each(backends)("event bus contract: $name", (backend) => {
  it("delivers each copy of a joined target once, in publish order, with concurrent publishers", async () => {
    const bus = backend.node();
    const seen = listen(bus);
    await bus.join("ada");
    const publisher = async (from: string) => {
      for (let n = 1; n <= 150; n++) await bus.publish({ from, n }, ["ada"]);
    };
    await Promise.all([publisher("p1"), publisher("p2")]);
    await expect.poll(() => seen.length).toBe(300);
    for (const from of ["p1", "p2"]) {
      const ns = seen.filter((r) => r.event.from === from).map((r) => r.event.n);
      expect(ns).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    }
    expect(seen.every((r) => r.target === "ada")).toBe(true);
  });

  it("the publishing node gets its own copies; only for targets it joined; every-node events always", async () => {
    const bus = backend.node();
    const seen = listen(bus);
    await bus.join("ada");
    await bus.publish({ from: "me", n: 1 }, ["ada", "bob"]);
    await bus.publish({ from: "me", n: 2 }, ["bob"]);
    await bus.publish({ from: "me", n: 3 }, EVERY_NODE);
    await expect.poll(() => seen.length).toBe(2);
    expect(seen).toEqual([
      { event: { from: "me", n: 1 }, target: "ada" },
      { event: { from: "me", n: 3 }, target: null },
    ]);
  });

  it("an event for two joined targets arrives once per target (each copy for its own target's sockets)", async () => {
    const bus = backend.node();
    const seen = listen(bus);
    await Promise.all([bus.join("ada"), bus.join("bob")]);
    for (let n = 1; n <= 20; n++) await bus.publish({ from: "x", n }, ["ada", "bob", "ada"]);
    await expect.poll(() => seen.length).toBe(40);
    for (const target of ["ada", "bob"]) {
      expect(seen.filter((r) => r.target === target).map((r) => r.event.n)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    }
  });

  it("counts joins: a target is left only when its last join is", async () => {
    const bus = backend.node();
    const seen = listen(bus);
    await bus.join("cy");
    await bus.join("cy");
    bus.leave("cy");
    await bus.publish({ from: "x", n: 1 }, ["cy"]);
    await expect.poll(() => seen.length).toBe(1);
    bus.leave("cy");
    bus.leave("cy"); // one leave too many changes nothing
    // A copy published after the last leave is not delivered; a copy for a joined target
    // published after it is: once that one is in, the first would have been too.
    await bus.join("marker");
    await expectLeft(bus, "cy");
    await bus.publish({ from: "x", n: 2 }, ["cy"]);
    await bus.publish({ from: "x", n: 3 }, ["marker"]);
    await expect.poll(() => seen.length).toBe(2);
    expect(seen[1]).toEqual({ event: { from: "x", n: 3 }, target: "marker" });
  });
});

describe("redis bus: several nodes", () => {
  it("each node receives only the copies of the users it holds, in order; a node with none receives nothing", async () => {
    const prefix = uniqueName("busnodes");
    const [a, b, idle] = [trackedRedisNode(prefix), trackedRedisNode(prefix), trackedRedisNode(prefix)];
    const [seenA, seenB, seenIdle] = [listen(a.bus), listen(b.bus), listen(idle.bus)];
    await a.bus.join("ada");
    await b.bus.join("bob");
    for (let n = 1; n <= 100; n++) await (n % 2 ? a : b).bus.publish({ from: "conv", n }, ["ada", "bob"]);
    await expect.poll(() => seenA.length + seenB.length).toBe(200);
    expect(seenA.map((r) => `${r.target}:${r.event.n}`)).toEqual(Array.from({ length: 100 }, (_, i) => `ada:${i + 1}`));
    expect(seenB.map((r) => `${r.target}:${r.event.n}`)).toEqual(Array.from({ length: 100 }, (_, i) => `bob:${i + 1}`));
    await a.bus.publish({ from: "all", n: 1 }, EVERY_NODE);
    await expect.poll(() => seenIdle.length).toBe(1);
    expect(seenIdle).toEqual([{ event: { from: "all", n: 1 }, target: null }]);
  });

  it("the copies of one event cost one SPUBLISH per target and nothing else", async () => {
    const { bus, redis } = trackedRedisNode(uniqueName("buscost"));
    await bus.publish({ from: "warm", n: 0 }, ["x"]);
    const before = redis.commandCounts().publisher;
    for (let n = 1; n <= 10; n++) await bus.publish({ from: "x", n }, ["ada", "bob"]);
    const after = redis.commandCounts().publisher;
    const sent = Object.fromEntries(Object.entries(after).map(([name, n]) => [name, n - (before[name] ?? 0)]).filter(([, n]) => n !== 0));
    expect(sent).toEqual({ spublish: 20 });
  });

  it("churn: thousands of joins and leaves end with exactly the held users subscribed, in batched commands", async () => {
    const prefix = uniqueName("buschurn");
    const { bus, redis } = trackedRedisNode(prefix);
    const seen = listen(bus);
    const users = Array.from({ length: 300 }, (_, i) => `u${i}`);
    const held = new Map<string, number>();
    /** Channels whose subscribed state differs from one turn to the next: what Redis must be told. */
    let changes = 0;
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    // 20 rounds of 200 random connects and disconnects, each round in one event-loop turn.
    for (let round = 0; round < 20; round++) {
      const before = new Set(held.keys());
      const joins: Promise<void>[] = [];
      for (let i = 0; i < 200; i++) {
        const user = users[Math.floor(random() * users.length)]!;
        const n = held.get(user) ?? 0;
        if (n > 0 && random() < 0.5) {
          bus.leave(user);
          if (n === 1) held.delete(user);
          else held.set(user, n - 1);
        } else {
          joins.push(bus.join(user));
          held.set(user, n + 1);
        }
      }
      changes += users.filter((u) => before.has(u) !== held.has(u)).length;
      await Promise.all(joins);
    }
    const expected = users.filter((u) => held.has(u));
    await expect.poll(async () => {
      const counts = await Promise.all(users.map((u) => shardSubscribers(redis, `${prefix}:u:${u}`)));
      return users.filter((_, i) => counts[i]! > 0);
    }).toEqual(expected);
    expect(bus.joinedCount).toBe(expected.length);
    // Batched per event-loop turn: a join and a leave of one turn cancel out, so Redis hears only
    // the net changes; one Redis takes them in one command per turn and direction (up to 500
    // channels each), a cluster in one command per slot (a sharded command names one slot).
    const sub = redis.commandCounts().subscriber;
    const commands = (sub.ssubscribe ?? 0) + (sub.sunsubscribe ?? 0);
    expect(commands).toBeLessThanOrEqual(changes + 1);
    if (!REDIS_CLUSTER_NODES) expect(commands).toBeLessThanOrEqual(2 * 20 + 1);
    // And the held users' copies flow, each once.
    await Promise.all(expected.map((user) => bus.publish({ from: user, n: 1 }, [user])));
    await expect.poll(() => seen.length).toBe(expected.length);
    expect(new Set(seen.map((r) => r.target)).size).toBe(expected.length);
  });
});

describe("redis bus: Redis killed and started again", () => {
  it("reports unhealthy while down, resubscribes every held user when Redis is back, then delivers again", async () => {
    const server = await startRedisServer();
    closers.push(() => server.stop());
    const { bus } = redisNode(uniqueName("busrestart"), { url: server.url });
    const seen = listen(bus);
    const users = Array.from({ length: 1200 }, (_, i) => `r${i}`);
    await Promise.all(users.map((u) => bus.join(u)));
    await expect.poll(() => bus.health()).toEqual({ ok: true });

    await server.kill();
    await expect.poll(() => bus.health().ok).toBe(false);
    expect(bus.health().reason).toMatch(/down/);
    // Users come and go during the outage: only those still held must come back.
    bus.leave("r0");
    await bus.join("late");
    await server.start();
    await expect.poll(() => bus.health().ok, { timeout: 20_000 }).toBe(true);

    const expected = [...users.slice(1), "late"];
    await Promise.all(expected.map((user) => bus.publish({ from: user, n: 1 }, [user])));
    await bus.publish({ from: "gone", n: 1 }, ["r0"]);
    await bus.publish({ from: "all", n: 1 }, EVERY_NODE);
    await expect.poll(() => seen.length).toBe(expected.length + 1);
    expect(seen.map((r) => r.target).sort()).toEqual([...expected, null].sort());
  }, 90_000);

  it("/readyz says not ready while the node's subscriber connection is down, ready once restored", async () => {
    const server = await startRedisServer();
    closers.push(() => server.stop());
    const env = await createTestEnv();
    closers.push(() => env.close());
    const { app } = await startApp(env, { REDIS_URL: server.url });
    closers.push(() => app.close());
    const ready = async () => (await app.inject({ method: "GET", url: "/readyz" })).statusCode;
    await expect.poll(ready).toBe(200);
    await server.kill();
    await expect.poll(ready).toBe(503);
    const body = (await app.inject({ method: "GET", url: "/readyz" })).json();
    expect(body.error.message).toMatch(/event subscriptions/);
    await server.start();
    await expect.poll(ready, { timeout: 20_000 }).toBe(200);
  }, 90_000);
});
