import type { PresenceStatus, PresenceStore, PresenceSweep, WentOffline } from "./presence-store.js";

/**
 * Single node: the node's own memory is the whole truth. Last-seen times are kept only until the
 * database has them (the presence service writes them within a second), so the map is bounded.
 */
export class LocalPresenceStore implements PresenceStore {
  readonly sweepIntervalMs = 0;
  private readonly online = new Set<string>();
  private readonly lastSeen = new Map<string, Date>();

  constructor(private readonly maxRemembered = 10_000) {}

  async attach(userId: string): Promise<boolean> {
    if (this.online.has(userId)) return false;
    this.online.add(userId);
    return true;
  }

  async detach(userId: string, lastSeenAt: Date): Promise<boolean> {
    if (!this.online.delete(userId)) return false;
    this.remember(userId, lastSeenAt);
    return true;
  }

  async status(userIds: readonly string[]): Promise<Map<string, PresenceStatus>> {
    return new Map(userIds.map((id) => [id, { online: this.online.has(id), lastSeenAt: this.lastSeen.get(id) ?? null }]));
  }

  async sweep(): Promise<PresenceSweep> {
    return { cameOnline: [], wentOffline: [] };
  }

  async close(): Promise<WentOffline[]> {
    const now = new Date();
    const gone = [...this.online].map((userId) => ({ userId, lastSeenAt: now }));
    this.online.clear();
    return gone;
  }

  private remember(userId: string, at: Date): void {
    this.lastSeen.delete(userId);
    if (this.lastSeen.size >= this.maxRemembered) this.lastSeen.delete(this.lastSeen.keys().next().value!);
    this.lastSeen.set(userId, at);
  }
}
