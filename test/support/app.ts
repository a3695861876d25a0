// Test servers: buildApp on a database and Redis prefix of the test file's own, listening on an
// ephemeral port for socket tests; plus helpers for the marketplace fixtures and sockets.
import type { FastifyInstance } from "fastify";
import { io as connect, type Socket } from "socket.io-client";
import { afterAll, beforeAll } from "vitest";
import { buildApp } from "../../src/app.js";
import { loadConfig, type Config } from "../../src/config/config.js";
import type { ClientToServerEvents, ServerToClientEvents } from "../../src/contract/socket-events.js";
import { rm } from "node:fs/promises";
import { createTestDatabase } from "./database.js";
import { createEmbeddedDataDir } from "./embedded-template.js";
import { redisEnv, uniqueName } from "./env.js";
import { createTestBucket, TEST_S3_ENDPOINT } from "./stored-objects.js";
import { TEST_SECRET, serviceToken, token } from "./tokens.js";

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * "postgres": the machine's PostgreSQL and Redis. "embedded": no DATABASE_URL and no REDIS_URL, so
 * the app runs on embedded PostgreSQL (PGlite) under a temporary DATA_DIR with in-memory fan-out.
 */
export type TestMode = "postgres" | "embedded";

/** This run's mode: TEST_MODE=embedded (vitest.config.ts runs the core suites in both modes). */
export const TEST_MODE: TestMode = process.env.TEST_MODE === "embedded" ? "embedded" : "postgres";

export interface TestEnv {
  /** Absent means "postgres" (environments built by hand, e.g. bench/support). */
  mode?: TestMode;
  /** The test file's PostgreSQL database; "" in embedded mode (the app opens DATA_DIR itself). */
  databaseUrl: string;
  redisPrefix: string;
  /** The s3 project's storage variables (STORAGE=s3 on a bucket of this file's own); absent: local disk. */
  storage?: Record<string, string>;
  /** Embedded mode's DATA_DIR (a temporary directory, removed by close()). */
  dataDir?: string;
  close(): Promise<void>;
}

/** A database and a Redis prefix for one test file (or, embedded, a DATA_DIR of its own). */
export async function createTestEnv(mode: TestMode = TEST_MODE): Promise<TestEnv> {
  if (mode === "embedded") {
    const dataDir = await createEmbeddedDataDir();
    return {
      mode,
      databaseUrl: "",
      redisPrefix: uniqueName("mctest"),
      dataDir,
      close: () => rm(dataDir, { recursive: true, force: true }),
    };
  }
  const db = await createTestDatabase();
  // The s3 project (vitest.config.ts): the same suites with attachments in a bucket of their own.
  const storage = TEST_S3_ENDPOINT ? await createTestBucket(uniqueName("mcs3")) : undefined;
  return { mode, databaseUrl: db.url, redisPrefix: uniqueName("mctest"), ...(storage ? { storage } : {}), close: db.drop };
}

export function testConfig(env: TestEnv, overrides: Record<string, string | undefined> = {}): Config {
  return loadConfig({
    NODE_ENV: "test",
    ...(env.mode === "embedded"
      ? { DATA_DIR: env.dataDir }
      : { DATABASE_URL: env.databaseUrl, ...redisEnv(overrides) }),
    REDIS_PREFIX: env.redisPrefix,
    JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    PORT: "0",
    HOST: "127.0.0.1",
    ...env.storage,
    ...overrides,
  });
}

/**
 * This run's Redis (REDIS_URL, or REDIS_CLUSTER_NODES in the redis-cluster project), unless the
 * overrides choose (`REDIS_URL: undefined` for the in-memory backends, or another URL).
 */
export async function startApp(env: TestEnv, overrides: Record<string, string | undefined> = {}) {
  const app = await buildApp(testConfig(env, overrides));
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return { app, url: `http://127.0.0.1:${port}` };
}

/** Connects a socket and waits for the connection (or rejects with the connect_error). */
export function connectSocket(url: string, jwt: string, opts: { transports?: string[] } = {}): Promise<ClientSocket> {
  const socket: ClientSocket = connect(url, {
    auth: { token: jwt },
    transports: opts.transports ?? ["websocket"],
    reconnection: false,
    forceNew: true,
  });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => {
      socket.close();
      reject(err);
    });
  });
}

