// PostgreSQL crashing under a running node (issue 17, "Survive the database"): a private server
// (test/support/postgres-server.ts) is stopped with `pg_ctl stop -m immediate` while a real node
// process serves sends, then started again. The node stays up, refuses with `unavailable` (503 +
// Retry-After over HTTP) while the database is away, is not ready then and ready again after, and
// no acknowledged message is lost. A node started while the database is away waits for it.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSocket, emitAck, type ClientSocket, type TestEnv } from "./support/app.js";
import { startNode, type NodeProcess } from "./support/cluster.js";
import { uniqueName } from "./support/env.js";
import { startPostgresServer, type PostgresServer } from "./support/postgres-server.js";
import { httpJson } from "./support/two-nodes.js";
import { serviceToken, token } from "./support/tokens.js";

// Sends are not rate-limited here: the test sends as fast as the acks come back.
const NODE_ENV = { RATE_LIMIT_MESSAGES: "off", SOCKET_EVENTS_PER_SOCKET: "off", DATABASE_POOL_SIZE: "4" };

let pg: PostgresServer;
let env: TestEnv;
const nodes: NodeProcess[] = [];
const sockets: ClientSocket[] = [];

beforeAll(async () => {
  pg = await startPostgresServer();
  // The node creates and migrates this database itself on start (MIGRATE_ON_START).
  env = { mode: "postgres", databaseUrl: pg.url("marketchat"), redisPrefix: uniqueName("mcpg"), close: async () => undefined };
});
afterAll(async () => {
  sockets.forEach((s) => s.close());
  await Promise.all(nodes.map((n) => n.kill()));
  await pg?.close();
});

async function openConversation(node: NodeProcess, tag: string) {
  const buyer = `b-${tag}`;
  const seller = `s-${tag}`;
  expect((await httpJson(node, "PUT", `/api/internal/users/${seller}`, serviceToken(), { name: "Seller" })).status).toBeLessThan(300);
  expect((await httpJson(node, "PUT", `/api/internal/listings/l-${tag}`, serviceToken(), { sellerId: seller, title: "Sofa" })).status).toBeLessThan(300);
  const opened = await httpJson(node, "POST", "/api/conversations", token(buyer), { listingId: `l-${tag}` });
  expect(opened.status).toBe(201);
  return { buyer, seller, id: opened.body.id as string };
}

type Ack = { ok: true; data: { seq: number; clientId: string } } | { ok: false; error: { code: string; message: string } };

async function readiness(node: NodeProcess): Promise<number> {
  return (await fetch(`${node.url}/readyz`)).status;
}

