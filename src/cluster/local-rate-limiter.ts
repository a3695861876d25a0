import { GCRA_EPSILON_MS, gcraParameters, rateLimited, type RateLimit, type RateLimitDecision, type RateLimiter } from "./rate-limiter.js";

export interface LocalRateLimiterOptions {
  /**
   * Keys remembered at most. Beyond it the least recently used are forgotten (they start again
   * with a full bucket), so a flood of new keys (addresses) cannot exhaust memory.
   * @default 100000
   */
  maxKeys?: number;
  /** Milliseconds, monotonic. @default performance.now */
  now?: () => number;
}

/**
 * This node's memory: one theoretical arrival time per key (GCRA, see rate-limiter.ts). A key
 * whose time has passed holds a full bucket, the same as no entry, so those are dropped whenever
 * the map reaches maxKeys. One node only: with several nodes each counts on its own.
 */
export class LocalRateLimiter implements RateLimiter {
  private readonly tats = new Map<string, number>();
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(options: LocalRateLimiterOptions = {}) {
    this.maxKeys = options.maxKeys ?? 100_000;
    this.now = options.now ?? (() => performance.now());
  }

  async consume(key: string, limit: RateLimit): Promise<RateLimitDecision> {
    return this.take(key, limit);
  }

  /** consume() without the promise, for the message send path. */
  take(key: string, limit: RateLimit): RateLimitDecision {
    const now = this.now();
    const { intervalMs, burstMs } = gcraParameters(limit);
    const tat = Math.max(this.tats.get(key) ?? now, now);
    const ahead = tat - now;
    if (ahead > burstMs + GCRA_EPSILON_MS) return { allowed: false, retryAfterMs: Math.ceil(ahead - burstMs) };
    // Re-inserted so that the map's order is least recently used first.
    this.tats.delete(key);
    if (this.tats.size >= this.maxKeys) this.evict(now);
    this.tats.set(key, tat + intervalMs);
    return { allowed: true, retryAfterMs: 0 };
  }

  /** Keys remembered (for tests). */
  get size(): number {
    return this.tats.size;
  }

  async close(): Promise<void> {
    this.tats.clear();
  }

  private evict(now: number): void {
    for (const [key, tat] of this.tats) if (tat <= now) this.tats.delete(key);
    // Leave a tenth free (forgetting the least recently used live buckets if need be), so this
    // scan runs once per maxKeys / 10 new keys at most, not on every insert.
    const keep = Math.floor(this.maxKeys * 0.9);
    for (const key of this.tats.keys()) {
      if (this.tats.size <= keep) break;
      this.tats.delete(key);
    }
  }
}

/**
 * A synchronous per-key check that throws the contract's rate_limited error, for the per-message
 * path: it stays in this node's memory (no Redis command per message), so with several nodes the
 * limit holds per node (README, "Rate limits"). Null limit: no check.
 */
export function localRateCheck(
  what: string,
  limit: RateLimit | null,
  onLimited?: () => void,
  limiter = new LocalRateLimiter(),
): ((key: string) => void) | undefined {
  if (!limit) return undefined;
  return (key) => {
    const decision = limiter.take(key, limit);
    if (decision.allowed) return;
    onLimited?.();
    throw rateLimited(what, decision.retryAfterMs);
  };
}
