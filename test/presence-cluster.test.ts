// Presence with real server processes sharing PostgreSQL and Redis: sockets on several nodes, a
// node killed with SIGKILL (no disconnects, no goodbye), a node stopped cleanly during a deploy.

import pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { nextEvent, record, type TestEnv } from "./support/app.js";
import type { NodeProcess } from "./support/cluster.js";
import { useTwoNodes } from "./support/two-nodes.js";
import { token } from "./support/tokens.js";

/** Short bounds so the test runs in seconds; the defaults are measured by the presence benchmark. */
const NODE_ENV = { PRESENCE_TTL_MS: "2000", PRESENCE_GRACE_MS: "500" };

const cluster = useTwoNodes(NODE_ENV);
const http = cluster.http;
let env: TestEnv;
let a: NodeProcess;
let b: NodeProcess;
beforeAll(() => {
  ({ env, a, b } = cluster);
});

/** A buyer and a seller who share a conversation with a message: contacts. */
async function contacts(tag: string) {
  const { buyer, seller, id } = await cluster.conversation(tag, { firstMessage: true });
  return { buyer, seller, conversationId: id };
}

const socket = (node: NodeProcess, user: string) => cluster.socket(node, user);

async function presenceVia(node: NodeProcess, viewer: string, userId: string) {
  const res = await http(node, "GET", `/api/presence?userIds=${encodeURIComponent(userId)}`, token(viewer));
  expect(res.status).toBe(200);
  return res.body[0] as { userId: string; online: boolean; lastSeenAt: string | null };
}

type Offline = { userId: string; lastSeenAt: string };

describe("presence across nodes", () => {
  it("online while any socket is connected on any node; every contact socket on every node told once", async () => {
    const c = await contacts("multi");
    const sellers = [await socket(a, c.seller), await socket(b, c.seller)];
    const onlines = sellers.map((s) => record<{ userId: string }>(s, "user:online"));
    const offlines = sellers.map((s) => record<Offline>(s, "user:offline"));

    const onB = await socket(b, c.buyer);
    for (const got of onlines) await expect.poll(() => got.length).toBe(1);
    const onA = await socket(a, c.buyer);
    expect((await presenceVia(a, c.seller, c.buyer)).online).toBe(true);

    onB.close();
    const offline = nextEvent<Offline>(sellers[0]!, "user:offline");
    // Still online through node a, whichever node answers.
    await expect.poll(async () => (await presenceVia(b, c.seller, c.buyer)).online).toBe(true);
    onA.close();
    const gone = await offline;
    for (const got of offlines) await expect.poll(() => got).toEqual([gone]);
    for (const got of onlines) expect(got).toEqual([{ userId: c.buyer }]);
    expect(await presenceVia(b, c.seller, c.buyer)).toEqual({ userId: c.buyer, online: false, lastSeenAt: gone.lastSeenAt });
  });

  it("a SIGKILLed node's users go offline within the TTL bound; users also connected elsewhere stay online", async () => {
    const doomed = await cluster.startNode("node-doomed");
    const only = await contacts("killed-only");
    const both = await contacts("killed-both");
    const sellerOnly = await socket(a, only.seller);
    const sellerBoth = await socket(b, both.seller);
    const bothOffline = record<Offline>(sellerBoth, "user:offline");

    const online = nextEvent(sellerOnly, "user:online");
    await socket(doomed, only.buyer);
    await online;
    const bothOnline = nextEvent(sellerBoth, "user:online");
    await socket(doomed, both.buyer);
    await bothOnline;
    const survivor = await socket(a, both.buyer);

    const offline = nextEvent<Offline>(sellerOnly, "user:offline");
    const killedAt = Date.now();
    await doomed.kill();
    const gone = await offline;
    const elapsed = Date.now() - killedAt;
    console.log(`killed node → user:offline after ${elapsed} ms (PRESENCE_TTL_MS=${NODE_ENV.PRESENCE_TTL_MS})`);
    expect(gone.userId).toBe(only.buyer);
    // Last seen: the dead node's last sign of life, before the kill.
    expect(Date.parse(gone.lastSeenAt)).toBeLessThanOrEqual(killedAt + 100);
    expect(await presenceVia(b, only.seller, only.buyer)).toEqual({ userId: only.buyer, online: false, lastSeenAt: gone.lastSeenAt });
    expect((await presenceVia(a, both.seller, both.buyer)).online).toBe(true);

    // Persisted by the node that released them, in a batch.
    const db = new pg.Client({ connectionString: env.databaseUrl });
    await db.connect();
    try {
      await expect
        .poll(async () => (await db.query(`SELECT last_seen_at FROM users WHERE id = $1`, [only.buyer])).rows[0]?.last_seen_at?.toISOString())
        .toBe(gone.lastSeenAt);
    } finally {
      await db.end();
    }

    // The fence: the surviving socket's goodbye. Had the kill announced them, it came first.
    const last = nextEvent<Offline>(sellerBoth, "user:offline");
    survivor.close();
    await last;
    expect(bothOffline.map((o) => o.userId)).toEqual([both.buyer]);
  });

  it("a node stopped cleanly keeps its users online for its grace period: reconnecting elsewhere does not flicker", async () => {
    const leaving = await cluster.startNode("node-leaving", { ...NODE_ENV, PRESENCE_GRACE_MS: "3000" });
    const c = await contacts("deploy");
    const seller = await socket(a, c.seller);
    const onlines = record<{ userId: string }>(seller, "user:online");
    const offlines = record<Offline>(seller, "user:offline");
    const before = await socket(leaving, c.buyer);
    await expect.poll(() => onlines.length).toBe(1);

    const dropped = new Promise((resolve) => before.once("disconnect", resolve));
    const stopped = leaving.stop();
    await dropped;
    const after = await socket(b, c.buyer);
    expect(await stopped).toBe(0);
    expect((await presenceVia(a, c.seller, c.buyer)).online).toBe(true);

    const last = nextEvent<Offline>(seller, "user:offline");
    after.close();
    await last;
    expect(onlines).toHaveLength(1);
    expect(offlines).toHaveLength(1);
  });
});
