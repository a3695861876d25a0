// Delivery in seq order at the delivering node (README, "Ordering"). Nodes publish a message after
// its batch commits, without any lock, so two nodes writing seq N and N+1 of one conversation may
// publish them in either order, and a Redis stall may hold one node's publishes back. Each node
// therefore delivers a user's copies of a conversation's messages in seq order itself:
//
// - the next seq is delivered at once; a repeat (seq already delivered) is dropped;
// - a seq past a gap is held; the gap is waited for at most `holdMs`, then fetched from
//   PostgreSQL and delivered, and the held messages after it;
// - the first message a node sees of a conversation for a user: it knows nothing delivered before.
//   When the previous message is older than `recentMs` (its publish is long done) or was stored
//   before the user's channel was joined on this node (the client fetched it when it connected),
//   there is nothing to wait for. Otherwise the message is held `holdMs`, and the messages
//   stored since the channel was joined that came before it are fetched and delivered first.
//
// State is per (user, conversation) on this node, dropped when the user's last socket leaves the
// node (a later connection starts fresh) and bounded in number (the oldest idle entries go).
import type { ChatEvent } from "../chat/events.js";

type Created = Extract<ChatEvent, { type: "message.created" }>;

export interface SeqOrdererOptions {
  /** How long a message after a gap waits for the missing one before it is fetched. */
  holdMs: number;
  /** A previous message older than this is surely published: no need to wait for it. */
  recentMs: number;
  /** Entries kept at most (the oldest idle ones are dropped beyond it). */
  maxEntries: number;
  /** Emits to this node's sockets (delivery.ts). */
  deliver: (event: ChatEvent, target: string) => void;
  /**
   * The conversation's messages with afterSeq < seq < beforeSeq stored at or after `since`, as
   * message.created events like the publisher's, in seq order.
   */
  fetch: (conversationId: string, afterSeq: number, beforeSeq: number, since: Date | null) => Promise<Created[]>;
  onError: (err: unknown, what: string) => void;
  /** Counters: messages held for a gap, fetched to fill one, repeats dropped. */
  onHeld?: () => void;
  onFetched?: (count: number) => void;
  onDropped?: () => void;
}

interface Entry {
  /** The highest seq delivered; null until the first one is (fresh, held). */
  delivered: number | null;
  held: Map<number, Created>;
  timer: NodeJS.Timeout | null;
}

export class SeqOrderer {
  /** user → conversation → entry; a Map keeps insertion order, refreshed on use (LRU). */
  private readonly users = new Map<string, { joinedAt: number; entries: Map<string, Entry> }>();
  private size = 0;

  constructor(private readonly options: SeqOrdererOptions) {}

  /** The user's first socket on this node: its channel is being joined now. */
  joined(userId: string): void {
    if (!this.users.has(userId)) this.users.set(userId, { joinedAt: Date.now(), entries: new Map() });
  }

  /** The user's last socket left this node: forget what was delivered (a new connection starts fresh). */
  left(userId: string): void {
    const user = this.users.get(userId);
    if (!user) return;
    for (const entry of user.entries.values()) if (entry.timer) clearTimeout(entry.timer);
    this.size -= user.entries.size;
    this.users.delete(userId);
  }

  accept(event: ChatEvent, target: string): void {
    if (event.type !== "message.created") return this.options.deliver(event, target);
    const user = this.users.get(target);
    // No socket of the user here (a copy racing the last leave): nothing to order for.
    if (!user) return this.options.deliver(event, target);
    const conversationId = event.message.conversationId;
    const seq = event.message.seq;
    let entry = user.entries.get(conversationId);
    if (entry) {
      user.entries.delete(conversationId);
      user.entries.set(conversationId, entry);
    } else {
      entry = { delivered: null, held: new Map(), timer: null };
      user.entries.set(conversationId, entry);
      this.size++;
      this.evict();
      if (!this.mayWait(event, user.joinedAt)) {
        entry.delivered = seq;
        return this.options.deliver(event, target);
      }
    }
    if (entry.delivered !== null && seq <= entry.delivered) {
      this.options.onDropped?.();
      return;
    }
    if (entry.delivered !== null && seq === entry.delivered + 1) {
      entry.delivered = seq;
      this.options.deliver(event, target);
      this.drain(entry, target);
      return;
    }
    if (entry.held.has(seq)) {
      this.options.onDropped?.();
      return;
    }
    entry.held.set(seq, event);
    this.options.onHeld?.();
    entry.timer ??= setTimeout(() => void this.fill(target, conversationId, entry), this.options.holdMs);
  }

