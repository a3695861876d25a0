import { randomBytes } from "node:crypto";
import type { RedisClient } from "./redis.js";
import type { PresenceStatus, PresenceStore, PresenceSweep, WentOffline } from "./presence-store.js";

export interface RedisPresenceOptions {
  /** REDIS_PREFIX: keys live under `<prefix>:{presence}:…`. */
  prefix: string;
  /** NODE_ID; a random suffix makes each process its own member, so a restart never adopts a dead predecessor's entries. */
  nodeId: string;
  /** A node that has not proved itself alive for this long is taken for dead (PRESENCE_TTL_MS). */
  ttlMs: number;
  /** After a clean shutdown, how long the node's users stay online for reconnecting elsewhere (PRESENCE_GRACE_MS). */
  graceMs: number;
  /** How long Redis remembers a last-seen time; the database keeps it for good. @default 24 h */
  lastSeenTtlMs?: number;
  /** Users released per sweep script, so one dead node with many users never blocks Redis long. @default 1000 */
  reapBatch?: number;
  /**
   * Connection for the periodic sweep: a queue of slow commands on the main connection must not
   * delay this node's proof of life, and background work stays out of per-request command counts.
   * @default the main connection
   */
  sweepConnection?: RedisClient;
}

/**
 * Several nodes. Every node is a member of a sorted set scored by the deadline before which it
 * must prove itself alive again; each sweep (at most every second) pushes its own deadline to
 * now + ttl and releases the users of members whose deadline has passed. Time is Redis's own
 * (TIME inside the scripts), so clocks skewed between nodes do not matter.
 *
 * Keys (one hash tag, so the scripts also run on a Redis Cluster, on one shard):
 *   nodes  ZSET  member → deadline ms           beat  HASH member → last time alive (ms)
 *   u:<user> HASH member → 1  (online while not empty)
 *   n:<member> SET users the member holds (what to release when it dies)
 *   s:<user> last seen ms, expiring (the database has it for good)
 * Every key also expires a day after it was last refreshed (sweeps refresh the registry and the
 * node's own set every second, an hourly resync the users'), so a prefix whose nodes are all
 * gone for good cleans itself up.
 *
 * Each operation is one script call: one Redis command per first connect and per final
 * disconnect of a user on a node, one per sweep.
 */
export class RedisPresenceStore implements PresenceStore {
  readonly sweepIntervalMs: number;
  private readonly member: string;
  private readonly base: string;
  private readonly nodesKey: string;
  private readonly beatKey: string;
  private readonly lastSeenTtlMs: number;
  private readonly reapBatch: number;
  /** The users this node holds: what a re-registration must put back. */
  private readonly attached = new Set<string>();
  /** Detaches that failed (Redis away): retried by the next sweep. */
  private readonly pendingDetach = new Map<string, Date>();
  /** While a resync runs: when each user detached meanwhile went (their last-seen time). */
  private detachedDuringResync: Map<string, Date> | null = null;
  private needsResync = false;
  private lastResync = Date.now();
  private readonly redis: PresenceCommands;
  private readonly sweeper: PresenceCommands;

  constructor(redis: RedisClient, private readonly options: RedisPresenceOptions) {
    this.member = `${options.nodeId}#${randomBytes(4).toString("hex")}`;
    this.base = `${options.prefix}:{presence}`;
    this.nodesKey = `${this.base}:nodes`;
    this.beatKey = `${this.base}:beat`;
    this.lastSeenTtlMs = options.lastSeenTtlMs ?? 24 * 3600_000;
    this.reapBatch = options.reapBatch ?? 1000;
    // Sweeping every second (one command) keeps "killed node → offline" at ttl + 1 s and lets a
    // cleanly stopped node's users go offline soon after its grace period.
    this.sweepIntervalMs = Math.max(100, Math.min(1000, Math.floor(options.ttlMs / 4)));
    this.redis = defineScripts(redis);
    this.sweeper = options.sweepConnection ? defineScripts(options.sweepConnection) : this.redis;
  }

  async attach(userId: string): Promise<boolean> {
    this.attached.add(userId);
    this.pendingDetach.delete(userId);
    try {
      const [cameOnline, registered] = await this.redis.mcPresenceAttach(
        this.nodesKey, this.beatKey, this.userKey(userId), this.memberKey(this.member),
        this.member, userId, this.options.ttlMs, KEEP_MS,
      );
      // Registered anew: a sweeper took this node for dead and released its other users.
      if (registered === 1) this.needsResync = true;
      return cameOnline === 1;
    } catch (err) {
      this.needsResync = true;
      throw err;
    }
  }

  async detach(userId: string, lastSeenAt: Date): Promise<boolean> {
    this.attached.delete(userId);
    this.detachedDuringResync?.set(userId, lastSeenAt);
    try {
      const wentOffline = await this.redis.mcPresenceDetach(
        this.userKey(userId), this.memberKey(this.member), this.seenKey(userId),
        this.member, userId, lastSeenAt.getTime(), this.lastSeenTtlMs,
      );
      return wentOffline === 1;
    } catch (err) {
      this.pendingDetach.set(userId, lastSeenAt);
      throw err;
    }
  }