/** Emits with an ack and resolves with the ack's response. */
export function emitAck<T = unknown>(socket: ClientSocket, event: string, payload: unknown): Promise<T> {
  return (socket as unknown as Socket).timeout(10_000).emitWithAck(event, payload) as Promise<T>;
}

/** Resolves with the next `event` on the socket matching `filter`. */
export function nextEvent<T = unknown>(socket: ClientSocket, event: string, filter: (p: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve, reject) => {
    const s = socket as unknown as Socket;
    const timer = setTimeout(() => {
      s.off(event, handler);
      reject(new Error(`no ${event} within 10s`));
    }, 10_000);
    const handler = (payload: T) => {
      if (!filter(payload)) return;
      clearTimeout(timer);
      s.off(event, handler);
      resolve(payload);
    };
    s.on(event, handler);
  });
}

/** Records every `event` a socket receives. */
export function record<T = unknown>(socket: ClientSocket, event: string): T[] {
  const seen: T[] = [];
  (socket as unknown as Socket).on(event, (p: T) => seen.push(p));
  return seen;
}

export async function pushUser(app: FastifyInstance, id: string, name = id) {
  const res = await app.inject({
    method: "PUT",
    url: `/api/internal/users/${encodeURIComponent(id)}`,
    headers: { authorization: `Bearer ${serviceToken()}` },
    payload: { name },
  });
  if (res.statusCode >= 300) throw new Error(`pushUser ${res.statusCode} ${res.body}`);
  return res.json();
}

export async function pushListing(app: FastifyInstance, id: string, sellerId: string, extra: Record<string, unknown> = {}) {
  const res = await app.inject({
    method: "PUT",
    url: `/api/internal/listings/${encodeURIComponent(id)}`,
    headers: { authorization: `Bearer ${serviceToken()}` },
    payload: { sellerId, title: `Listing ${id}`, ...extra },
  });
  if (res.statusCode >= 300) throw new Error(`pushListing ${res.statusCode} ${res.body}`);
  return res.json();
}

/** A buyer/seller pair with a listing and an opened conversation. */
export async function makeConversation(app: FastifyInstance, tag = uniqueName("c")) {
  const buyer = `buyer-${tag}`;
  const seller = `seller-${tag}`;
  await pushUser(app, buyer, `Buyer ${tag}`);
  await pushUser(app, seller, `Seller ${tag}`);
  await pushListing(app, `listing-${tag}`, seller);
  const res = await app.inject({
    method: "POST",
    url: "/api/conversations",
    headers: { authorization: `Bearer ${token(buyer)}` },
    payload: { listingId: `listing-${tag}` },
  });
  if (res.statusCode !== 201) throw new Error(`open ${res.statusCode} ${res.body}`);
  return { buyer, seller, listingId: `listing-${tag}`, conversationId: res.json().id as string, buyerToken: token(buyer), sellerToken: token(seller) };
}

export const auth = (jwt: string) => ({ authorization: `Bearer ${jwt}` });

/**
 * The usual test-file fixture: a database and Redis prefix of the file's own, one app listening
 * on an ephemeral port, and sockets that are closed at the end. Call at the top of a file.
 */
export function useTestApp(overrides: Record<string, string | undefined> = {}) {
  let env: TestEnv | undefined;
  let started: { app: FastifyInstance; url: string } | undefined;
  const sockets: ClientSocket[] = [];
  beforeAll(async () => {
    env = await createTestEnv();
    started = await startApp(env, overrides);
  });
  afterAll(async () => {
    sockets.forEach((s) => s.close());
    await started?.app.close();
    await env?.close();
  });
  return {
    get env(): TestEnv {
      return env!;
    },
    get app(): FastifyInstance {
      return started!.app;
    },
    get url(): string {
      return started!.url;
    },
    /** A connected socket, closed after the file's tests. */
    async socket(jwt: string): Promise<ClientSocket> {
      const s = await connectSocket(started!.url, jwt);
      sockets.push(s);
      return s;
    },
    /** POST /api/conversations/:id/messages as `jwt`. */
    send(jwt: string, conversationId: string, body: Record<string, unknown>) {
      return started!.app.inject({ method: "POST", url: `/api/conversations/${conversationId}/messages`, headers: auth(jwt), payload: body });
    },
  };
}
