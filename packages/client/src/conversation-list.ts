// The user's conversations, latest activity first (GET /api/conversations), kept current by the
// live events: a new message moves its conversation to the top with its last message, unread
// count and seq; a conversation seen for the first time is fetched; reads, edits and unsends
// update the line; a reconnect reloads the first page.
import type { ChatClient } from "./chat-client.js";
import type { ConversationView, MessageView } from "./contract.js";
import { ChatError } from "./errors.js";
import type { LoadStatus } from "./store.js";
import { LiveView } from "./view.js";

export interface ConversationListState {
  items: ConversationView[];
  status: LoadStatus;
  error: ChatError | null;
  /** More (older) conversations to load with loadMore(). */
  hasMore: boolean;
  loadingMore: boolean;
}

const PAGE_SIZE = 30;

export class ConversationList extends LiveView<ConversationListState> {
  private cursor: string | null = null;
  private readonly fetching = new Set<string>();

  constructor(chat: ChatClient) {
    super(chat, { items: [], status: "idle", error: null, hasMore: false, loadingMore: false });
  }

  /** Reloads the first page (what a reconnect does). */
  async reload(): Promise<void> {
    if (this.getSnapshot().status !== "ready") this.update((s) => ({ ...s, status: "loading", error: null }));
    try {
      const page = await this.chat.api.listConversations({ limit: PAGE_SIZE });
      this.cursor = page.nextCursor;
      this.update((s) => ({ ...s, items: page.items, status: "ready", error: null, hasMore: page.nextCursor !== null }));
    } catch (err) {
      this.update((s) => ({ ...s, status: s.status === "ready" ? "ready" : "error", error: asChatError(err) }));
    }
  }

  async loadMore(): Promise<void> {
    const state = this.getSnapshot();
    if (!this.cursor || state.loadingMore) return;
    this.update((s) => ({ ...s, loadingMore: true }));
    try {
      const page = await this.chat.api.listConversations({ limit: PAGE_SIZE, cursor: this.cursor });
      this.cursor = page.nextCursor;
      this.update((s) => {
        const known = new Set(s.items.map((c) => c.id));
        return { ...s, items: [...s.items, ...page.items.filter((c) => !known.has(c.id))], hasMore: page.nextCursor !== null, loadingMore: false };
      });
    } catch (err) {
      this.update((s) => ({ ...s, loadingMore: false, error: asChatError(err) }));
    }
  }

  /** Opens (get-or-create) the user's conversation about a listing and puts it in the list. */
  async open(listingId: string): Promise<ConversationView> {
    const conversation = await this.chat.api.openConversation(listingId);
    this.upsert(conversation);
    return conversation;
  }

  protected start(): (() => void)[] {
    void this.reload();
    return [
      this.chat.on("message", (m) => this.onMessage(m)),
      this.chat.on("message:updated", (m) => this.onChanged(m)),
      this.chat.on("message:deleted", (d) =>
        this.patchWhere(d.conversationId, (c) =>
          c.lastMessage?.id === d.id ? { ...c, lastMessage: { ...c.lastMessage, content: null, attachments: [], deletedAt: new Date().toISOString() } } : c,
        ),
      ),
      this.chat.on("message:read", (r) =>
        this.patchWhere(r.conversationId, (c) => {
          const read = withRead(c, r.userId, r.seq, r.readAt);
          if (r.userId !== this.chat.userId) return read;
          return { ...read, unreadCount: Math.max(0, Math.min(c.unreadCount, c.lastSeq - r.seq)) };
        }),
      ),
      this.chat.on("conversation:new", (c) => this.upsert(c)),
      this.chat.onReconnect(() => void this.reload()),
    ];
  }

  private onMessage(m: MessageView): void {
    const current = this.getSnapshot().items.find((c) => c.id === m.conversationId);
    if (!current) {
      void this.fetchNew(m.conversationId);
      return;
    }
    const mine = m.senderId === this.chat.userId;
    const fresh = m.seq > current.lastSeq;
    // Sending moves the sender's read pointer to the message (API.md, "Read pointer").
    const read = m.senderId ? withRead(current, m.senderId, m.seq, m.createdAt) : current;
    this.upsert({
      ...read,
      lastMessage: !current.lastMessage || m.seq >= current.lastMessage.seq ? m : current.lastMessage,
      lastSeq: Math.max(current.lastSeq, m.seq),
      updatedAt: m.createdAt > current.updatedAt ? m.createdAt : current.updatedAt,
      // Sending moves the sender's read pointer to the message; the list already counted an old one.
      unreadCount: mine ? 0 : fresh ? current.unreadCount + 1 : current.unreadCount,
    });
  }

  private onChanged(m: MessageView): void {
    this.patchWhere(m.conversationId, (c) => (c.lastMessage?.id === m.id ? { ...c, lastMessage: m } : c));
  }

  /** A conversation that was not in the list (the seller's new one, or one past the first page). */
  private async fetchNew(conversationId: string): Promise<void> {
    if (this.fetching.has(conversationId) || this.getSnapshot().status !== "ready") return;
    this.fetching.add(conversationId);
    try {
      this.upsert(await this.chat.api.getConversation(conversationId));
    } catch {
      // Not visible to this user (any more): nothing to show.
    } finally {
      this.fetching.delete(conversationId);
    }
  }

  /** Inserts or replaces, keeping latest activity first. */
  private upsert(conversation: ConversationView): void {
    this.update((s) => {
      const others = s.items.filter((c) => c.id !== conversation.id);
      const at = others.findIndex((c) => c.updatedAt <= conversation.updatedAt);
      const items = at === -1 ? [...others, conversation] : [...others.slice(0, at), conversation, ...others.slice(at)];
      return { ...s, items };
    });
  }

  private patchWhere(conversationId: string, change: (c: ConversationView) => ConversationView): void {
    this.update((s) => {
      let changed = false;
      const items = s.items.map((c) => {
        if (c.id !== conversationId) return c;
        const next = change(c);
        changed ||= next !== c;
        return next;
      });
      return changed ? { ...s, items } : s;
    });
  }
}

/** The conversation with `userId`'s read pointer moved forward to `seq` (never back). */
function withRead(c: ConversationView, userId: string, seq: number, readAt: string): ConversationView {
  const current = c.reads.find((r) => r.userId === userId);
  if (current && current.lastReadSeq >= seq) return c;
  const pointer = { userId, lastReadSeq: seq, lastReadAt: readAt };
  return { ...c, reads: current ? c.reads.map((r) => (r.userId === userId ? pointer : r)) : [...c.reads, pointer] };
}

export function asChatError(err: unknown): ChatError {
  return err instanceof ChatError ? err : new ChatError("internal", err instanceof Error ? err.message : String(err));
}