  async status(userIds: readonly string[]): Promise<Map<string, PresenceStatus>> {
    const result = new Map<string, PresenceStatus>();
    if (userIds.length === 0) return result;
    const keys = [...userIds.map((id) => this.userKey(id)), ...userIds.map((id) => this.seenKey(id))];
    const raw = await this.redis.mcPresenceStatus(keys.length, ...keys);
    userIds.forEach((id, i) => {
      const seen = raw[2 * i + 1];
      result.set(id, { online: raw[2 * i] === 1, lastSeenAt: seen ? new Date(Number(seen)) : null });
    });
    return result;
  }

  async sweep(): Promise<PresenceSweep> {
    const wentOffline: WentOffline[] = [];
    let registered = false;
    let more = true;
    // A dead node with many users is released a batch per script call, without waiting for the
    // next tick, so the bound holds whatever its size (capped per sweep; the next one goes on).
    for (let round = 0; more && round < MAX_REAP_ROUNDS; round++) {
      const raw = await this.sweeper.mcPresenceSweep(
        this.nodesKey, this.beatKey, this.memberKey(this.member),
        this.member, this.options.ttlMs, this.base, this.lastSeenTtlMs, this.reapBatch, KEEP_MS,
      );
      registered ||= raw[0] === 1;
      more = raw[1] === 1;
      for (let i = 2; i + 1 < raw.length; i += 2) {
        wentOffline.push({ userId: String(raw[i]), lastSeenAt: new Date(Number(raw[i + 1])) });
      }
    }
    let cameOnline: string[] = [];
    if (Date.now() - this.lastResync >= RESYNC_EVERY_MS) this.needsResync = true;
    if (registered || this.needsResync) cameOnline = await this.resync();
    for (const [userId, lastSeenAt] of [...this.pendingDetach]) {
      this.pendingDetach.delete(userId);
      if (await this.detach(userId, lastSeenAt)) wentOffline.push({ userId, lastSeenAt });
    }
    return { cameOnline, wentOffline };
  }

  async close(): Promise<WentOffline[]> {
    await this.redis.mcPresenceLeave(this.nodesKey, this.beatKey, this.member, this.options.graceMs);
    return [];
  }

  /** Puts back every user this node holds; resolves with those that this made online again. */
  private async resync(): Promise<string[]> {
    this.needsResync = false;
    this.lastResync = Date.now();
    const snapshot = [...this.attached];
    const detached = (this.detachedDuringResync = new Map());
    const cameOnline: string[] = [];
    try {
      for (let i = 0; i < snapshot.length; i += this.reapBatch) {
        const chunk = snapshot.slice(i, i + this.reapBatch);
        const back = await this.sweeper.mcPresenceAttachMany(
          this.nodesKey, this.beatKey, this.memberKey(this.member),
          this.member, this.options.ttlMs, this.base, KEEP_MS, ...chunk,
        );
        cameOnline.push(...back.map(String));
      }
    } catch (err) {
      this.needsResync = true;
      throw err;
    } finally {
      this.detachedDuringResync = null;
    }
    // A user whose last socket went while the resync ran was put back by it: release them again,
    // with the time they really went (at worst their contacts see one extra offline).
    for (const userId of snapshot) {
      if (!this.attached.has(userId)) this.pendingDetach.set(userId, detached.get(userId) ?? new Date());
    }
    return cameOnline.filter((userId) => this.attached.has(userId));
  }

  private userKey(userId: string): string {
    return `${this.base}:u:${userId}`;
  }

  private memberKey(member: string): string {
    return `${this.base}:n:${member}`;
  }

  private seenKey(userId: string): string {
    return `${this.base}:s:${userId}`;
  }
}

const MAX_REAP_ROUNDS = 100;
/** Safety net: keys nobody refreshed for this long expire. */
const KEEP_MS = 24 * 3600_000;
/** Re-attaching every held user refreshes their keys' expiry (and heals anything lost). */
const RESYNC_EVERY_MS = 3600_000;

type Arg = string | number;

