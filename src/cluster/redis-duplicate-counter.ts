import type { RedisClient } from "./redis.js";
import type { DuplicateCounter, DuplicateDecision } from "./duplicate-counter.js";
import { FailOpen, type FailOpenOptions } from "./fail-open.js";

/** A check Redis does not answer in time is allowed (fail open), as rate limits are. */
export interface RedisDuplicateCounterOptions extends FailOpenOptions {
  /** REDIS_PREFIX: keys are `<prefix>:dup:<key>`. */
  prefix: string;
}

/**
 * Every node shares the count: one sorted set per key (members: conversations, scores: when the
 * text last went there), one script call per check (EVALSHA, one round trip), atomic in Redis and
 * timed by Redis's clock. The key expires with its newest member.
 */
export class RedisDuplicateCounter implements DuplicateCounter {
  private readonly redis: DuplicateCommands;
  private readonly failOpen: FailOpen;

  constructor(redis: RedisClient, private readonly options: RedisDuplicateCounterOptions) {
    this.redis = defineScript(redis);
    this.failOpen = new FailOpen(options);
  }

  async admit(key: string, member: string, limit: number, windowMs: number): Promise<DuplicateDecision> {
    const call = this.redis.mcDuplicate(`${this.options.prefix}:dup:${key}`, member, limit, windowMs);
    const [allowed, retryAfterMs] = await this.failOpen.check("duplicate check", call, [1, 0]);
    return { allowed: allowed === 1, retryAfterMs: allowed === 1 ? 0 : Math.max(1, retryAfterMs) };
  }

  async close(): Promise<void> {
    // The command connection belongs to the app (cluster/redis.ts), which closes it.
  }
}

interface DuplicateCommands {
  mcDuplicate(key: string, member: string, limit: number, windowMs: number): Promise<[number, number]>;
}

// KEYS[1] the text's set; ARGV member, limit, window ms → { allowed, retry after ms }
const DUPLICATE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return { 0, math.ceil(tonumber(oldest[2]) + window - now) }
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], window)
return { 1, 0 }`;

function defineScript(redis: RedisClient): DuplicateCommands {
  const target = redis as unknown as Partial<DuplicateCommands>;
  if (typeof target.mcDuplicate !== "function") redis.defineCommand("mcDuplicate", { numberOfKeys: 1, lua: DUPLICATE_LUA });
  return target as DuplicateCommands;
}
