// Embedded mode (README, "Embedded mode"): `npm start` with no PostgreSQL and no Redis. A real
// server process on a fresh DATA_DIR — first start, messages over sockets, restart, kill -9 — and
// the ways a DATA_DIR can be wrong. Then the embedded database server itself, and the ordering
// guarantee on its one shared session.
import { spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { once } from "node:events";
import { existsSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect as connectTcp, type Socket as NetSocket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { ConfigError, loadConfig } from "../src/config/config.js";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../src/db/embedded-postgres.js";
import { KeyedMutex } from "../src/db/keyed-mutex.js";
import { connectSocket, createTestEnv, emitAck, makeConversation, nextEvent, record, startApp, type ClientSocket, type TestEnv } from "./support/app.js";
import { nodeEnv, startNode, type NodeProcess } from "./support/cluster.js";
import { TEST_SECRET } from "./support/tokens.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
// A first start runs initdb inside WebAssembly: 5 s on a quiet laptop, far more on a busy CI box.
const FIRST_START_MS = 150_000;
const NO_KEY = { JWT_SECRET: undefined };
// The first embedded test database of a run may have to build the migrated template (initdb).
const TEMPLATE_MS = 180_000;
const temporaryDirs: string[] = [];

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temporaryDirs.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(temporaryDirs.map((d) => rm(d, { recursive: true, force: true })));
});

function embeddedEnv(dataDir: string): TestEnv {
  return { mode: "embedded", databaseUrl: "", redisPrefix: "unused", dataDir, close: async () => undefined };
}

/** Runs a node that is expected not to start: its exit code and output. */
async function runToExit(dataDir: string, extraEnv: Record<string, string | undefined> = {}) {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: nodeEnv(embeddedEnv(dataDir), "doomed", extraEnv),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr, stderrLines: stderr.split("\n").filter((l) => l.trim() !== "") };
}

