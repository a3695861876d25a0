// Unread counts (GET /api/unread), total and per conversation, kept current: another user's
// message counts one more at once; the user's own message or read pointer, seen from any of their
// devices, is settled by asking the service again (it knows what was read up to where).
import type { ChatClient } from "./chat-client.js";
import type { ChatError } from "./errors.js";
import { asChatError } from "./conversation-list.js";
import type { LoadStatus } from "./store.js";
import { LiveView } from "./view.js";

export interface UnreadState {
  total: number;
  byConversation: Record<string, number>;
  status: LoadStatus;
  error: ChatError | null;
}

/** Reads come in bursts (a thread marks read as messages arrive): one refresh per burst. */
const REFRESH_DELAY_MS = 250;

export class UnreadCounter extends LiveView<UnreadState> {
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private loads = 0;

  constructor(chat: ChatClient) {
    super(chat, { total: 0, byConversation: {}, status: "idle", error: null });
  }

  async reload(): Promise<void> {
    const load = ++this.loads;
    if (this.getSnapshot().status !== "ready") this.update((s) => ({ ...s, status: "loading" }));
    try {
      const summary = await this.chat.api.unread();
      // An older answer must not overwrite a newer one.
      if (load !== this.loads) return;
      const byConversation = Object.fromEntries(summary.conversations.map((c) => [c.conversationId, c.unreadCount]));
      this.update((s) => ({ ...s, total: summary.total, byConversation, status: "ready", error: null }));
    } catch (err) {
      if (load === this.loads) this.update((s) => ({ ...s, status: s.status === "ready" ? "ready" : "error", error: asChatError(err) }));
    }
  }

  protected start(): (() => void)[] {
    void this.reload();
    return [
      this.chat.on("message", (m) => {
        if (m.senderId && m.senderId !== this.chat.userId) {
          this.update((s) => ({
            ...s,
            total: s.total + 1,
            byConversation: { ...s.byConversation, [m.conversationId]: (s.byConversation[m.conversationId] ?? 0) + 1 },
          }));
        } else {
          // Own message (pointer moved) or a system message (unread for the buyer only).
          this.scheduleRefresh();
        }
      }),
      this.chat.on("message:read", (r) => r.userId === this.chat.userId && this.scheduleRefresh()),
      this.chat.on("message:deleted", () => this.scheduleRefresh()),
      this.chat.onReconnect(() => void this.reload()),
      () => clearTimeout(this.refreshTimer),
    ];
  }

  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => void this.reload(), REFRESH_DELAY_MS);
  }
}
