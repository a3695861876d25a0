// The database handle: one pg pool shared by Prisma (through its pg driver adapter) and by the
// hand-written SQL of the hot paths, so both count against one pool size and one statement
// counter. This file and the repositories beside it are the only code that talks to PostgreSQL.
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/client.js";

export interface Database {
  pool: pg.Pool;
  /**
   * Background workers' own small pool (listing changes, the response-sample sweep): a long
   * batch never holds connections that requests need, and its polling stays out of
   * statementCount, which budgets requests (README, "Listing changes in the thread").
   */
  background: pg.Pool;
  prisma: PrismaClient;
  /** Statements sent to PostgreSQL by this process (hot-path budgets are tested against it). */
  statementCount(): number;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  applicationName?: string;
  /**
   * A pooled connection failed (PostgreSQL restarted, the network cut it), idle or checked out.
   * Only reported: the query in flight on it fails by itself, and pg-pool drops the connection.
   */
  onConnectionError?: (err: Error) => void;
}

export function createDatabase(options: DatabaseOptions): Database {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    application_name: options.applicationName ?? "marketchat",
    // Fail fast rather than queueing forever when PostgreSQL is gone; /readyz reports it.
    connectionTimeoutMillis: 5_000,
  });
  let statements = 0;
  pool.on("connect", (client) => {
    // A listener for the connection's whole life. pg-pool listens only while the connection is
    // idle; a connection checked out with pool.connect() (the send path holds one through publish
    // and unlock) that loses PostgreSQL emits 'error' with no listener, which kills the process.
    client.on("error", (err) => options.onConnectionError?.(err));
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      statements += 1;
      return query(...args);
    };
  });
  // pg-pool re-emits an idle connection's error on the pool (and throws without a listener); the
  // connection's own listener above has reported it already. The next checkout reconnects.
  pool.on("error", () => undefined);

  const background = new pg.Pool({
    connectionString: options.url,
    max: BACKGROUND_POOL_SIZE,
    application_name: `${options.applicationName ?? "marketchat"}:background`,
    connectionTimeoutMillis: 5_000,
  });
  // As above: a checked-out connection (a listing change's batch) losing PostgreSQL must not kill the process.
  background.on("connect", (client) => client.on("error", (err) => options.onConnectionError?.(err)));
  background.on("error", () => undefined);

  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    pool,
    background,
    prisma,
    statementCount: () => statements,
    async ping() {
      await pool.query("SELECT 1");
    },
    async close() {
      await prisma.$disconnect();
      await pool.end();
      await background.end();
    },
  };
}

/** Connections of the background pool: one for a listing change's batch, one for the poll and sweeps. */
export const BACKGROUND_POOL_SIZE = 2;

/** PostgreSQL's error code for unique violations. */
export const UNIQUE_VIOLATION = "23505";

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string } | null;
  return e?.code === UNIQUE_VIOLATION && (constraint === undefined || e.constraint === constraint);
}