async function readDemoEnv(dataDir: string): Promise<Record<string, string>> {
  const text = await readFile(join(dataDir, "demo-tokens.env"), "utf8");
  return Object.fromEntries(text.split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

const api = (node: NodeProcess, jwt: string, method: string, path: string, body?: unknown) =>
  fetch(`${node.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${jwt}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

describe("npm start with no DATABASE_URL, REDIS_URL or JWT_SECRET", () => {
  let dataDir: string;
  let node: NodeProcess | undefined;
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    dataDir = join(await tempDir("mc-embedded-e2e-"), "data");
  });
  afterAll(async () => {
    sockets.forEach((s) => s.close());
    await node?.kill();
  });

  it(
    "starts on a fresh DATA_DIR with one warning line, a 0600 dev secret, demo data and tokens; chat works; a restart keeps it all",
    async () => {
      node = await startNode(embeddedEnv(dataDir), "embedded-1", NO_KEY, { startTimeoutMs: FIRST_START_MS });
      expect((await fetch(`${node.url}/readyz`)).status).toBe(200);
      // The demo access text is printed last, after the warning line.
      await expect.poll(() => node!.logs.some((l) => l.startsWith("Demo access")), { timeout: 10_000 }).toBe(true);
      const warnings = node.logs.map((l) => (l.startsWith("{") ? JSON.parse(l) : null)).filter((l) => l?.level === 40);
      expect(warnings).toHaveLength(1);
      expect(warnings[0].msg).toMatch(/^embedded single-node mode: .*PGlite.* in memory.*one node only, not in production/);
      expect(warnings[0].msg).toContain(dataDir);

      expect(statSync(join(dataDir, "dev-jwt-secret")).mode & 0o777).toBe(0o600);
      expect(statSync(join(dataDir, "demo-tokens.env")).mode & 0o777).toBe(0o600);
      const demo = await readDemoEnv(dataDir);
      expect(demo.CHAT_URL).toMatch(/^http:\/\/localhost:\d+$/);
      expect(node.logs.join("\n")).toContain(demo.BUYER_TOKEN);

      // The README's first curl: the buyer opens a conversation about the demo listing.
      const opened = await api(node, demo.BUYER_TOKEN!, "POST", "/api/conversations", { listingId: "demo-listing" });
      expect(opened.status).toBe(201);
      const conversation = (await opened.json()) as { id: string; seller: { id: string } };
      expect(conversation.seller.id).toBe("demo-seller");
      // Changed by the marketplace: a restart must not put the demo listing back.
      const renamed = await api(node, demo.SERVICE_TOKEN!, "PUT", "/api/internal/listings/demo-listing", {
        sellerId: "demo-seller",
        title: "Renamed by the marketplace",
      });
      expect(renamed.status).toBe(200);

      const buyer = await connectSocket(node.url, demo.BUYER_TOKEN!);
      const seller = await connectSocket(node.url, demo.SELLER_TOKEN!);
      sockets.push(buyer, seller);
      const sellerGot = nextEvent<{ id: string; seq: number; content: string }>(seller, "message:new");
      const ack = await emitAck<{ ok: boolean; data: { id: string; seq: number } }>(buyer, "message:send", {
        conversationId: conversation.id,
        clientId: randomUUID(),
        content: "Is the bike still available?",
      });
      expect(ack.ok).toBe(true);
      expect(ack.data.seq).toBe(1);
      expect(await sellerGot).toMatchObject({ id: ack.data.id, seq: 1, content: "Is the bike still available?" });
      const reply = await emitAck<{ ok: boolean; data: { seq: number } }>(seller, "message:send", {
        conversationId: conversation.id,
        clientId: randomUUID(),
        content: "Yes!",
      });
      expect(reply).toMatchObject({ ok: true, data: { seq: 2 } });
      sockets.forEach((s) => s.close());

      expect(await node.stop()).toBe(0);
      expect(existsSync(join(dataDir, "marketchat.lock"))).toBe(false);
      expect(existsSync(join(dataDir, "run", ".s.PGSQL.5432"))).toBe(false);
      expect(statSync(join(dataDir, "run")).mode & 0o777).toBe(0o700);

      node = await startNode(embeddedEnv(dataDir), "embedded-2", NO_KEY, { startTimeoutMs: FIRST_START_MS });
      // Same secret: the tokens minted before the restart still work.
      const history = await api(node, demo.SELLER_TOKEN!, "GET", `/api/conversations/${conversation.id}/messages`);
      expect(history.status).toBe(200);
      const items = ((await history.json()) as { items: { seq: number; content: string; senderId: string }[] }).items;
      expect(items.map((m) => [m.seq, m.senderId, m.content])).toEqual([
        [1, "demo-buyer", "Is the bike still available?"],
        [2, "demo-seller", "Yes!"],
      ]);
      await expect.poll(() => node!.logs.some((l) => l.startsWith("Demo access")), { timeout: 10_000 }).toBe(true);
      const listing = (await (await api(node, demo.BUYER_TOKEN!, "GET", `/api/conversations/${conversation.id}`)).json()) as {
        listing: { title: string };
      };
      expect(listing.listing.title).toBe("Renamed by the marketplace");
    },
    FIRST_START_MS * 2 + 60_000,
  );

  // Each of the next tests starts its own node on its own DATA_DIR: none depends on another's state.
  /** A fresh embedded node with the demo buyer's conversation about the demo listing. */
  async function freshNode(name: string): Promise<{ node: NodeProcess; dataDir: string; demo: Record<string, string>; conversationId: string }> {
    const dir = join(await tempDir(`mc-embedded-${name}-`), "data");
    const started = await startNode(embeddedEnv(dir), name, NO_KEY, { startTimeoutMs: FIRST_START_MS });
    extraNodes.push(started);
    await expect.poll(() => existsSync(join(dir, "demo-tokens.env")), { timeout: 10_000 }).toBe(true);
    const demo = await readDemoEnv(dir);
    const opened = await api(started, demo.BUYER_TOKEN!, "POST", "/api/conversations", { listingId: "demo-listing" });
    expect(opened.status).toBe(201);
    return { node: started, dataDir: dir, demo, conversationId: ((await opened.json()) as { id: string }).id };
  }
  const extraNodes: NodeProcess[] = [];
  afterAll(async () => {
    await Promise.all(extraNodes.map((n) => n.kill()));
  });

  it("keeps an acknowledged message through kill -9, and takes over the dead process's lock and socket", async () => {
    const { node: doomed, dataDir: dir, demo, conversationId } = await freshNode("embedded-crash");
    const buyer = await connectSocket(doomed.url, demo.BUYER_TOKEN!);
    const ack = await emitAck<{ ok: boolean; data: { seq: number } }>(buyer, "message:send", {
      conversationId,
      clientId: randomUUID(),
      content: "acked just before the crash",
    });
    buyer.close();
    expect(ack).toMatchObject({ ok: true, data: { seq: 1 } });
    const deadPid = doomed.child.pid!;
    await doomed.kill();
    expect((await readFile(join(dir, "marketchat.lock"), "utf8")).trim()).toBe(String(deadPid));
    // The dead node's socket is left behind too: the next start replaces it.
    expect(existsSync(join(dir, "run", ".s.PGSQL.5432"))).toBe(true);

    const next = await startNode(embeddedEnv(dir), "embedded-crash-2", NO_KEY, { startTimeoutMs: FIRST_START_MS });
    extraNodes.push(next);
    const res = await api(next, demo.BUYER_TOKEN!, "GET", `/api/conversations/${conversationId}/messages`);
    expect(((await res.json()) as { items: { seq: number; content: string }[] }).items).toMatchObject([
      { seq: 1, content: "acked just before the crash" },
    ]);
  }, FIRST_START_MS * 2 + 60_000);

  it("refuses a second node on the same DATA_DIR with one line naming the pid, and the first keeps serving", async () => {
    const { node: first, dataDir: dir } = await freshNode("embedded-first");
    const second = await runToExit(dir, NO_KEY);
    expect(second.code).toBe(1);
    expect(second.stderrLines).toHaveLength(1);
    expect(second.stderrLines[0]).toMatch(/^Start-up failed: DATA_DIR .* is in use by another process \(pid \d+/);
    expect(second.stderrLines[0]).toContain(`pid ${first.child.pid}`);
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
    expect((await readFile(join(dir, "marketchat.lock"), "utf8")).trim()).toBe(String(first.child.pid));
  }, FIRST_START_MS + 90_000);
});

describe("a DATA_DIR that cannot serve", () => {
  it("is not a directory that can be created: one line, exit 1", async () => {
    const parent = await tempDir("mc-embedded-bad-");
    await writeFile(join(parent, "a-file"), "not a directory");
    // As `npm start` runs it (no key: the development secret is the first thing written there)…
    const bare = await runToExit(join(parent, "a-file", "data"), NO_KEY);
    expect(bare.code).toBe(1);
    expect(bare.stderrLines).toHaveLength(1);
    expect(bare.stderrLines[0]).toMatch(/^Start-up failed: DATA_DIR .*a-file\/data cannot be created: ENOTDIR/);
    // …and with a key, where the uploads directory under DATA_DIR is checked first.
    const keyed = await runToExit(join(parent, "a-file", "data"));
    expect(keyed.code).toBe(1);
    expect(keyed.stderrLines).toHaveLength(1);
    expect(keyed.stderrLines[0]).toMatch(/(DATA_DIR|UPLOAD_DIR) .*ENOTDIR/);
    expect(keyed.stderrLines[0]).toContain(join(parent, "a-file", "data"));
  }, 90_000);

  it("holds files that are not a database: refused, never initialised into a second database", async () => {
    const dataDir = await tempDir("mc-embedded-foreign-");
    await mkdir(join(dataDir, "pgdata"));
    await writeFile(join(dataDir, "pgdata", "notes.txt"), "someone else's files");
    const run = await runToExit(dataDir);
    expect(run.code).toBe(1);
    expect(run.stderrLines).toHaveLength(1);
    expect(run.stderrLines[0]).toMatch(/pgdata is not an embedded database \(no PG_VERSION.*move it away/);
    expect(existsSync(join(dataDir, "pgdata", "PG_VERSION"))).toBe(false);
    expect(existsSync(join(dataDir, "marketchat.lock"))).toBe(false);
  }, 90_000);

  it("holds a damaged database: refused with PostgreSQL's reason in one line", async () => {
    const dataDir = await createTestEnv("embedded").then((env) => env.dataDir!);
    temporaryDirs.push(dataDir);
    const control = join(dataDir, "pgdata", "global", "pg_control");
    await writeFile(control, Buffer.alloc(8192, 0x5a));
    const run = await runToExit(dataDir);
    expect(run.code).toBe(1);
    expect(run.stderrLines).toHaveLength(1);
    expect(run.stderrLines[0]).toMatch(/^Start-up failed: embedded database in .*pgdata cannot be opened \(.+\): it may be damaged/);
    expect((await readFile(control))[0]).toBe(0x5a);
  }, TEMPLATE_MS);

  it("was left by a first start killed halfway: the next start makes the database afresh", async () => {
    const dataDir = await tempDir("mc-embedded-interrupted-");
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: ROOT,
      env: nodeEnv(embeddedEnv(dataDir), "interrupted"),
      stdio: "ignore",
    });
    const exited = once(child, "exit");
    // The database is made aside, in pgdata.creating, and renamed into place once migrated.
    await expect.poll(() => existsSync(join(dataDir, "pgdata.creating")), { timeout: 60_000, interval: 20 }).toBe(true);
    child.kill("SIGKILL");
    await exited;
    expect(existsSync(join(dataDir, "pgdata"))).toBe(false);
    const node = await startNode(embeddedEnv(dataDir), "after-interruption", {}, { startTimeoutMs: FIRST_START_MS });
    try {
      expect((await fetch(`${node.url}/readyz`)).status).toBe(200);
      expect(existsSync(join(dataDir, "pgdata.creating"))).toBe(false);
      expect(existsSync(join(dataDir, "pgdata", "PG_VERSION"))).toBe(true);
    } finally {
      await node.stop();
    }
  }, FIRST_START_MS + 60_000);

  it("is never used in production: DATABASE_URL (and REDIS_URL) are required there", async () => {
    const name = (env: Record<string, string>) => {
      try {
        loadConfig({ NODE_ENV: "production", JWT_SECRET: TEST_SECRET, ...env });
        return null;
      } catch (err) {
        return err instanceof ConfigError ? err.message : String(err);
      }
    };
    expect(name({})).toBe("Invalid configuration: DATABASE_URL is required when NODE_ENV=production");
    expect(name({ DATABASE_URL: "postgresql://x@127.0.0.1/x" })).toBe("Invalid configuration: REDIS_URL is required when NODE_ENV=production");
    // Without a key, production names the key; development starts with a generated one.
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrowError(/^Invalid configuration: JWT_SECRET is required/);
    expect(loadConfig({ NODE_ENV: "development" }).JWT_SECRET).toBeUndefined();
    expect(() => loadConfig({ NODE_ENV: "development", DATABASE_URL: "postgresql://x@127.0.0.1/x" })).toThrowError(/JWT_SECRET/);
    const run = await runToExit(await tempDir("mc-embedded-prod-"), { NODE_ENV: "production" });
    expect(run.code).toBe(1);
    expect(run.stderrLines).toEqual(["Invalid configuration: DATABASE_URL is required when NODE_ENV=production"]);
  }, 90_000);
});

// ---------------------------------------------------------------------------------------------
// The wire-protocol server over PGlite's one session
// ---------------------------------------------------------------------------------------------

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, "latin1");
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}
const cstr = (s: string) => Buffer.from(`${s}\0`, "utf8");
const int16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const parseMsg = (sql: string) => message("P", Buffer.concat([cstr(""), cstr(sql), int16(0)]));
const bindMsg = () => message("B", Buffer.concat([cstr(""), cstr(""), int16(0), int16(0), int16(0)]));
const describeMsg = () => message("D", Buffer.concat([Buffer.from("P"), cstr("")]));
const executeMsg = () => message("E", Buffer.concat([cstr(""), Buffer.alloc(4)]));
const syncMsg = () => message("S", Buffer.alloc(0));

/** A raw protocol connection to the embedded server's socket, already past startup. */
async function rawConnection(url: string): Promise<{ socket: NetSocket; output: () => string }> {
  const host = new URL(url).searchParams.get("host")!;
  const socket = connectTcp(join(host, ".s.PGSQL.5432"));
  await once(socket, "connect");
  let received = Buffer.alloc(0);
  socket.on("data", (d: Buffer) => (received = Buffer.concat([received, d])));
  const params = Buffer.concat([cstr("user"), cstr("postgres"), cstr("database"), cstr("postgres"), Buffer.from([0])]);
  const startup = Buffer.alloc(8);
  startup.writeInt32BE(params.length + 8, 0);
  startup.writeInt32BE(196608, 4);
  socket.write(Buffer.concat([startup, params]));
  await expect.poll(() => received.includes(Buffer.from([0x5a, 0, 0, 0, 5, 0x49]))).toBe(true);
  received = Buffer.alloc(0);
  return { socket, output: () => received.toString("latin1") };
}

describe("the embedded PostgreSQL server", () => {
  let embedded: EmbeddedPostgres;
  let pool: pg.Pool;

  beforeAll(async () => {
    const env = await createTestEnv("embedded");
    temporaryDirs.push(env.dataDir!);
    embedded = await startEmbeddedPostgres({ dataDir: env.dataDir! });
    pool = new pg.Pool({ connectionString: embedded.url, max: 4 });
  }, TEMPLATE_MS);
  afterAll(async () => {
    await pool?.end();
    await embedded?.close();
  });

  it("runs a query whose messages arrive in pieces as one unit, whatever other connections send meanwhile", async () => {
    // pglite-socket's per-message queue fails exactly this: B's Parse replaces A's unnamed
    // statement and A gets `portal "" does not exist`.
    const a = await rawConnection(embedded.url);
    const b = await rawConnection(embedded.url);
    a.socket.write(Buffer.concat([parseMsg("SELECT 'from A' AS a"), bindMsg()]));
    b.socket.write(Buffer.concat([parseMsg("SELECT 'from B' AS b"), bindMsg(), describeMsg(), executeMsg(), syncMsg()]));
    await expect.poll(() => b.output()).toContain("from B");
    a.socket.write(Buffer.concat([describeMsg(), executeMsg(), syncMsg()]));
    await expect.poll(() => a.output()).toContain("from A");
    expect(a.output()).not.toContain("from B");
    expect(a.output()).not.toContain("ERROR");
    a.socket.destroy();
    b.socket.destroy();
  });

  it("never mixes one connection's statements into another's transaction", async () => {
    const a = await pool.connect();
    const b = await pool.connect();
    try {
      await a.query("BEGIN");
      await a.query("INSERT INTO users (id, name) VALUES ('tx-a', 'A')");
      const bInsert = b.query("INSERT INTO users (id, name) VALUES ('tx-b', 'B')");
      await a.query("ROLLBACK");
      await bInsert;
      const { rows } = await pool.query<{ id: string }>("SELECT id FROM users WHERE id IN ('tx-a', 'tx-b') ORDER BY id");
      expect(rows.map((r) => r.id)).toEqual(["tx-b"]);
    } finally {
      a.release();
      b.release();
    }
  });

  it("hands the session back clean when a connection dies inside a transaction", async () => {
    const doomed = new pg.Client({ connectionString: embedded.url });
    await doomed.connect();
    await doomed.query("BEGIN");
    await doomed.query("INSERT INTO users (id, name) VALUES ('tx-doomed', 'D')");
    const waiting = pool.query("SELECT count(*)::int AS n FROM users WHERE id = 'tx-doomed'");
    const clientErrors: Error[] = [];
    doomed.on("error", (err) => clientErrors.push(err));
    (doomed as unknown as { connection: { stream: NetSocket } }).connection.stream.destroy();
    expect((await waiting).rows[0]).toEqual({ n: 0 });
  });

  it("returns large results intact to several connections at once", async () => {
    // PGlite hands its output over as views into its WebAssembly memory; a socket that cannot send
    // at once keeps what it was given, so the server must copy (without the copy this hangs or
    // returns garbage).
    const checks = await Promise.all(
      ["a", "b", "c"].map(async (salt) => {
        const { rows } = await pool.query<{ h: string }>("SELECT md5(g::text || $1) AS h FROM generate_series(1, 50000) g ORDER BY g", [salt]);
        const { rows: whole } = await pool.query<{ h: string }>(
          "SELECT md5(string_agg(md5(g::text || $1), '' ORDER BY g)) AS h FROM generate_series(1, 50000) g",
          [salt],
        );
        return createHash("md5").update(rows.map((r) => r.h).join("")).digest("hex") === whole[0]!.h;
      }),
    );
    expect(checks).toEqual([true, true, true]);
  });

  it("has what the service's SQL needs", async () => {
    const { rows } = await pool.query(
      `SELECT gen_random_uuid() IS NOT NULL AS uuid, hashtextextended('abc', 0) = -6747756470228489321 AS hash,
              pg_advisory_lock(42) IS NOT NULL AS locked, pg_advisory_unlock(42) AS unlocked,
              row_to_json(x) AS row, (SELECT json_agg(g) FROM generate_series(1, 3) g) AS agg,
              'text'::message_type::text AS enum
       FROM (SELECT 1 AS a) x`,
    );
    expect(rows[0]).toEqual({ uuid: true, hash: true, locked: true, unlocked: true, row: { a: 1 }, agg: [1, 2, 3], enum: "text" });
    const migrations = await pool.query("SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL");
    expect(migrations.rowCount).toBeGreaterThan(0);
  });
});

describe("ordering on the one shared session", () => {
  let env: TestEnv;
  let app: FastifyInstance;
  let url: string;
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    env = await createTestEnv("embedded");
    ({ app, url } = await startApp(env));
  }, TEMPLATE_MS);
  afterAll(async () => {
    sockets.forEach((s) => s.close());
    await app?.close();
    await env?.close();
  });

  it("delivers concurrent sends to one conversation in seq order, the first one (which opens it) included", async () => {
    const c = await makeConversation(app);
    const buyer = await connectSocket(url, c.buyerToken);
    const seller = await connectSocket(url, c.sellerToken);
    sockets.push(buyer, seller);
    const got = record<{ seq: number }>(seller, "message:new");
    const acks = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        emitAck<{ ok: boolean; data: { seq: number } }>(buyer, "message:send", {
          conversationId: c.conversationId,
          clientId: randomUUID(),
          content: `burst ${i}`,
        }),
      ),
    );
    expect(acks.every((a) => a.ok)).toBe(true);
    expect(acks.map((a) => a.data.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await expect.poll(() => got.length).toBe(20);
    expect(got.map((m) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it("keyed mutex: one holder per key, FIFO, independent keys, nothing kept once idle", async () => {
    const mutex = new KeyedMutex();
    const order: string[] = [];
    const first = await mutex.acquire("k");
    const second = mutex.acquire("k").then((release) => {
      order.push("second");
      return release;
    });
    const third = mutex.acquire("k").then((release) => {
      order.push("third");
      release();
    });
    const other = await mutex.acquire("other");
    order.push("other");
    expect(order).toEqual(["other"]);
    other();
    first();
    first();
    (await second)();
    await third;
    expect(order).toEqual(["other", "second", "third"]);
    expect(mutex.size).toBe(0);
  });
});
