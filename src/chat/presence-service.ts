// Presence rules: a user is online while any of their sockets is connected on any node, goes
// offline a grace period after the last one closes (a page reload does not flicker), and only
// users who share a conversation see each other's presence. Changes leave as PresenceChange
// events (realtime/ turns them into user:online / user:offline); the cross-node bookkeeping is
// the PresenceStore's.
import { z } from "zod";
import type { Principal } from "../auth/token-verifier.js";
import type { PresenceStore } from "../cluster/presence-store.js";
import type { PresenceView } from "../contract/shapes.js";
import type { PresenceRepository } from "../db/presence-repository.js";
import { AppError, invalid } from "../errors/errors.js";
import type { ChatEvent } from "./events.js";
import { LastSeenWriter } from "./last-seen-writer.js";
import { externalId, parse } from "./schemas.js";

export const MAX_PRESENCE_IDS = 100;
/** How long a user's contact list is reused; a first message invalidates it at once on every node. */
const CONTACTS_TTL_MS = 5 * 60_000;
const CONTACTS_CACHE_MAX = 20_000;
/** Announcements go to the contacts of the most recent conversations, so a seller with a huge
 *  history does not fan one connect out to everyone they ever talked to. */
const CONTACTS_MAX = 1000;
/** Users per contacts statement when a sweep releases a dead node's users together. */
const CONTACTS_BATCH = 500;
const LAST_SEEN_FLUSH_MS = 1000;

export interface PresenceChange {
  userId: string;
  online: boolean;
  /** Set when going offline. */
  lastSeenAt: string | null;
  /** The users to tell: those who share a conversation with `userId`. */
  to: string[];
}

export interface PresenceServiceDeps {
  store: PresenceStore;
  repository: PresenceRepository;
  /** PRESENCE_GRACE_MS. */
  graceMs: number;
  /** Tells the contacts (a presence.changed event on the bus). */
  announce: (change: PresenceChange) => void;
  onBackgroundError: (err: unknown, what: string) => void;
  /** Sweeps failing and recovering, logged once per outage rather than every second. */
  onSweepHealth?: (ok: boolean, err?: unknown) => void;
}

export const presenceQuery = z.object({
  userIds: z.array(externalId).min(1, "at least one id is required").max(MAX_PRESENCE_IDS, `at most ${MAX_PRESENCE_IDS} ids`),
});

export class PresenceService {
  /** This node's open sockets per user. */
  private readonly sockets = new Map<string, number>();
  /** Users whose last socket here closed, released when the grace period ends. */
  private readonly releases = new Map<string, NodeJS.Timeout>();
  /** Store calls per user run one after the other, so attach and detach never cross. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly contacts = new Map<string, { ids: string[]; until: number }>();
  /** Bumped by every invalidation, so a lookup started before one does not cache stale contacts. */
  private contactsEpoch = 0;
  private readonly lastSeen: LastSeenWriter;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private sweepOk = true;
  private closed = false;

  constructor(private readonly deps: PresenceServiceDeps) {
    this.lastSeen = new LastSeenWriter(
      (entries) => deps.repository.saveLastSeen(entries),
      LAST_SEEN_FLUSH_MS,
      (err) => deps.onBackgroundError(err, "save last seen"),
    );
  }

  /** Starts the store's periodic sweep (none for the single-node store). */
  start(): void {
    const every = this.deps.store.sweepIntervalMs;
    if (every <= 0 || this.sweepTimer) return;
    this.sweep();
    this.sweepTimer = setInterval(() => this.sweep(), every);
  }

  connected(userId: string): void {
    if (this.closed) return;
    const count = (this.sockets.get(userId) ?? 0) + 1;
    this.sockets.set(userId, count);
    if (count > 1) return;
    const release = this.releases.get(userId);
    if (release) {
      // Back within the grace period (a reload): the store never heard they left.
      clearTimeout(release);
      this.releases.delete(userId);
      return;
    }
    // While this node held none of the user's sockets it did not hear their events (the bus sends
    // a node only its users' copies), so a cached contact list may miss a first message since.
    this.forgetContacts([userId]);
    this.enqueue(userId, "attach", async () => {
      if (await this.deps.store.attach(userId)) await this.announce([{ userId, online: true, lastSeenAt: null }]);
    });
  }

  disconnected(userId: string): void {
    if (this.closed) return;
    const count = (this.sockets.get(userId) ?? 1) - 1;
    if (count > 0) {
      this.sockets.set(userId, count);
      return;
    }
    this.sockets.delete(userId);
    const lastSeenAt = new Date();
    const release = () => {
      this.releases.delete(userId);
      this.enqueue(userId, "detach", async () => {
        if (!(await this.deps.store.detach(userId, lastSeenAt))) return;
        this.lastSeen.add(userId, lastSeenAt);
        await this.announce([{ userId, online: false, lastSeenAt }]);
      });
    };
    if (this.deps.graceMs <= 0) release();
    else this.releases.set(userId, setTimeout(release, this.deps.graceMs));
  }

  /** GET /api/presence?userIds=a,b: contacts and oneself as they are, anyone else offline and unknown. */
  async lookup(caller: Principal, query: unknown): Promise<PresenceView[]> {
    const ids = [...new Set(parse(presenceQuery, { userIds: splitIds(query) }).userIds)];
    const visible = await this.deps.repository.visibleTo(caller.userId, ids);
    let status;
    try {
      status = await this.deps.store.status([...visible.keys()]);
    } catch (err) {
      this.deps.onBackgroundError(err, "read presence");
      throw new AppError("unavailable", "Presence is temporarily unavailable");
    }
    return ids.map((userId) => {
      if (!visible.has(userId)) return { userId, online: false, lastSeenAt: null };
      const s = status.get(userId);
      const seen = latest(visible.get(userId) ?? null, s?.lastSeenAt ?? null, this.lastSeen.unwritten(userId) ?? null);
      return { userId, online: s?.online ?? false, lastSeenAt: seen?.toISOString() ?? null };
    });
  }

