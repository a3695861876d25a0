// One suite for every presence backend (the socket.io adapters' testSuite(createAdapter) idea),
// run against the in-memory store and against real Redis; then what only several nodes can show:
// a node that stops proving itself alive loses its users, a node taken for dead gets them back.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalPresenceStore } from "../src/cluster/local-presence-store.js";
import type { PresenceStore, WentOffline } from "../src/cluster/presence-store.js";
import { RedisPresenceStore } from "../src/cluster/redis-presence-store.js";
import type { RedisClient } from "../src/cluster/redis.js";
import { deleteTestKeys, testRedis, uniqueName } from "./support/env.js";

let redis: RedisClient;
const prefix = uniqueName("mctest");

beforeAll(() => {
  redis = testRedis();
});
afterAll(async () => {
  await deleteTestKeys(redis, `${prefix}:*`);
  await redis.quit();
});

interface Backend {
  name: string;
  /** A fresh cluster: its stores share state with each other and with nothing else. */
  cluster(): { node(options?: { ttlMs?: number; graceMs?: number }): PresenceStore };
}

const backends: Backend[] = [
  {
    name: "local",
    cluster() {
      const store = new LocalPresenceStore();
      return { node: () => store };
    },
  },
  {
    name: "redis",
    cluster() {
      const clusterPrefix = `${prefix}:${Math.random().toString(36).slice(2, 8)}`;
      let n = 0;
      return {
        node: (options = {}) =>
          new RedisPresenceStore(redis, {
            prefix: clusterPrefix,
            nodeId: `node-${++n}`,
            ttlMs: options.ttlMs ?? 10_000,
            graceMs: options.graceMs ?? 0,
          }),
      };
    },
  },
];

describe.each(backends)("presence store contract: $name", (backend) => {
  it("is online from the first attach until the detach that leaves no node holding the user", async () => {
    const store = backend.cluster().node();
    expect(await store.attach("ada")).toBe(true);
    expect(await store.attach("bob")).toBe(true);
    const status = await store.status(["ada", "bob", "nobody"]);
    expect(status.get("ada")).toEqual({ online: true, lastSeenAt: null });
    expect(status.get("nobody")).toEqual({ online: false, lastSeenAt: null });

    const seen = new Date(Date.now() - 1234);
    expect(await store.detach("ada", seen)).toBe(true);
    expect((await store.status(["ada"])).get("ada")).toEqual({ online: false, lastSeenAt: seen });
    expect((await store.status(["bob"])).get("bob")!.online).toBe(true);
    // A second detach changes nothing and announces nothing.
    expect(await store.detach("ada", new Date())).toBe(false);
    expect((await store.status(["ada"])).get("ada")!.lastSeenAt).toEqual(seen);
  });

  it("comes online again after a detach and keeps the last seen time meanwhile", async () => {
    const store = backend.cluster().node();
    await store.attach("cy");
    const seen = new Date(Date.now() - 60_000);
    await store.detach("cy", seen);
    expect(await store.attach("cy")).toBe(true);
    expect((await store.status(["cy"])).get("cy")).toEqual({ online: true, lastSeenAt: seen });
  });

  it("answers an empty status and a sweep with nothing to do", async () => {
    const store = backend.cluster().node();
    expect((await store.status([])).size).toBe(0);
    expect(await store.sweep()).toEqual({ cameOnline: [], wentOffline: [] });
  });

  it("treats user ids as opaque text (colons, braces, unicode)", async () => {
    const store = backend.cluster().node();
    const odd = ["a:b", "{x}", "ünï", "n:node-1"];
    for (const id of odd) expect(await store.attach(id)).toBe(true);
    const status = await store.status(odd);
    expect(odd.map((id) => status.get(id)!.online)).toEqual([true, true, true, true]);
    for (const id of odd) expect(await store.detach(id, new Date())).toBe(true);
  });
});

