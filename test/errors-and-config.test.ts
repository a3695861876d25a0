import { beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { ConfigError, loadConfig } from "../src/config/config.js";
import { ERRORS } from "../src/errors/errors.js";
import { randomUUID } from "node:crypto";
import { auth, connectSocket, emitAck, makeConversation, createTestEnv, startApp, useTestApp } from "./support/app.js";
import { TEST_SECRET, token } from "./support/tokens.js";
import { startNode } from "./support/cluster.js";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { PG_ADMIN_URL, databaseUrl, uniqueName } from "./support/env.js";

const MIGRATIONS = fileURLToPath(new URL("../prisma/migrations/", import.meta.url));

describe("configuration", () => {
  const ok = { DATABASE_URL: "postgresql://postgres@127.0.0.1/x", JWT_SECRET: TEST_SECRET };

  it("applies the contract's defaults and freezes the result", () => {
    const c = loadConfig(ok);
    expect(c.PORT).toBe(3000);
    expect(c.HOST).toBe("0.0.0.0");
    expect(c.NODE_ID).toMatch(/-\d+$/);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("REDIS_CLUSTER_NODES: seed nodes of a Redis Cluster, and production is content with it instead of REDIS_URL", () => {
    const c = loadConfig({ ...ok, NODE_ENV: "production", REDIS_CLUSTER_NODES: "redis-1:7000, 10.0.0.2:7001,[::1]:7002" });
    expect(c.REDIS_CLUSTER_NODES).toEqual([
      { host: "redis-1", port: 7000 },
      { host: "10.0.0.2", port: 7001 },
      { host: "::1", port: 7002 },
    ]);
    expect(c.REDIS_URL).toBeUndefined();
  });

  it.each([
    [{ ...ok, PORT: "http" }, "PORT"],
    [{ ...ok, PORT: "70000" }, "PORT"],
    [{ ...ok, DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    [{ ...ok, REDIS_URL: "http://x" }, "REDIS_URL"],
    [{ ...ok, JWT_SECRET: "short" }, "JWT_SECRET"],
    [{ ...ok, LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ ...ok, NODE_ENV: "production" }, "REDIS_URL"],
    [{ ...ok, REDIS_CLUSTER_NODES: "redis-1" }, "REDIS_CLUSTER_NODES"],
    [{ ...ok, REDIS_CLUSTER_NODES: "redis-1:6379,redis-2:99999" }, "REDIS_CLUSTER_NODES"],
    [{ ...ok, REDIS_URL: "redis://redis:6379", REDIS_CLUSTER_NODES: "redis-1:6379" }, "REDIS_CLUSTER_NODES"],
    [{ ...ok, JWT_PUBLIC_KEY: "-----BEGIN PUBLIC KEY-----" }, "JWT_PUBLIC_KEY"],
    [{ ...ok, WEBHOOK_URL: "https://hooks.example/chat" }, "WEBHOOK_SECRET"],
  ])("names the bad variable: %o → %s", (env: Record<string, string>, variable) => {
    expect(() => loadConfig(env)).toThrowError(ConfigError);
    try {
      loadConfig(env);
    } catch (err) {
      expect((err as ConfigError).variable).toBe(variable);
      expect((err as Error).message).toMatch(new RegExp(`^Invalid configuration: ${variable} `));
      expect((err as Error).message).not.toContain("\n");
    }
  });
});

describe("errors in the contract's shape", () => {
  const fixture = useTestApp();
  let app: FastifyInstance;
  beforeAll(() => {
    ({ app } = fixture);
  });

  const jsonPost = (payload: string, headers: Record<string, string> = {}) =>
    app.inject({
      method: "POST",
      url: "/api/conversations",
      headers: { ...auth(token("err-user")), "content-type": "application/json", ...headers },
      payload,
    });

  it("every code has a status and a message", () => {
    for (const [code, e] of Object.entries(ERRORS)) {
      expect(e.status, code).toBeGreaterThanOrEqual(400);
      expect(e.message.length, code).toBeGreaterThan(0);
    }
  });

  it("every code and status is the contract's (../shared/API.md, \"Errors\"); internal 500 is the only addition", () => {
    const contract = readFileSync(fileURLToPath(new URL("../../shared/API.md", import.meta.url)), "utf8");
    const errors = contract.slice(contract.indexOf("## Errors"), contract.indexOf("## Shapes"));
    const listed = Object.fromEntries([...errors.matchAll(/`([a-z_]+)` (\d{3})/g)].map((m) => [m[1], Number(m[2])]));
    const ours = Object.fromEntries(Object.entries(ERRORS).map(([code, e]) => [code, e.status]));
    expect(ours).toEqual({ ...listed, internal: 500 });
  });

  it("malformed JSON → 400 validation_failed", async () => {
    const res = await jsonPost("{not json");
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: { code: "validation_failed", message: "The body is not valid JSON", requestId: expect.any(String) } });
  });

  it("an empty JSON body is no body: POST …/read with Content-Type: application/json and nothing else is 204", async () => {
    const c = await makeConversation(app);
    const res = await app.inject({
      method: "POST",
      url: `/api/conversations/${c.conversationId}/read`,
      headers: { ...auth(c.buyerToken), "content-type": "application/json" },
      payload: "",
    });
    expect(res.statusCode).toBe(204);
    const poisoned = await jsonPost('{"listingId":"x","__proto__":{"admin":true}}');
    expect(poisoned.statusCode).toBe(400);
    expect(poisoned.json().error.code).toBe("validation_failed");
  });

  it("unknown route → 404 not_found", async () => {
    const res = await app.inject({ method: "GET", url: "/api/nope" });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: "not_found", message: "No route for GET /api/nope", requestId: expect.any(String) } });
  });

  it("body too large → 413 payload_too_large", async () => {
    const res = await jsonPost(JSON.stringify({ listingId: "x".repeat(100_000) }));
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error: { code: "payload_too_large", message: ERRORS.payload_too_large.message, requestId: expect.any(String) } });
  });

  it("wrong content type → 415 unsupported_media_type", async () => {
    const res = await jsonPost("listingId=x", { "content-type": "application/x-www-form-urlencoded" });
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe("unsupported_media_type");
  });

  it("schema failure → 400 validation_failed naming the field", async () => {
    const res = await jsonPost(JSON.stringify({ listingId: 5 }));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: { code: "validation_failed", message: expect.stringMatching(/^listingId: /), requestId: expect.any(String) } });
    const missing = await jsonPost(JSON.stringify({}));
    expect(missing.json()).toEqual({ error: { code: "validation_failed", message: "listingId is required", requestId: expect.any(String) } });
  });

  it("/healthz and /readyz need no token; /metrics is Prometheus text", async () => {
    expect((await app.inject({ method: "GET", url: "/healthz" })).json()).toEqual({ status: "ok" });
    // Ready once the node's event subscriptions are live (a moment after start).
    await expect.poll(async () => (await app.inject({ method: "GET", url: "/readyz" })).statusCode).toBe(200);
    const ready = await app.inject({ method: "GET", url: "/readyz" });
    expect(ready.json()).toEqual({ status: "ready", checks: { database: "ok", redis: "ok", "event subscriptions": "ok" } });
    const metrics = await app.inject({ method: "GET", url: "/metrics" });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain("process_resident_memory_bytes");
    expect(metrics.body).toContain("marketchat_http_request_duration_seconds_bucket");
    expect(metrics.body).toContain("marketchat_db_statements_total");
  });
});