  /**
   * Bus events: a conversation's first message makes its two users contacts (on the nodes that
   * hold either; the others forget a user's contacts when they start holding them); a block or
   * unblock changes whether they are (every node).
   */
  onChatEvent(event: ChatEvent): void {
    const changed =
      event.type === "message.created" && event.message.seq === 1 ? event.to : event.type === "contacts.changed" ? event.userIds : null;
    if (changed) this.forgetContacts(changed);
  }

  private forgetContacts(userIds: readonly string[]): void {
    this.contactsEpoch += 1;
    for (const userId of userIds) this.contacts.delete(userId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const timer of this.releases.values()) clearTimeout(timer);
    this.releases.clear();
    await Promise.allSettled([...this.queues.values(), this.sweeping]);
    try {
      for (const gone of await this.deps.store.close()) this.lastSeen.add(gone.userId, gone.lastSeenAt);
    } catch (err) {
      this.deps.onBackgroundError(err, "leave presence");
    }
    await this.lastSeen.close();
  }

  /** One sweep at a time: a slow one (Redis struggling) is not stacked on. */
  private sweep(): void {
    if (this.sweeping || this.closed) return;
    this.sweeping = this.sweepOnce().finally(() => {
      this.sweeping = null;
    });
  }

  private async sweepOnce(): Promise<void> {
    let found;
    try {
      found = await this.deps.store.sweep();
      if (!this.sweepOk) this.deps.onSweepHealth?.(true);
      this.sweepOk = true;
    } catch (err) {
      if (this.sweepOk && !this.closed) this.deps.onSweepHealth?.(false, err);
      this.sweepOk = false;
      return;
    }
    for (const w of found.wentOffline) this.lastSeen.add(w.userId, w.lastSeenAt);
    await this.announce([
      ...found.cameOnline.map((userId) => ({ userId, online: true, lastSeenAt: null })),
      ...found.wentOffline.map(({ userId, lastSeenAt }) => ({ userId, online: false, lastSeenAt })),
    ]).catch((err) => this.deps.onBackgroundError(err, "announce swept presence"));
  }

  private async announce(changes: { userId: string; online: boolean; lastSeenAt: Date | null }[]): Promise<void> {
    if (changes.length === 0 || this.closed) return;
    const contacts = await this.contactsOf(changes.map((c) => c.userId));
    for (const change of changes) {
      const to = contacts.get(change.userId) ?? [];
      if (to.length === 0) continue;
      this.deps.announce({
        userId: change.userId,
        online: change.online,
        lastSeenAt: change.lastSeenAt?.toISOString() ?? null,
        to,
      });
    }
  }

  /** Cached; misses are loaded together, one statement per CONTACTS_BATCH users. */
  private async contactsOf(userIds: string[]): Promise<Map<string, string[]>> {
    const now = Date.now();
    const result = new Map<string, string[]>();
    const misses: string[] = [];
    for (const userId of new Set(userIds)) {
      const cached = this.contacts.get(userId);
      if (cached && cached.until > now) result.set(userId, cached.ids);
      else misses.push(userId);
    }
    for (let i = 0; i < misses.length; i += CONTACTS_BATCH) {
      const epoch = this.contactsEpoch;
      const loaded = await this.deps.repository.contactsOf(misses.slice(i, i + CONTACTS_BATCH), CONTACTS_MAX);
      for (const [userId, ids] of loaded) {
        result.set(userId, ids);
        if (epoch === this.contactsEpoch) this.cacheContacts(userId, ids, now);
      }
    }
    return result;
  }

  private cacheContacts(userId: string, ids: string[], now: number): void {
    this.contacts.delete(userId);
    if (this.contacts.size >= CONTACTS_CACHE_MAX) this.contacts.delete(this.contacts.keys().next().value!);
    this.contacts.set(userId, { ids, until: now + CONTACTS_TTL_MS });
  }

  private enqueue(userId: string, what: string, task: () => Promise<void>): void {
    const previous = this.queues.get(userId) ?? Promise.resolve();
    const next = previous
      .then(task)
      .catch((err) => this.deps.onBackgroundError(err, `presence ${what}`))
      .finally(() => {
        if (this.queues.get(userId) === next) this.queues.delete(userId);
      });
    this.queues.set(userId, next);
  }
}

/** userIds=a,b,c (or repeated userIds=): the raw ids, for the schema to judge. */
function splitIds(query: unknown): unknown {
  const raw = query !== null && typeof query === "object" ? (query as Record<string, unknown>).userIds : undefined;
  if (raw === undefined) throw invalid("userIds is required");
  const parts = Array.isArray(raw) ? raw : [raw];
  if (!parts.every((p): p is string => typeof p === "string")) throw invalid("userIds must be a comma-separated list of ids");
  return parts.flatMap((p) => p.split(",")).map((s) => s.trim()).filter((s) => s !== "");
}

function latest(...dates: (Date | null)[]): Date | null {
  let best: Date | null = null;
  for (const d of dates) if (d && (!best || d > best)) best = d;
  return best;
}
