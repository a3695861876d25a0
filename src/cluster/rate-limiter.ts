// Rate limits (README, "Rate limits"). Every limit is a token bucket: `points` requests at once,
// refilled at `points` per `windowMs`, so "20/10s" allows a burst of 20 and then 2 a second.
// Implemented as GCRA (the "generic cell rate algorithm"): one timestamp per key instead of a
// counter and a refill time, so a check is one read-modify-write. Two backends behind this
// interface, chosen by configuration like the event bus: local-rate-limiter.ts (this node's
// memory) and redis-rate-limiter.ts (shared by every node, one Redis command per check).
import { AppError } from "../errors/errors.js";

export interface RateLimit {
  /** Requests allowed at once: the bucket's size. */
  points: number;
  /** Time in which an empty bucket fills up again (`points` per `windowMs` sustained). */
  windowMs: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** When refused: how long until one more request would be allowed. 0 when allowed. */
  retryAfterMs: number;
}

export interface RateLimiter {
  /** Takes one token from `key`'s bucket, if there is one. */
  consume(key: string, limit: RateLimit): Promise<RateLimitDecision>;
  close(): Promise<void>;
}

/**
 * GCRA's parameters, in milliseconds: the emission interval T (one token's worth of time) and the
 * burst tolerance τ = T·(points − 1). A key's "theoretical arrival time" (TAT) runs ahead of now
 * by T for every token taken and not yet refilled; a request is allowed when the TAT is at most τ
 * ahead of now, and then pushes it T further.
 */
export function gcraParameters(limit: RateLimit): { intervalMs: number; burstMs: number } {
  const intervalMs = limit.windowMs / limit.points;
  return { intervalMs, burstMs: intervalMs * (limit.points - 1) };
}

/** Timestamps are fractional milliseconds: an equality must not fail on a rounding error. */
export const GCRA_EPSILON_MS = 1e-6;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses "<points>/<window>" ("20/10s", "300/1m", "10/1h", "5/500ms"; a bare unit means 1 of it:
 * "300/m"), or "off" / "0" for no limit (null).
 */
export function parseRateLimit(spec: string): RateLimit | null {
  const s = spec.trim().toLowerCase();
  if (s === "off" || s === "0") return null;
  const match = /^(\d+)\s*\/\s*(\d*)\s*(ms|s|m|h)$/.exec(s);
  if (!match) throw new Error(`must be "<count>/<window>" like 20/10s, 300/1m or 10/1h, or "off"`);
  const points = Number(match[1]);
  const windowMs = Number(match[2] || "1") * UNITS[match[3]!]!;
  if (points < 1 || points > 1_000_000) throw new Error("count must be between 1 and 1000000");
  if (windowMs < 1 || windowMs > 7 * 24 * 3_600_000) throw new Error("window must be between 1 ms and 7 days");
  return { points, windowMs };
}

/** The contract's refusal: 429 with Retry-After over HTTP, retryAfterMs in a socket ack. */
export function rateLimited(what: string, retryAfterMs: number): AppError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new AppError("rate_limited", `Too many ${what}: try again in ${seconds} s`, Math.max(1, retryAfterMs));
}
