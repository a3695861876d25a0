import type { RedisClient } from "./redis.js";
import { GCRA_EPSILON_MS, gcraParameters, type RateLimit, type RateLimitDecision, type RateLimiter } from "./rate-limiter.js";
import { FailOpen, type FailOpenOptions } from "./fail-open.js";

/**
 * A check Redis does not answer in time is allowed (fail open): a Redis outage must not take the
 * API down with it, and the database stays the source of truth.
 */
export interface RedisRateLimiterOptions extends FailOpenOptions {
  /** REDIS_PREFIX: keys are `<prefix>:rl:<key>`. */
  prefix: string;
}

/**
 * Every node shares the buckets: one script call per check (EVALSHA, one round trip), atomic in
 * Redis, timed by Redis's own clock (TIME) so nodes with skewed clocks agree. A key expires once
 * its bucket is full again, so idle users and addresses cost no memory.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly redis: RateLimitCommands;
  private readonly failOpen: FailOpen;

  constructor(redis: RedisClient, private readonly options: RedisRateLimiterOptions) {
    this.redis = defineScript(redis);
    this.failOpen = new FailOpen(options);
  }

  async consume(key: string, limit: RateLimit): Promise<RateLimitDecision> {
    const { intervalMs, burstMs } = gcraParameters(limit);
    const call = this.redis.mcRateLimit(`${this.options.prefix}:rl:${key}`, intervalMs, burstMs + GCRA_EPSILON_MS);
    const [allowed, retryAfterMs] = await this.failOpen.check("rate limit check", call, [1, 0]);
    return { allowed: allowed === 1, retryAfterMs: allowed === 1 ? 0 : retryAfterMs };
  }

  async close(): Promise<void> {
    // The command connection belongs to the app (cluster/redis.ts), which closes it.
  }
}

interface RateLimitCommands {
  mcRateLimit(key: string, intervalMs: number, burstMs: number): Promise<[number, number]>;
}

// GCRA as in local-rate-limiter.ts (see rate-limiter.ts).
// KEYS[1] bucket; ARGV interval ms, burst ms (both fractional) → { allowed, retry after ms }
const GCRA_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local ahead = tat - now
if ahead > burst then
  return { 0, math.ceil(ahead - burst) }
end
local nextTat = tat + interval
redis.call('SET', KEYS[1], string.format('%.3f', nextTat), 'PX', math.max(1, math.ceil(nextTat - now)))
return { 1, 0 }`;

function defineScript(redis: RedisClient): RateLimitCommands {
  const target = redis as unknown as Partial<RateLimitCommands>;
  // ioredis sends EVALSHA and falls back to EVAL once per connection when Redis lacks the script.
  if (typeof target.mcRateLimit !== "function") redis.defineCommand("mcRateLimit", { numberOfKeys: 1, lua: GCRA_LUA });
  return target as RateLimitCommands;
}