describe("metrics behind METRICS_TOKEN", () => {
  const fixture = useTestApp({ METRICS_TOKEN: "scrape-me-please" });

  it("wants the token when one is set; health and readiness never do", async () => {
    const { app } = fixture;
    expect((await app.inject({ method: "GET", url: "/metrics" })).statusCode).toBe(401);
    expect((await app.inject({ method: "GET", url: "/metrics", headers: auth("wrong") })).statusCode).toBe(401);
    const ok = await app.inject({ method: "GET", url: "/metrics", headers: auth("scrape-me-please") });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain("marketchat_sockets_connected");
    expect((await app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    await expect.poll(async () => (await app.inject({ method: "GET", url: "/readyz" })).statusCode).toBe(200);
  });
});

describe("operations metrics", () => {
  // Webhooks to a port where nothing listens: every attempt fails and is retried later.
  const fixture = useTestApp({
    WEBHOOK_URL: "http://127.0.0.1:9/hook",
    WEBHOOK_SECRET: "metrics-test-webhook-secret-0123456789",
    WEBHOOK_DELAY_MS: "0",
    WEBHOOK_POLL_INTERVAL_MS: "50",
  });

  it("exposes the pool, the event subscriptions, socket ack latency, and the webhook backlog and attempts", async () => {
    const { app, url } = fixture;
    const c = await makeConversation(app);
    const socket = await connectSocket(url, c.buyerToken);
    try {
      const ack = await emitAck<{ ok: boolean }>(socket, "message:send", { conversationId: c.conversationId, clientId: randomUUID(), content: "hi" });
      expect(ack.ok).toBe(true);
    } finally {
      socket.close();
    }
    const scrape = async () => (await app.inject({ method: "GET", url: "/metrics" })).body;
    const sample = (text: string, name: string, labels: Record<string, string> = {}) => {
      const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
    };
    const text = await scrape();
    expect(sample(text, "marketchat_socket_ack_seconds_count", { event: "message:send", outcome: "ok" })).toBe(1);
    expect(sample(text, "marketchat_event_subscriptions_up")).toBe(1);
    for (const state of ["in_use", "idle", "waiting"]) expect(sample(text, "marketchat_pg_pool_connections", { state })).toBeGreaterThanOrEqual(0);
    // The seller is offline: one message.unread row, attempted and failed (nothing listens).
    await expect.poll(async () => sample(await scrape(), "marketchat_webhook_attempts_total", { outcome: "retry" }) ?? 0).toBeGreaterThanOrEqual(1);
    expect(sample(await scrape(), "marketchat_webhook_backlog")).toBe(1);
  });
});

describe("readiness when a dependency is down", () => {
  it("answers 503 unavailable when PostgreSQL does not answer", async () => {
    const env = await createTestEnv();
    const { app } = await startApp(env, { DATABASE_URL: "postgresql://postgres@127.0.0.1:1/nowhere" });
    try {
      // Only the database, once the event subscriptions are live (a moment after start).
      await expect
        .poll(async () => (await app.inject({ method: "GET", url: "/readyz" })).json())
        .toEqual({ error: { code: "unavailable", message: "Not ready: database not answering", requestId: expect.any(String) } });
      expect((await app.inject({ method: "GET", url: "/readyz" })).statusCode).toBe(503);
    } finally {
      await app.close();
      await env.close();
    }
  });

  it("answers 503 unavailable when Redis does not answer, and the node keeps running", async () => {
    // A real process: queued Redis commands fail when it shuts down, which the process-level
    // handler in main.ts logs instead of crashing.
    const env = await createTestEnv();
    const node = await startNode(env, "no-redis", { REDIS_URL: "redis://127.0.0.1:1" });
    try {
      const res = await fetch(`${node.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: { code: "unavailable", message: "Not ready: redis, event subscriptions not answering", requestId: expect.any(String) } });
      expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
      expect(await node.stop()).toBe(0);
    } finally {
      await node.kill();
      await env.close();
    }
  });
});

describe("start-up on a database that was never migrated", () => {
  it("applies the migrations (MIGRATE_ON_START, the default) and serves; two nodes starting at once agree", async () => {
    const env = await createTestEnv();
    const name = uniqueName("mc_fresh");
    const freshEnv = { ...env, databaseUrl: databaseUrl(name) };
    const [one, two] = await Promise.all([startNode(freshEnv, "fresh-1"), startNode(freshEnv, "fresh-2")]);
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    try {
      for (const node of [one, two]) expect((await fetch(`${node.url}/readyz`)).status).toBe(200);
      const db = new pg.Client({ connectionString: freshEnv.databaseUrl });
      await db.connect();
      const { rows } = await db.query(`SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL`);
      await db.end();
      expect(rows.map((r) => r.migration_name).sort()).toEqual(readdirSync(MIGRATIONS).filter((d) => /^\d/.test(d)).sort());
    } finally {
      await Promise.all([one.stop(), two.stop()]);
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
      await env.close();
    }
  });
});

