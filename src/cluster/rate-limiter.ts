// Rate limits (README, "Rate limits"). Every limit is a token bucket: `points` requests at once,
// refilled at `points` per `windowMs`, so "20/10s" allows a burst of 20 and then 2 a second.
// Implemented as GCRA (the "generic cell rate algorithm"): one timestamp per key instead of a
// counter and a refill time, so a check is one read-modify-write. Two backends behind this
// interface, chosen by configuration like the event bus: local-rate-limiter.ts (this node's
// memory) and redis-rate-limiter.ts (shared by every node, one Redis command per check).
import type { RateLimit } from "../config/rate-limit-spec.js";
import { AppError } from "../errors/errors.js";

export type { RateLimit };

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

/** The contract's refusal: 429 with Retry-After over HTTP, retryAfterMs in a socket ack. */
export function rateLimited(what: string, retryAfterMs: number): AppError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new AppError("rate_limited", `Too many ${what}: try again in ${seconds} s`, Math.max(1, retryAfterMs));
}
