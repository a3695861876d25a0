// The database handle: one pg pool shared by Prisma (through its pg driver adapter) and by the
// hand-written SQL of the hot paths, so both count against one pool size and one statement
// counter. This file and the repositories beside it are the only code that talks to PostgreSQL.
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/client.js";

export interface Database {
  pool: pg.Pool;
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
  /** Errors of idle pooled connections (PostgreSQL restarted…); the pool replaces them. */
  onIdleError?: (err: Error) => void;
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
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      statements += 1;
      return query(...args);
    };
  });
  // An idle client losing its connection must not crash the process; the next checkout reconnects.
  pool.on("error", (err) => options.onIdleError?.(err));

  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    pool,
    prisma,
    statementCount: () => statements,
    async ping() {
      await pool.query("SELECT 1");
    },
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/** PostgreSQL's error code for unique violations. */
export const UNIQUE_VIOLATION = "23505";

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string } | null;
  return e?.code === UNIQUE_VIOLATION && (constraint === undefined || e.constraint === constraint);
}
