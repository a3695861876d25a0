// The pieces of "survive the database" that need no database: which errors mean "a store is not
// answering" (→ `unavailable`), and the log that says a repeated failure once per interval.
import { afterEach, describe, expect, it, vi } from "vitest";
import { errorKey, RepeatedLog } from "../src/errors/repeated-log.js";
import { isUnavailableError } from "../src/errors/unavailable-errors.js";
import { toAppError } from "../src/errors/to-app-error.js";

describe("isUnavailableError", () => {
  const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
  it.each([
    ["pg: connection cut", new Error("Connection terminated unexpectedly")],
    ["pg: refused", withCode("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED")],
    ["pg: server shutting down (57P01)", withCode("terminating connection due to administrator command", "57P01")],
    ["pg: starting up (57P03)", withCode("the database system is not yet accepting connections", "57P03")],
    ["pg-pool: connect timeout", new Error("timeout exceeded when trying to connect")],
    ["Prisma: cannot reach (P1001)", withCode("Can't reach database server", "P1001")],
    ["Prisma adapter: wrapped", Object.assign(new Error("wrapped"), { cause: { kind: "ConnectionClosed" } })],
    ["ioredis: closed", new Error("Connection is closed.")],
  ])("%s is unavailable (503 with a retry delay)", (_, err) => {
    expect(isUnavailableError(err)).toBe(true);
    const appError = toAppError(err);
    expect(appError.code).toBe("unavailable");
    expect(appError.status).toBe(503);
    expect(appError.retryAfterMs).toBeGreaterThan(0);
  });

  it.each([
    ["a bug", new TypeError("cannot read properties of undefined")],
    ["a unique violation", withCode("duplicate key value", "23505")],
    ["a syntax error in SQL", withCode("syntax error at or near", "42601")],
  ])("%s stays internal", (_, err) => {
    expect(isUnavailableError(err)).toBe(false);
    expect(toAppError(err).code).toBe("internal");
  });
});

describe("RepeatedLog", () => {
  afterEach(() => vi.useRealTimers());

  it("logs the first occurrence, then one summary with the count per interval, then forgets", () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const repeated = new RepeatedLog({ intervalMs: 10_000, summary: (key, count) => lines.push(`${key} x${count}`) });
    const fail = (message: string) => repeated.report(errorKey("send failed", new Error(message)), () => lines.push(`first: ${message}`));
    for (let i = 0; i < 50; i++) fail("connect ECONNREFUSED");
    fail("Connection terminated unexpectedly");
    expect(lines).toEqual(["first: connect ECONNREFUSED", "first: Connection terminated unexpectedly"]);
    vi.advanceTimersByTime(10_000);
    expect(lines.slice(2)).toEqual(["send failed: connect ECONNREFUSED x49"]);
    // Still failing in the next interval: counted again, not logged one by one.
    for (let i = 0; i < 3; i++) fail("connect ECONNREFUSED");
    vi.advanceTimersByTime(10_000);
    expect(lines.slice(3)).toEqual(["send failed: connect ECONNREFUSED x3"]);
    // A quiet interval ends it: the next occurrence is logged in full again.
    vi.advanceTimersByTime(10_000);
    fail("connect ECONNREFUSED");
    expect(lines.at(-1)).toBe("first: connect ECONNREFUSED");
  });
});
