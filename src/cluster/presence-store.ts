// Who is online, across nodes. A node tells the store when it starts and stops holding a user
// (its first socket of that user connects; its last one is gone for good, after the grace period
// that keeps a page reload from flickering); the store answers whether that changed the user's
// cluster-wide state. Two backends behind this interface, chosen by configuration like the event
// bus: local-presence-store.ts (one node) and redis-presence-store.ts (several).

export interface PresenceStatus {
  online: boolean;
  /** When the user was last seen going offline, as far as the store remembers (null: unknown). */
  lastSeenAt: Date | null;
}

export interface WentOffline {
  userId: string;
  lastSeenAt: Date;
}

/** State changes the periodic sweep discovered (a dead node's users, a re-registered node's). */
export interface PresenceSweep {
  cameOnline: string[];
  wentOffline: WentOffline[];
}

export interface PresenceStore {
  /** This node now holds the user. Resolves true when that made the user online (no node had them). */
  attach(userId: string): Promise<boolean>;
  /** This node no longer holds the user. Resolves true when that made the user offline everywhere. */
  detach(userId: string, lastSeenAt: Date): Promise<boolean>;
  status(userIds: readonly string[]): Promise<Map<string, PresenceStatus>>;
  /**
   * Periodic upkeep, run every `sweepIntervalMs`: proves this node alive and releases the users
   * of nodes that stopped proving it (killed, frozen, cut off).
   */
  sweep(): Promise<PresenceSweep>;
  /** 0: nothing to sweep (one node). */
  readonly sweepIntervalMs: number;
  /**
   * This node leaves. Users it still holds go offline: at once when no other node can take over
   * (returned, so the caller can record their last seen), or after the grace period by whichever
   * node sweeps next, so users reconnecting elsewhere during a rolling restart do not flicker.
   */
  close(): Promise<WentOffline[]>;
}
