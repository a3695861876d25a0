// Admin broadcasts on two real nodes: every connected socket on either node gets `broadcast`
// once, and users who were away catch up with GET /api/broadcasts?after.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auth, connectSocket, createTestEnv, nextEvent, record, startApp, type ClientSocket, type TestEnv } from "./support/app.js";
import { startNode, type NodeProcess } from "./support/cluster.js";
import { uniqueName } from "./support/env.js";
import { adminToken, serviceToken, token } from "./support/tokens.js";

let env: TestEnv;
let a: NodeProcess;
let b: NodeProcess;
let pool: pg.Pool;
const sockets: ClientSocket[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  pool = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
  [a, b] = await Promise.all([startNode(env, "bc-a"), startNode(env, "bc-b")]);
});
afterAll(async () => {
  sockets.forEach((s) => s.close());
  await Promise.all([a?.stop(), b?.stop()]);
  await pool?.end();
  await env?.close();
});

interface Broadcast {
  id: string;
  content: string;
  createdAt: string;
}

async function http(node: NodeProcess, method: string, path: string, jwt: string | null, body?: unknown) {
  const res = await fetch(`${node.url}${path}`, {
    method,
    headers: { ...(jwt ? { authorization: `Bearer ${jwt}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (res.status === 204 ? null : await res.json()) as any };
}

async function socket(node: NodeProcess, user = uniqueName("u")) {
  const s = await connectSocket(node.url, token(user));
  sockets.push(s);
  return s;
}

const broadcastCount = async () => Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM broadcasts`)).rows[0]!.n);
const list = async (query = "", node = b) => {
  const res = await http(node, "GET", `/api/broadcasts${query}`, token("reader"));
  expect(res.status, query).toBe(200);
  return res.body as { items: Broadcast[]; nextCursor: string | null };
};

describe("live broadcast", () => {
  it("reaches every connected socket on both nodes once: 201 { id, content, createdAt }", async () => {
    const devices = [await socket(a), await socket(b), await socket(b, "two-devices"), await socket(a, "two-devices")];
    const seen = devices.map((d) => record<Broadcast>(d, "broadcast"));
    const got = devices.map((d) => nextEvent<Broadcast>(d, "broadcast"));
    const res = await http(a, "POST", "/api/admin/broadcast", adminToken(), { content: "Maintenance tonight <b>22:00</b>" });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.any(String), content: "Maintenance tonight <b>22:00</b>", createdAt: expect.any(String) });
    for (const p of got) expect(await p).toEqual(res.body);

    // The marketplace backend may broadcast too; the second broadcast is also the fence for "once".
    const second = await http(b, "POST", "/api/admin/broadcast", serviceToken(), { content: "From the marketplace" });
    expect(second.status).toBe(201);
    for (const s of seen) await expect.poll(() => s.map((x) => x.id)).toEqual([res.body.id, second.body.id]);
  });

  it("refuses bad input and other roles with the contract's errors, and stores nothing", async () => {
    const before = await broadcastCount();
    const bad: unknown[] = [{}, { content: "" }, { content: "   \n" }, { content: "x".repeat(4001) }, { content: "😀".repeat(4001) }, { content: 42 }, { content: null }, { content: "nul \u0000 inside" }, null, ["x"], "hello"];
    for (const body of bad) {
      const res = await http(a, "POST", "/api/admin/broadcast", adminToken(), body);
      expect(res.status, JSON.stringify(body)?.slice(0, 60)).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
    }
    const user = await http(a, "POST", "/api/admin/broadcast", token("plain-user"), { content: "hi" });
    expect(user.status).toBe(403);
    expect(user.body.error.code).toBe("forbidden");
    expect((await http(a, "POST", "/api/admin/broadcast", null, { content: "hi" })).body.error.code).toBe("unauthorized");
    expect(await broadcastCount()).toBe(before);
    // 4,000 code points is the limit, astral ones included.
    expect((await http(a, "POST", "/api/admin/broadcast", adminToken(), { content: "😀".repeat(4000) })).status).toBe(201);
  });
});

describe("catching up", () => {
  it("lists broadcasts oldest first after a broadcast id or an ISO time, paged by nextCursor", async () => {
    const made: Broadcast[] = [];
    for (let i = 0; i < 3; i++) {
      made.push((await http(i % 2 ? a : b, "POST", "/api/admin/broadcast", adminToken(), { content: `catch-up ${i}` })).body);
    }
    const ids = (page: { items: Broadcast[] }) => page.items.map((x) => x.id);
    const all = await list("?limit=100");
    expect(all.items.slice(-3)).toEqual(made);
    expect(all.nextCursor).toBeNull();
    expect(ids(await list(`?after=${made[0]!.id}`))).toEqual([made[1]!.id, made[2]!.id]);
    expect(ids(await list(`?after=${encodeURIComponent(made[1]!.createdAt)}`))).toEqual([made[2]!.id]);
    expect(ids(await list(`?after=${made[2]!.id}`))).toEqual([]);

    const first = await list(`?after=${made[0]!.id}&limit=1`);
    expect(ids(first)).toEqual([made[1]!.id]);
    expect(first.nextCursor).toEqual(expect.any(String));
    const next = await list(`?cursor=${first.nextCursor}&limit=1`);
    expect(ids(next)).toEqual([made[2]!.id]);
    expect(next.nextCursor).toBeNull();

    for (const q of ["?after=yesterday", `?after=${"0".repeat(8)}-0000-4000-8000-${"0".repeat(12)}`, "?limit=0", "?limit=101", `?after=${made[0]!.id}&cursor=${made[1]!.id}`]) {
      const res = await http(a, "GET", `/api/broadcasts${q}`, token("reader"));
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
    }
    expect((await http(a, "GET", "/api/broadcasts", serviceToken())).body.error.code).toBe("forbidden");
    expect((await http(a, "GET", "/api/broadcasts", null)).body.error.code).toBe("unauthorized");
  });

  it("concurrent broadcasts on both nodes get distinct, commit-ordered times: paging one by one skips none", async () => {
    const start = (await list("?limit=100")).items.at(-1)!.id;
    const n = 12;
    const made = await Promise.all(
      Array.from({ length: n }, (_, i) => http(i % 2 ? a : b, "POST", "/api/admin/broadcast", adminToken(), { content: `burst ${i}` })),
    );
    expect(made.every((r) => r.status === 201)).toBe(true);
    const walked: Broadcast[] = [];
    let cursor: string | null = start;
    while (cursor) {
      const page = await list(`?after=${cursor}&limit=1`);
      walked.push(...page.items);
      cursor = page.nextCursor;
    }
    expect(walked.map((x) => x.id).sort()).toEqual(made.map((r) => r.body.id as string).sort());
    const times = walked.map((x) => Date.parse(x.createdAt));
    expect(times.every((t, i) => i === 0 || t > times[i - 1]!)).toBe(true);
  });
});

describe("one node without Redis", () => {
  it("the in-memory bus delivers broadcasts and bans the same way", async () => {
    const { app, url } = await startApp(env, { REDIS_URL: undefined });
    try {
      const listener = await connectSocket(url, token(uniqueName("solo")));
      const victim = await connectSocket(url, token("solo-victim"));
      sockets.push(listener, victim);
      const got = nextEvent<Broadcast>(listener, "broadcast");
      const res = await app.inject({ method: "POST", url: "/api/admin/broadcast", headers: auth(adminToken()), payload: { content: "solo" } });
      expect(res.statusCode).toBe(201);
      expect(await got).toEqual(res.json());
      const gone = new Promise<string>((resolve) => victim.once("disconnect", (reason) => resolve(reason)));
      expect((await app.inject({ method: "POST", url: "/api/admin/users/solo-victim/ban", headers: auth(adminToken()) })).statusCode).toBe(204);
      expect(await gone).toBe("io server disconnect");
      expect(listener.connected).toBe(true);
    } finally {
      await app.close();
    }
  });
});