interface PresenceCommands {
  mcPresenceAttach(...args: Arg[]): Promise<[number, number]>;
  mcPresenceAttachMany(...args: Arg[]): Promise<string[]>;
  mcPresenceDetach(...args: Arg[]): Promise<number>;
  mcPresenceStatus(numKeys: number, ...keys: string[]): Promise<(number | string)[]>;
  mcPresenceSweep(...args: Arg[]): Promise<(number | string)[]>;
  mcPresenceLeave(...args: Arg[]): Promise<number>;
}

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const SCRIPTS = {
  // KEYS nodes, beat, u:<user>, n:<member>; ARGV member, user, ttl, keep → { came online, registered anew }
  mcPresenceAttach: {
    numberOfKeys: 4,
    lua: `${NOW}
local registered = redis.call('ZADD', KEYS[1], 'NX', now + tonumber(ARGV[3]), ARGV[1])
if registered == 1 then redis.call('HSET', KEYS[2], ARGV[1], now) end
local before = redis.call('EXISTS', KEYS[3])
redis.call('HSET', KEYS[3], ARGV[1], 1)
redis.call('PEXPIRE', KEYS[3], ARGV[4])
redis.call('SADD', KEYS[4], ARGV[2])
redis.call('PEXPIRE', KEYS[4], ARGV[4])
return { 1 - before, registered }`,
  },
  // KEYS nodes, beat, n:<member>; ARGV member, ttl, base, keep, users… → users that came online
  mcPresenceAttachMany: {
    numberOfKeys: 3,
    lua: `${NOW}
if redis.call('ZADD', KEYS[1], 'NX', now + tonumber(ARGV[2]), ARGV[1]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[1], now)
end
local out = {}
for i = 5, #ARGV do
  local userKey = ARGV[3] .. ':u:' .. ARGV[i]
  if redis.call('EXISTS', userKey) == 0 then out[#out + 1] = ARGV[i] end
  redis.call('HSET', userKey, ARGV[1], 1)
  redis.call('PEXPIRE', userKey, ARGV[4])
  redis.call('SADD', KEYS[3], ARGV[i])
end
if #ARGV >= 5 then redis.call('PEXPIRE', KEYS[3], ARGV[4]) end
return out`,
  },
  // KEYS u:<user>, n:<member>, s:<user>; ARGV member, user, last seen ms, last seen ttl → went offline
  mcPresenceDetach: {
    numberOfKeys: 3,
    lua: `
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[2])
if removed == 0 then return 0 end
-- Recorded even while another node still holds the user: if that node then dies, this is the
-- better last seen for the sweeper to report.
local previous = tonumber(redis.call('GET', KEYS[3]) or '0')
if tonumber(ARGV[3]) > previous then redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4]) end
if redis.call('EXISTS', KEYS[1]) == 0 then return 1 end
return 0`,
  },
  // KEYS u:<id>…, s:<id>… → { online, last seen ms or '' } per id
  mcPresenceStatus: {
    lua: `
local n = #KEYS / 2
local out = {}
for i = 1, n do
  out[2 * i - 1] = redis.call('EXISTS', KEYS[i])
  out[2 * i] = redis.call('GET', KEYS[n + i]) or ''
end
return out`,
  },
  // KEYS nodes, beat, n:<member>; ARGV member, ttl, base, last seen ttl, batch, keep
  // → { registered anew, more to release, user, last seen ms, user, last seen ms… }
  mcPresenceSweep: {
    numberOfKeys: 3,
    lua: `${NOW}
local registered = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], now)
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('PEXPIRE', KEYS[3], ARGV[6])
local out = { registered, 0 }
local budget = tonumber(ARGV[5])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 16)
for _, node in ipairs(dead) do
  if budget <= 0 then
    out[2] = 1
    break
  end
  local seen = redis.call('HGET', KEYS[2], node) or tostring(now)
  local setKey = ARGV[3] .. ':n:' .. node
  local users = redis.call('SPOP', setKey, budget)
  budget = budget - #users
  for _, u in ipairs(users) do
    local userKey = ARGV[3] .. ':u:' .. u
    if redis.call('HDEL', userKey, node) == 1 and redis.call('EXISTS', userKey) == 0 then
      local seenKey = ARGV[3] .. ':s:' .. u
      local last = math.max(tonumber(seen), tonumber(redis.call('GET', seenKey) or '0'))
      redis.call('SET', seenKey, last, 'PX', ARGV[4])
      out[#out + 1] = u
      out[#out + 1] = tostring(last)
    end
  end
  if redis.call('EXISTS', setKey) == 0 then
    redis.call('ZREM', KEYS[1], node)
    redis.call('HDEL', KEYS[2], node)
  else
    out[2] = 1
  end
end
return out`,
  },
  // KEYS nodes, beat; ARGV member, grace → 1 if the member was still registered
  mcPresenceLeave: {
    numberOfKeys: 2,
    lua: `${NOW}
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[1], now)
  return 1
end
return 0`,
  },
} satisfies Record<keyof PresenceCommands, { numberOfKeys?: number; lua: string }>;

function defineScripts(redis: RedisClient): PresenceCommands {
  const target = redis as unknown as Partial<PresenceCommands>;
  // ioredis sends EVALSHA and falls back to EVAL once per connection when Redis lacks the script.
  for (const [name, script] of Object.entries(SCRIPTS)) {
    if (typeof target[name as keyof PresenceCommands] !== "function") redis.defineCommand(name, script);
  }
  return target as PresenceCommands;
}