  /** Whether a predecessor of this first-seen message may still be on its way to this node. */
  private mayWait(event: Created, joinedAt: number): boolean {
    if (event.message.seq === 1 || !event.previousAt) return false;
    const previous = Date.parse(event.previousAt);
    const created = Date.parse(event.message.createdAt);
    return created - previous < this.options.recentMs && previous >= joinedAt - CLOCK_MARGIN_MS;
  }

  /** Delivers held messages that are next in line. */
  private drain(entry: Entry, target: string): void {
    for (let next = entry.held.get(entry.delivered! + 1); next; next = entry.held.get(entry.delivered! + 1)) {
      entry.held.delete(next.message.seq);
      entry.delivered = next.message.seq;
      this.options.deliver(next, target);
    }
    if (entry.held.size === 0 && entry.timer) {
      clearTimeout(entry.timer);
      entry.timer = null;
    }
  }

  /** The wait is over: fetch what is still missing below the held messages, deliver all in order. */
  private async fill(target: string, conversationId: string, entry: Entry): Promise<void> {
    const user = this.users.get(target);
    if (!user || user.entries.get(conversationId) !== entry || entry.held.size === 0) return;
    const top = Math.max(...entry.held.keys());
    const after = entry.delivered ?? 0;
    // A fresh entry: only messages stored since the channel was joined can be owed to its sockets.
    const since = entry.delivered === null ? new Date(user.joinedAt - CLOCK_MARGIN_MS) : null;
    let fetched: Created[] = [];
    try {
      fetched = await this.options.fetch(conversationId, after, top, since);
    } catch (err) {
      this.options.onError(err, "fetch messages missing from a conversation's order");
    }
    entry.timer = null;
    if (this.users.get(target)?.entries.get(conversationId) !== entry) return;
    let count = 0;
    for (const event of fetched) {
      if (entry.held.has(event.message.seq) || (entry.delivered !== null && event.message.seq <= entry.delivered)) continue;
      entry.held.set(event.message.seq, event);
      count++;
    }
    if (count > 0) this.options.onFetched?.(count);
    // Everything up to the top held when the wait ended, in order: the gap below it is filled as
    // far as PostgreSQL has it.
    for (const seq of [...entry.held.keys()].sort((a, b) => a - b)) {
      if (seq > top) break;
      const event = entry.held.get(seq)!;
      entry.held.delete(seq);
      if (entry.delivered !== null && seq <= entry.delivered) continue;
      entry.delivered = seq;
      this.options.deliver(event, target);
    }
    // Then what follows without a gap. Messages that came in during the fetch past a new gap
    // wait for it in turn.
    this.drain(entry, target);
    if (entry.held.size > 0) entry.timer ??= setTimeout(() => void this.fill(target, conversationId, entry), this.options.holdMs);
  }

  /** Drops the least recently used entries that hold nothing, beyond maxEntries. */
  private evict(): void {
    if (this.size <= this.options.maxEntries) return;
    for (const user of this.users.values()) {
      for (const [conversationId, entry] of user.entries) {
        if (this.size <= this.options.maxEntries) return;
        if (entry.held.size > 0) continue;
        user.entries.delete(conversationId);
        this.size--;
      }
    }
  }
}

/**
 * Allowance between this node's clock and PostgreSQL's (whose now() stamps messages). None: a
 * message stored just before a user's socket arrived must not be pushed to it as new (the client
 * fetched it when it connected), and NTP keeps the clocks of one deployment within milliseconds.
 */
const CLOCK_MARGIN_MS = 0;
