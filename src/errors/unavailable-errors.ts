// Which thrown errors mean "a store we depend on is not answering" (PostgreSQL restarting, a lost
// connection, Redis away) rather than a bug. Those answer `unavailable` (503 with Retry-After, a
// socket ack the client package retries) instead of `internal`, and are logged without a stack.
// Recognised by shape only (error codes, SQLSTATE classes, the drivers' messages), walking the
// `cause` chain: errors/ is a leaf and may not import the drivers or the repositories.

/** How long clients are told to wait before retrying a request refused this way. */
export const UNAVAILABLE_RETRY_AFTER_MS = 2_000;

// Socket errors of a connection that could not open or was cut.
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "ECONNABORTED"]);
// PostgreSQL SQLSTATEs: class 08 (connection exception), 57P01-57P03 (admin / crash shutdown,
// cannot connect now: the server is stopping or starting), 53300 (too many connections).
const PG_CODES = /^(08...|57P0[1-3]|53300)$/;
// Prisma's codes for "cannot reach", "server closed the connection", "pool timeout".
const PRISMA_CODES = new Set(["P1001", "P1002", "P1017", "P2024"]);
// Prisma's driver-adapter error kinds (@prisma/adapter-pg convertDriverError).
const ADAPTER_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);
// Messages of pg (node-postgres), pg-pool and ioredis that carry no code.
const MESSAGES =
  /Connection terminated|not queryable|timeout exceeded when trying to connect|Client was closed|Connection is closed|Stream isn't writeable|Reached the max retries per request|terminating connection|the database system is (starting up|shutting down|in recovery mode)/i;

export function isUnavailableError(err: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = err;
  // Prisma wraps the driver's error (cause, meta.driverAdapterError); a few levels are enough.
  while (current && typeof current === "object" && !seen.has(current) && seen.size < 6) {
    seen.add(current);
    const e = current as { code?: unknown; message?: unknown; name?: unknown; kind?: unknown; cause?: unknown; meta?: { driverAdapterError?: unknown } };
    if (typeof e.code === "string" && (SOCKET_CODES.has(e.code) || PG_CODES.test(e.code) || PRISMA_CODES.has(e.code))) return true;
    if (typeof e.kind === "string" && ADAPTER_KINDS.has(e.kind)) return true;
    if (e.name === "MaxRetriesPerRequestError") return true;
    if (typeof e.message === "string" && MESSAGES.test(e.message)) return true;
    current = e.cause ?? e.meta?.driverAdapterError;
  }
  return false;
}
