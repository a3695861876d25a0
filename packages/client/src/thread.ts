// One conversation as a chat screen shows it: its stored messages once each in seq order (the
// latest page, older pages on demand, everything newer as it comes), the user's messages still
// in the outbox, who is typing, and how far each participant has read ("seen" marks).
import type { ChatClient, SendInput } from "./chat-client.js";
import type { ConversationView, MessageView, ReactionView } from "./contract.js";
import type { ChatError } from "./errors.js";
import { asChatError } from "./conversation-list.js";
import type { OutgoingMessage } from "./outbox.js";
import type { LoadStatus } from "./store.js";
import type { UploadFile } from "./upload.js";
import { LiveView } from "./view.js";

export interface ThreadState {
  conversationId: string;
  conversation: ConversationView | null;
  /** Stored messages, ascending seq, once each. */
  messages: MessageView[];
  /** The user's messages to this conversation that are not stored yet (queued, uploading, sending, failed). */
  outgoing: OutgoingMessage[];
  /** Other participants typing now. */
  typing: string[];
  /** The highest seq each participant has read (from the conversation and live `message:read`). */
  readSeq: Record<string, number>;
  status: LoadStatus;
  error: ChatError | null;
  /** Older messages to load with loadOlder(). */
  hasOlder: boolean;
  loadingOlder: boolean;
}

const PAGE_SIZE = 50;
/** A `typing:start` whose `typing:stop` got lost ends here too (the service ends one after 5 s). */
const TYPING_EXPIRY_MS = 6_000;

/** A thread before anything is loaded (also what a UI shows while no conversation is open). */
export function emptyThreadState(conversationId: string): ThreadState {
  return {
    conversationId,
    conversation: null,
    messages: [],
    outgoing: [],
    typing: [],
    readSeq: {},
    status: "idle",
    error: null,
    hasOlder: false,
    loadingOlder: false,
  };
}

export class Thread extends LiveView<ThreadState> {
  private readonly typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private markedSeq = 0;

  constructor(
    chat: ChatClient,
    readonly conversationId: string,
    private readonly pageSize = PAGE_SIZE,
  ) {
    super(chat, emptyThreadState(conversationId));
  }

  /** Loads the conversation and the latest page, then catches up on anything newer. */
  async reload(): Promise<void> {
    if (this.getSnapshot().status !== "ready") this.update((s) => ({ ...s, status: "loading", error: null }));
    try {
      const [conversation, page] = await Promise.all([
        this.chat.api.getConversation(this.conversationId),
        this.chat.api.listMessages(this.conversationId, { limit: this.pageSize }),
      ]);
      this.update((s) => {
        const messages = merge(s.messages, page.items);
        return {
          ...s,
          conversation,
          messages,
          outgoing: this.unstored(this.chat.outbox.getSnapshot(), messages),
          readSeq: mergeReads(s.readSeq, readsOf(conversation)),
          status: "ready",
          error: null,
          // Whether older messages exist is known from the page that holds the oldest one loaded.
          hasOlder: messages.length === 0 || messages[0]!.seq === page.items[0]?.seq ? page.nextBefore !== null : s.hasOlder,
        };
      });
      const last = page.items.at(-1)?.seq ?? 0;
      await this.chat.follow(this.conversationId, last);
    } catch (err) {
      this.update((s) => ({ ...s, status: s.status === "ready" ? "ready" : "error", error: asChatError(err) }));
    }
  }

  async loadOlder(): Promise<void> {
    const state = this.getSnapshot();
    const oldest = state.messages[0]?.seq;
    if (!state.hasOlder || state.loadingOlder || oldest === undefined) return;
    this.update((s) => ({ ...s, loadingOlder: true }));
    try {
      const page = await this.chat.api.listMessages(this.conversationId, { before: oldest, limit: this.pageSize });
      this.update((s) => ({ ...s, messages: merge(s.messages, page.items), hasOlder: page.nextBefore !== null, loadingOlder: false }));
    } catch (err) {
      this.update((s) => ({ ...s, loadingOlder: false, error: asChatError(err) }));
    }
  }

  send(input: SendInput | string): Promise<MessageView> {
    return this.chat.send(this.conversationId, typeof input === "string" ? { content: input } : input);
  }

  sendFiles(files: UploadFile[], input: Omit<SendInput, "attachmentIds"> = {}): Promise<MessageView> {
    return this.chat.sendFiles(this.conversationId, files, input);
  }

  async edit(messageId: string, content: string): Promise<MessageView> {
    const message = await this.chat.edit(messageId, content);
    this.replace(message);
    return message;
  }

  async unsend(messageId: string): Promise<void> {
    await this.chat.unsend(messageId);
    this.tombstone(messageId);
  }

  react(messageId: string, emoji: string, on = true): Promise<void> {
    return this.chat.react(messageId, emoji, on);
  }

  /** Marks everything up to `seq` (default: the latest stored message) read; no request when nothing is new. */
  async markRead(seq?: number): Promise<void> {
    const target = seq ?? this.getSnapshot().messages.at(-1)?.seq ?? 0;
    const me = this.chat.userId;
    const known = Math.max(this.markedSeq, me ? (this.getSnapshot().readSeq[me] ?? 0) : 0);
    if (target <= known) return;
    this.markedSeq = target;
    try {
      await this.chat.markRead(this.conversationId, target);
    } catch (err) {
      this.markedSeq = 0;
      throw err;
    }
    if (me) this.update((s) => ({ ...s, readSeq: mergeReads(s.readSeq, { [me]: target }) }));
  }

  /** Call on every keystroke in the composer (throttled; stops by itself when the user pauses). */
  typing(): void {
    this.chat.typing(this.conversationId);
  }

