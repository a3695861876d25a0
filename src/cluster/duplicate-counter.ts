// The duplicate-content (spam) rule's shared count (README, "Spam"): for one user and one text
// (normalized, then hashed by the caller), the distinct conversations it went into within a sliding
// window. Two backends behind this interface, chosen with the others in backends.ts:
// local-duplicate-counter.ts (this node's memory, embedded mode) and redis-duplicate-counter.ts
// (shared by every node, one script call per check).

export interface DuplicateDecision {
  allowed: boolean;
  /** When refused: how long until the oldest conversation leaves the window. 0 when allowed. */
  retryAfterMs: number;
}

export interface DuplicateCounter {
  /**
   * Records that the text `key` went into `member` (a conversation) now. A member already counted
   * within the window is always allowed (and its time refreshed); a new one is allowed and counted
   * while fewer than `limit` members are, otherwise refused and not counted.
   */
  admit(key: string, member: string, limit: number, windowMs: number): Promise<DuplicateDecision>;
  close(): Promise<void>;
}
