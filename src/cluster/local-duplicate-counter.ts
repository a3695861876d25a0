import type { DuplicateCounter, DuplicateDecision } from "./duplicate-counter.js";

/**
 * This node's memory: per key, the conversations and when the text last went into each. Keys
 * whose members have all left the window are dropped when the map reaches maxKeys (then the least
 * recently used go too), so a flood of distinct texts cannot exhaust memory. One node only.
 */
export class LocalDuplicateCounter implements DuplicateCounter {
  private readonly keys = new Map<string, Map<string, number>>();

  constructor(
    private readonly maxKeys = 100_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  async admit(key: string, member: string, limit: number, windowMs: number): Promise<DuplicateDecision> {
    const now = this.now();
    const members = this.keys.get(key) ?? new Map<string, number>();
    for (const [m, at] of members) if (at <= now - windowMs) members.delete(m);
    // Re-inserted so that the map's order is least recently used first.
    this.keys.delete(key);
    if (!members.has(member) && members.size >= limit) {
      this.keys.set(key, members);
      const oldest = Math.min(...members.values());
      return { allowed: false, retryAfterMs: Math.max(1, Math.ceil(oldest + windowMs - now)) };
    }
    members.set(member, now);
    if (this.keys.size >= this.maxKeys) this.evict(now, windowMs);
    this.keys.set(key, members);
    return { allowed: true, retryAfterMs: 0 };
  }

  async close(): Promise<void> {
    this.keys.clear();
  }

  private evict(now: number, windowMs: number): void {
    for (const [key, members] of this.keys) {
      if ([...members.values()].every((at) => at <= now - windowMs)) this.keys.delete(key);
    }
    const keep = Math.floor(this.maxKeys * 0.9);
    for (const key of this.keys.keys()) {
      if (this.keys.size <= keep) break;
      this.keys.delete(key);
    }
  }
}