describe("redis presence across nodes", () => {
  const cluster = () => backends[1]!.cluster();

  /** Sweeps `store` until `userId` is released (or the poll times out), collecting what it saw. */
  async function sweepUntilOffline(store: PresenceStore, userId: string, seen: WentOffline[] = []) {
    await expect
      .poll(async () => {
        seen.push(...(await store.sweep()).wentOffline);
        return seen.map((w) => w.userId);
      }, { timeout: 5000, interval: 50 })
      .toContain(userId);
    return seen;
  }

  it("is online while any node holds the user; only the last detach announces offline", async () => {
    const c = cluster();
    const a = c.node();
    const b = c.node();
    expect(await a.attach("dee")).toBe(true);
    expect(await b.attach("dee")).toBe(false);
    expect(await a.detach("dee", new Date())).toBe(false);
    expect((await b.status(["dee"])).get("dee")!.online).toBe(true);
    expect(await b.detach("dee", new Date())).toBe(true);
    expect((await a.status(["dee"])).get("dee")!.online).toBe(false);
  });

  it("releases the users of a node that stops sweeping (killed), once, with its last sign of life as last seen", async () => {
    const c = cluster();
    const dying = c.node({ ttlMs: 300 });
    const survivor = c.node();
    const other = c.node();
    const before = Date.now();
    await dying.attach("eve");
    await dying.attach("fay");
    await survivor.attach("fay");
    // `dying` never sweeps again: its deadline passes and the next sweep of another node takes over.
    const seen = await sweepUntilOffline(survivor, "eve");
    expect(seen.map((w) => w.userId)).toEqual(["eve"]);
    expect(seen[0]!.lastSeenAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(seen[0]!.lastSeenAt.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    const status = await other.status(["eve", "fay"]);
    expect(status.get("eve")).toEqual({ online: false, lastSeenAt: seen[0]!.lastSeenAt });
    expect(status.get("fay")!.online).toBe(true);
    // Nobody announces eve twice.
    expect((await other.sweep()).wentOffline).toEqual([]);
    expect((await survivor.sweep()).wentOffline).toEqual([]);
  });

  it("reports the latest sign of the user as last seen: a detach elsewhere after the dead node's last beat", async () => {
    const c = cluster();
    const dying = c.node({ ttlMs: 300 });
    const survivor = c.node();
    await dying.attach("lee");
    await survivor.attach("lee");
    const later = new Date(Date.now() + 60_000);
    expect(await survivor.detach("lee", later)).toBe(false);
    const seen = await sweepUntilOffline(survivor, "lee");
    expect(seen).toEqual([{ userId: "lee", lastSeenAt: later }]);
  });

  it("a node taken for dead while alive (frozen, cut off) puts its users back on its next sweep", async () => {
    const c = cluster();
    const frozen = c.node({ ttlMs: 300 });
    const sweeper = c.node();
    await frozen.attach("gus");
    await sweepUntilOffline(sweeper, "gus");
    expect((await sweeper.status(["gus"])).get("gus")!.online).toBe(false);
    expect(await frozen.sweep()).toEqual({ cameOnline: ["gus"], wentOffline: [] });
    expect((await sweeper.status(["gus"])).get("gus")!.online).toBe(true);
    // And its later detach is the one that counts.
    expect(await frozen.detach("gus", new Date())).toBe(true);
  });

  it("an attach on a node that was taken for dead re-registers it and resyncs its other users", async () => {
    const c = cluster();
    const frozen = c.node({ ttlMs: 300 });
    const sweeper = c.node();
    await frozen.attach("hal");
    await sweepUntilOffline(sweeper, "hal");
    expect(await frozen.attach("ivy")).toBe(true);
    expect((await frozen.sweep()).cameOnline).toEqual(["hal"]);
    const status = await sweeper.status(["hal", "ivy"]);
    expect([status.get("hal")!.online, status.get("ivy")!.online]).toEqual([true, true]);
  });

  it("after a clean close the users stay online for the grace period, then the next sweep elsewhere releases them", async () => {
    const c = cluster();
    const leaving = c.node({ graceMs: 300 });
    const staying = c.node();
    await leaving.attach("jo");
    await leaving.attach("kim");
    await staying.attach("kim");
    expect(await leaving.close()).toEqual([]);
    expect((await staying.status(["jo"])).get("jo")!.online).toBe(true);
    const seen = await sweepUntilOffline(staying, "jo");
    expect(seen.map((w) => w.userId)).toEqual(["jo"]);
    expect((await staying.status(["kim"])).get("kim")!.online).toBe(true);
  });

  it("releases a dead node with thousands of users in one sweep, in bounded batches", async () => {
    const c = cluster();
    const big = c.node({ ttlMs: 300 });
    const sweeper = c.node();
    const users = Array.from({ length: 2500 }, (_, i) => `bulk-${i}`);
    for (let i = 0; i < users.length; i += 100) await Promise.all(users.slice(i, i + 100).map((u) => big.attach(u)));
    let released: WentOffline[] = [];
    await expect
      .poll(async () => {
        released = (await sweeper.sweep()).wentOffline;
        return released.length;
      }, { timeout: 5000, interval: 50 })
      .toBeGreaterThan(0);
    expect(new Set(released.map((w) => w.userId))).toEqual(new Set(users));
    const status = await sweeper.status(users.slice(0, 100));
    expect([...status.values()].some((s) => s.online)).toBe(false);
  });
});