describe("PostgreSQL stopped with -m immediate under load", () => {
  it("the node stays up, answers unavailable while the database is away, is ready again after, and loses no acknowledged message", async () => {
    const node = await startNode(env, "node-pg", NODE_ENV);
    nodes.push(node);
    const c = await openConversation(node, "outage");
    const socket = await connectSocket(node.url, token(c.buyer));
    sockets.push(socket);

    // Three senders, each sending one message after another until told to stop.
    const acked: { clientId: string; seq: number }[] = [];
    const refused: string[] = [];
    let running = true;
    const sender = async (n: number) => {
      for (let i = 0; running; i++) {
        const clientId = randomUUID();
        // No ack at all (timed out, socket gone: the node died) counts as a refusal of its own.
        const ack = await emitAck<Ack>(socket, "message:send", { conversationId: c.id, clientId, content: `s${n}-${i}` }).catch(
          (err: Error) => ({ ok: false as const, error: { code: `no ack: ${err.message}`, message: "" } }),
        );
        if (ack.ok) acked.push({ clientId, seq: ack.data.seq });
        else refused.push(ack.error.code);
      }
    };
    const senders = [0, 1, 2].map(sender);
    await expect.poll(() => acked.length).toBeGreaterThanOrEqual(20);

    await pg.crash();
    // Sends fail with `unavailable`, never `internal`, and the node is not ready.
    await expect.poll(() => refused.length).toBeGreaterThanOrEqual(10);
    await expect.poll(() => readiness(node)).toBe(503);
    const viaHttp = await fetch(`${node.url}/api/conversations/${c.id}/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${token(c.buyer)}`, "content-type": "application/json" },
      body: JSON.stringify({ clientId: randomUUID(), content: "over HTTP" }),
    });
    expect(viaHttp.status).toBe(503);
    expect(Number(viaHttp.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await viaHttp.json()) as { error: { code: string } }).error.code).toBe("unavailable");
    // Reads too, through node-postgres and through Prisma (blocks) alike.
    for (const path of [`/api/conversations`, `/api/conversations/${c.id}/messages`, `/api/blocks`]) {
      const res = await httpJson(node, "GET", path, token(c.buyer));
      expect(res.status, path).toBe(503);
      expect(res.body.error.code, path).toBe("unavailable");
    }
    expect(node.child.exitCode).toBeNull();

    const ackedBeforeRestart = acked.length;
    await pg.start();
    await expect.poll(() => readiness(node), { timeout: 20_000 }).toBe(200);
    await expect.poll(() => acked.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(ackedBeforeRestart + 20);
    running = false;
    await Promise.all(senders);

    expect(node.child.exitCode).toBeNull();
    expect(new Set(refused)).toEqual(new Set(["unavailable"]));
    // Every acknowledged message is stored, once, and seq has no gap.
    const stored: { seq: number; clientId: string }[] = [];
    for (let after = 0; ; ) {
      const page = await httpJson(node, "GET", `/api/conversations/${c.id}/messages?after=${after}&limit=100`, token(c.buyer));
      expect(page.status).toBe(200);
      stored.push(...page.body.items);
      if (page.body.items.length < 100) break;
      after = stored.at(-1)!.seq;
    }
    const storedIds = new Set(stored.map((m) => m.clientId));
    expect(acked.filter((a) => !storedIds.has(a.clientId))).toEqual([]);
    expect(storedIds.size).toBe(stored.length);
    expect(stored.map((m) => m.seq)).toEqual(stored.map((_, i) => i + 1));

    // The outage was logged, but not once per refused send: the same failure once per interval.
    const outageLines = node.logs.filter((l) => l.includes("unavailable") || l.includes("database connection lost"));
    expect(outageLines.length).toBeGreaterThan(0);
    expect(outageLines.length).toBeLessThan(refused.length);
    expect(node.logs.some((l) => l.includes("Unhandled"))).toBe(false);
  });

  it("a node started while PostgreSQL is away waits, logs each attempt, and serves once it is back", async () => {
    await pg.crash();
    const stderr: string[] = [];
    const starting = startNode(env, "node-late", NODE_ENV, { onStderr: (text) => stderr.push(text) });
    await expect.poll(() => stderr.join("").match(/database not reachable/g)?.length ?? 0, { timeout: 40_000 }).toBeGreaterThanOrEqual(2);
    await pg.start();
    const node = await starting;
    nodes.push(node);
    expect(stderr.join("")).toMatch(/migrations: database not reachable \(.*ECONNREFUSED.*\); attempt 1, retrying in/);
    const c = await openConversation(node, "late");
    const socket = await connectSocket(node.url, token(c.buyer));
    sockets.push(socket);
    expect(await emitAck<Ack>(socket, "message:send", { conversationId: c.id, clientId: randomUUID(), content: "hello" })).toMatchObject({ ok: true });
  });

  it("start-up gives up after DATABASE_STARTUP_TIMEOUT_MS with one line naming the cause", async () => {
    await pg.crash();
    try {
      const failed = await startNode(env, "node-gives-up", { ...NODE_ENV, DATABASE_STARTUP_TIMEOUT_MS: "1500" }).then(
        () => null,
        (err: Error) => err.message,
      );
      expect(failed).toMatch(/exited with 1/);
      expect(failed).toMatch(/Start-up failed: migrations could not be applied to DATABASE_URL \(.*ECONNREFUSED/);
    } finally {
      await pg.start();
    }
  });
});