  stopTyping(): void {
    this.chat.stopTyping(this.conversationId);
  }

  /** Whether another participant has read this message (the "seen" mark under the user's own). */
  seen(message: Pick<MessageView, "seq">): boolean {
    const me = this.chat.userId;
    return Object.entries(this.getSnapshot().readSeq).some(([userId, seq]) => userId !== me && seq >= message.seq);
  }

  protected start(): (() => void)[] {
    const mine = (conversationId: string) => conversationId === this.conversationId;
    const stops = [
      this.chat.join(this.conversationId),
      this.chat.on("message", (m) => {
        if (!mine(m.conversationId)) return;
        // A seller sees a conversation from its first message on: until then it was not_found.
        if (this.getSnapshot().status === "error") void this.reload();
        if (m.senderId) this.setTyping(m.senderId, false);
        this.update((s) => {
          const messages = merge(s.messages, [m]);
          // Sending moves the sender's own read pointer (API.md, "Read pointer").
          const readSeq = m.senderId ? mergeReads(s.readSeq, { [m.senderId]: m.seq }) : s.readSeq;
          return { ...s, messages, readSeq, outgoing: this.unstored(this.chat.outbox.getSnapshot(), messages) };
        });
      }),
      this.chat.on("message:updated", (m) => mine(m.conversationId) && this.replace(m)),
      this.chat.on("message:deleted", (d) => mine(d.conversationId) && this.tombstone(d.id)),
      // The whole list after each change: replaced, never merged.
      this.chat.on("message:reactions", (r) => mine(r.conversationId) && this.setReactions(r.messageId, r.reactions)),
      this.chat.on("message:read", (r) => {
        if (mine(r.conversationId)) this.update((s) => ({ ...s, readSeq: mergeReads(s.readSeq, { [r.userId]: r.seq }) }));
      }),
      this.chat.on("typing:start", (t) => mine(t.conversationId) && t.userId !== this.chat.userId && this.setTyping(t.userId, true)),
      this.chat.on("typing:stop", (t) => mine(t.conversationId) && this.setTyping(t.userId, false)),
      this.chat.outbox.subscribe(() => this.update((s) => ({ ...s, outgoing: this.unstored(this.chat.outbox.getSnapshot(), s.messages) }))),
      // Edits, unsends and reads made while away are not in the catch-up by seq: reload the latest page.
      this.chat.onReconnect(() => void this.reload()),
      () => {
        for (const timer of this.typingTimers.values()) clearTimeout(timer);
        this.typingTimers.clear();
        this.update((s) => (s.typing.length ? { ...s, typing: [] } : s));
      },
    ];
    void this.reload();
    return stops;
  }

  private unstored(outbox: readonly OutgoingMessage[], messages: MessageView[]): OutgoingMessage[] {
    const me = this.chat.userId;
    const stored = new Set(messages.filter((m) => m.senderId === me).map((m) => m.clientId));
    const current = this.getSnapshot().outgoing;
    const next = outbox.filter((o) => o.conversationId === this.conversationId && !stored.has(o.clientId));
    // Same entries as before: keep the array, so views do not re-render for nothing.
    return next.length === current.length && next.every((o, i) => o === current[i]) ? current : next;
  }

  private replace(message: MessageView): void {
    this.update((s) => {
      const at = s.messages.findIndex((m) => m.id === message.id);
      if (at === -1) return s;
      const messages = s.messages.slice();
      messages[at] = message;
      return { ...s, messages };
    });
  }

  private setReactions(messageId: string, reactions: ReactionView[]): void {
    this.update((s) => {
      const at = s.messages.findIndex((m) => m.id === messageId);
      const current = s.messages[at];
      if (!current) return s;
      const messages = s.messages.slice();
      messages[at] = { ...current, reactions };
      return { ...s, messages };
    });
  }

  private tombstone(messageId: string): void {
    this.update((s) => {
      const at = s.messages.findIndex((m) => m.id === messageId);
      const current = s.messages[at];
      if (!current || current.deletedAt) return s;
      const messages = s.messages.slice();
      messages[at] = { ...current, content: null, attachments: [], deletedAt: new Date().toISOString() };
      return { ...s, messages };
    });
  }

  private setTyping(userId: string, typing: boolean): void {
    clearTimeout(this.typingTimers.get(userId));
    this.typingTimers.delete(userId);
    if (typing) this.typingTimers.set(userId, setTimeout(() => this.setTyping(userId, false), TYPING_EXPIRY_MS));
    this.update((s) => {
      const has = s.typing.includes(userId);
      if (has === typing) return s;
      return { ...s, typing: typing ? [...s.typing, userId] : s.typing.filter((u) => u !== userId) };
    });
  }
}

/** Messages by id (the newer copy wins), ascending seq. */
function merge(current: MessageView[], incoming: MessageView[]): MessageView[] {
  if (incoming.length === 0) return current;
  // The common case: one new message after the last.
  const last = current.at(-1);
  if (incoming.length === 1 && (!last || incoming[0]!.seq > last.seq)) return [...current, incoming[0]!];
  const byId = new Map(current.map((m) => [m.id, m]));
  for (const m of incoming) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => a.seq - b.seq);
}

/** Read pointers only move forward. */
function mergeReads(current: Record<string, number>, incoming: Record<string, number>): Record<string, number> {
  let next = current;
  for (const [userId, seq] of Object.entries(incoming)) {
    if (seq > (next[userId] ?? 0)) next = { ...next, [userId]: seq };
  }
  return next;
}

/** The participants' read pointers as the conversation carries them. */
function readsOf(conversation: ConversationView): Record<string, number> {
  return Object.fromEntries(conversation.reads.map((r) => [r.userId, r.lastReadSeq]));
}
