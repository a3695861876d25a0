// The client for the marketplace's app, in browsers and in Node. It turns the service's
// guarantees into an API that cannot lose a message:
// - send() picks the clientId once and retries with it until acknowledged, across reconnects and
//   nodes (the server stores a clientId once and delivers it once); sends wait in the outbox
//   while offline and leave in order, one conversation at a time;
// - "message" events come once per message id and in seq order per conversation: a gap in seq
//   (a missed event, a reconnect) is filled from GET …/messages?after=<last seq> before anything
//   after it is handed out.
// On top of that it keeps views that apps render (conversations(), thread(), unread(),
// presence()): state that follows the live events and catches up after every reconnect.
import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import type { Ack, AckFn, ClientToServerEvents, MessageView, ServerToClientEvents } from "./contract.js";
import { ChatError, isRetryable, retryDelay, sleep } from "./errors.js";
import { HttpApi } from "./http-api.js";
import { Outbox, type OutboxStorage, type OutgoingFile, type OutgoingMessage } from "./outbox.js";
import { StateStore, type ReadableStore } from "./store.js";
import { TokenSource, type TokenInput } from "./token.js";
import { uploadFiles, type UploadFile, type UploadOptions } from "./upload.js";
import { ConversationList } from "./conversation-list.js";
import { Thread } from "./thread.js";
import { UnreadCounter } from "./unread.js";
import { PresenceTracker } from "./presence.js";

export interface ChatClientOptions {
  /** Base URL of the service (or of the load balancer in front of it). */
  url: string;
  /** The marketplace's JWT for this user, or a function that returns a fresh one (token refresh). */
  token: TokenInput;
  /** Passed to socket.io-client's io(); `auth` is the client's own. */
  socket?: Partial<ManagerOptions & SocketOptions>;
  /** How long one socket request waits for its ack before trying again (default 10 s). */
  ackTimeoutMs?: number;
  /** typing(): a `typing:start` at most this often while the user types (default 2 s; the service ends one after 5 s). */
  typingThrottleMs?: number;
  /** typing(): `typing:stop` after this long without a keystroke (default 3 s). */
  typingIdleMs?: number;
  /** Keeps unsent text messages across reloads (e.g. `window.localStorage`). */
  storage?: OutboxStorage;
  /** Messages per page in threads (default 50, at most 100). */
  messagePageSize?: number;
}

export interface SendInput {
  content?: string;
  attachmentIds?: string[];
  replyToId?: string;
  /** Give one to make the send idempotent across app restarts too (store it with the draft). */
  clientId?: string;
}

export type ConnectionStatus = "connecting" | "connected" | "reconnecting" | "unauthorized" | "closed";

export interface ConnectionState {
  status: ConnectionStatus;
  /** The signed-in user (the token's `sub`), once a token was obtained. */
  userId: string | null;
  /** Why the connection was refused (`unauthorized`, `forbidden` for a banned user). */
  error: ChatError | null;
}

type ServerEvent = keyof ServerToClientEvents;
type Payload<E extends ServerEvent> = Parameters<ServerToClientEvents[E]>[0];
type RequestEvent = { [E in keyof ClientToServerEvents]: Parameters<ClientToServerEvents[E]>[1] extends AckFn<never> ? E : never }[keyof ClientToServerEvents];
type RequestPayload<E extends RequestEvent> = Parameters<ClientToServerEvents[E]>[0];
type AckData<E extends RequestEvent> = Parameters<ClientToServerEvents[E]>[1] extends AckFn<infer T> ? T : never;

/** How long a refused token waits before a refreshed one is tried again (no tight loop on a bad key). */
const REFRESH_RETRY_MS = 5_000;

export class ChatClient {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  readonly api: HttpApi;
  /** Messages on their way (queued, uploading, sending, failed). */
  readonly outbox: Outbox;
  readonly connection: ReadableStore<ConnectionState>;

  private readonly tokens: TokenSource;
  private readonly connectionState: ConnectionStore;
  private readonly lastSeq = new Map<string, number>();
  private readonly held = new Map<string, MessageView[]>();
  private readonly syncing = new Map<string, Promise<void>>();
  private readonly messageListeners = new Set<(message: MessageView) => void>();
  private readonly reconnectListeners = new Set<() => void>();
  private readonly sendChains = new Map<string, Promise<unknown>>();
  private readonly joined = new Map<string, number>();
  private readonly typingOut = new Map<string, { lastStart: number; idle: ReturnType<typeof setTimeout> | undefined }>();
  private readonly threads = new Map<string, Thread>();
  private conversationList: ConversationList | undefined;
  private unreadCounter: UnreadCounter | undefined;
  private presenceTracker: PresenceTracker | undefined;
  private everConnected = false;
  private lastRefusedRefresh = 0;
  private closed = false;

  constructor(private readonly options: ChatClientOptions) {
    this.tokens = new TokenSource(options.token);
    this.api = new HttpApi(options.url, this.tokens);
    const host = new URL(options.url).host;
    this.outbox = new Outbox(options.storage, () => (this.tokens.userId ? `marketchat:outbox:${host}:${this.tokens.userId}` : null));
    this.connectionState = new ConnectionStore({ status: "connecting", userId: this.tokens.userId, error: null });
    this.connection = this.connectionState;
    this.tokens.onChange(() => this.connectionState.patch({ userId: this.tokens.userId }));

    this.socket = io(options.url, {
      transports: ["websocket", "polling"],
      ...options.socket,
      auth: (cb) => {
        this.tokens.get().then(
          (token) => cb({ token }),
          () => cb({ token: "" }),
        );
      },
    });
    this.socket.on("message:new", (m) => this.receive(m));
    this.socket.on("connect", () => this.onConnect());
    this.socket.on("disconnect", (reason) => {
      if (this.closed) return;
      this.connectionState.patch({ status: "reconnecting" });
      // A node that stops (SIGTERM: a deploy, a rolling restart) disconnects its sockets from the
      // server side, after which socket.io-client does not reconnect by itself: connect again, to
      // another node. A banned user's reconnect is refused (forbidden) and ends there.
      if (reason === "io server disconnect") this.socket.connect();
    });
    this.socket.on("connect_error", (err) => this.onConnectError(err));
  }

  /** The signed-in user (the token's `sub`); null until a token was obtained. */
  get userId(): string | null {
    return this.tokens.userId;
  }

  /** Resolves once connected; rejects with the refusal (`unauthorized`, `forbidden`). */
  ready(): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const stop = this.connection.subscribe(() => {
        const { status, error } = this.connection.getSnapshot();
        if (status === "connected") {
          stop();
          resolve();
        } else if (status === "unauthorized" || status === "closed") {
          stop();
          reject(error ?? new ChatError("disconnected", "The client was closed"));
        }
      });
    });
  }

  /** Replaces the token (or the function that gives one); the next request and reconnect use it. */
  setToken(token: TokenInput): void {
    this.tokens.set(token);
    if (this.connectionState.getSnapshot().status === "unauthorized" && !this.closed) {
      this.connectionState.patch({ status: "connecting", error: null });
      this.socket.connect();
    }
  }

  // ---- Events --------------------------------------------------------------------------------

  /** Messages, once each, in seq order per conversation. */
  on(event: "message", listener: (message: MessageView) => void): () => void;
  /** Any server event, as the service sends it. */
  on<E extends ServerEvent>(event: E, listener: (payload: Payload<E>) => void): () => void;
  on(event: string, listener: (payload: never) => void): () => void {
    if (event === "message") {
      const l = listener as (message: MessageView) => void;
      this.messageListeners.add(l);
      return () => void this.messageListeners.delete(l);
    }
    const raw = this.socket as unknown as Socket;
    const l = listener as (...args: unknown[]) => void;
    raw.on(event, l);
    return () => void raw.off(event, l);
  }

  /** Called after every reconnect (not the first connect): views reload what may have changed. */
  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => void this.reconnectListeners.delete(listener);
  }

  /**
   * Follows a conversation from `afterSeq` (the last seq the app has; 0 for all): messages above
   * it are fetched now and after every reconnect.
   */
  async follow(conversationId: string, afterSeq = 0): Promise<void> {
    if (!this.lastSeq.has(conversationId)) this.lastSeq.set(conversationId, afterSeq);
    await this.catchUp(conversationId);
  }

  // ---- Sending -------------------------------------------------------------------------------

  /**
   * Sends once, however many attempts it takes; resolves with the stored message. While offline
   * the message waits in the outbox; sends to one conversation leave in the order made.
   */
  send(conversationId: string, input: SendInput): Promise<MessageView> {
    const message: OutgoingMessage = {
      clientId: input.clientId ?? randomId(),
      conversationId,
      ...(input.content !== undefined ? { content: input.content } : {}),
      ...(input.replyToId !== undefined ? { replyToId: input.replyToId } : {}),
      ...(input.attachmentIds !== undefined ? { attachmentIds: input.attachmentIds } : {}),
      files: [],
      status: "queued",
      progress: null,
      error: null,
      createdAt: new Date().toISOString(),
    };
    this.stopTyping(conversationId);
    this.outbox.add(message);
    return this.enqueue(message.clientId, conversationId);
  }

  /** Uploads the files (progress in the outbox entry) and sends them as one message. */
  sendFiles(conversationId: string, files: UploadFile[], input: Omit<SendInput, "attachmentIds"> = {}): Promise<MessageView> {
    const message: OutgoingMessage = {
      clientId: input.clientId ?? randomId(),
      conversationId,
      ...(input.content !== undefined ? { content: input.content } : {}),
      ...(input.replyToId !== undefined ? { replyToId: input.replyToId } : {}),
      files: files.map(describeFile),
      status: "queued",
      progress: null,
      error: null,
      createdAt: new Date().toISOString(),
    };
    this.stopTyping(conversationId);
    this.outbox.add(message, files);
    return this.enqueue(message.clientId, conversationId);
  }

  /** Sends a failed outbox message again (same clientId). */
  retry(clientId: string): Promise<MessageView> {
    const message = this.outbox.get(clientId);
    if (!message) return Promise.reject(new ChatError("not_found", "No such message in the outbox"));
    this.outbox.patch(clientId, { status: "queued", error: null });
    return this.enqueue(clientId, message.conversationId);
  }

  /** Drops a message from the outbox (a failed one the user gave up on). */
  discard(clientId: string): void {
    this.outbox.remove(clientId);
  }

  /** POST /api/uploads with progress events (XMLHttpRequest in browsers, fetch in Node). */
  upload(files: UploadFile[], options?: UploadOptions) {
    return uploadFiles(this.api.url("/api/uploads"), this.tokens, files, options);
  }

  edit(messageId: string, content: string): Promise<MessageView> {
    return this.request("message:edit", { messageId, content });
  }

  /** Unsend: a tombstone stays, content and attachments go. */
  async unsend(messageId: string): Promise<void> {
    await this.request("message:delete", { messageId });
  }

  /** Adds (`on`) or removes the user's reaction; idempotent, so retried on transient errors. */
  react(messageId: string, emoji: string, on = true): Promise<void> {
    return this.withRetry(() => this.api.react(messageId, emoji, on));
  }

  /** Moves the user's read pointer to `seq` (default: the latest message). */
  async markRead(conversationId: string, seq?: number): Promise<void> {
    await this.request("messages:read", seq === undefined ? { conversationId } : { conversationId, seq });
  }

  // ---- Offers (idempotent on clientId, so retried like sends) ------------------------------------

  makeOffer(conversationId: string, offer: { amountCents: number; currency: string; clientId?: string }): Promise<MessageView> {
    const input = { amountCents: offer.amountCents, currency: offer.currency, clientId: offer.clientId ?? randomId() };
    return this.withRetry(() => this.api.makeOffer(conversationId, input));
  }

  counterOffer(offerId: string, offer: { amountCents: number; clientId?: string }): Promise<MessageView> {
    const input = { amountCents: offer.amountCents, clientId: offer.clientId ?? randomId() };
    return this.withRetry(() => this.api.counterOffer(offerId, input));
  }

  acceptOffer(offerId: string): Promise<MessageView> {
    return this.api.acceptOffer(offerId);
  }

  declineOffer(offerId: string): Promise<MessageView> {
    return this.api.declineOffer(offerId);
  }

  withdrawOffer(offerId: string): Promise<MessageView> {
    return this.api.withdrawOffer(offerId);
  }

  // ---- Typing --------------------------------------------------------------------------------

  /** Call on every keystroke: `typing:start` at most every typingThrottleMs, `typing:stop` when idle. */
  typing(conversationId: string): void {
    if (this.closed) return;
    const now = Date.now();
    const state = this.typingOut.get(conversationId) ?? { lastStart: 0, idle: undefined };
    if (now - state.lastStart >= (this.options.typingThrottleMs ?? 2_000)) {
      state.lastStart = now;
      if (this.socket.connected) this.socket.emit("typing:start", { conversationId });
    }
    clearTimeout(state.idle);
    state.idle = setTimeout(() => this.stopTyping(conversationId), this.options.typingIdleMs ?? 3_000);
    this.typingOut.set(conversationId, state);
  }

  /** Ends the user's typing indicator now (sending a message does it too). */
  stopTyping(conversationId: string): void {
    const state = this.typingOut.get(conversationId);
    if (!state) return;
    clearTimeout(state.idle);
    this.typingOut.delete(conversationId);
    if (this.socket.connected) this.socket.emit("typing:stop", { conversationId });
  }

  // ---- Rooms ---------------------------------------------------------------------------------

  /**
   * Joins the conversation's room while the returned function is not called (counted, so views
   * can share it): the service sends typing indicators only to sockets that joined.
   */
  join(conversationId: string): () => void {
    const count = this.joined.get(conversationId) ?? 0;
    this.joined.set(conversationId, count + 1);
    if (count === 0 && this.socket.connected) this.emitJoin(conversationId);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const now = (this.joined.get(conversationId) ?? 1) - 1;
      if (now > 0) return void this.joined.set(conversationId, now);
      this.joined.delete(conversationId);
      if (this.socket.connected) this.socket.emit("conversation:leave", { conversationId }, () => undefined);
    };
  }

  // ---- Views ---------------------------------------------------------------------------------

  /** The user's conversations, latest activity first, kept up to date. */
  conversations(): ConversationList {
    this.conversationList ??= new ConversationList(this);
    return this.conversationList;
  }

  /** One conversation's messages, outbox entries, read pointers and typing users. */
  thread(conversationId: string): Thread {
    let thread = this.threads.get(conversationId);
    if (!thread) {
      thread = new Thread(this, conversationId, this.options.messagePageSize);
      this.threads.set(conversationId, thread);
    }
    return thread;
  }

  /** Unread counts, total and per conversation. */
  unread(): UnreadCounter {
    this.unreadCounter ??= new UnreadCounter(this);
    return this.unreadCounter;
  }

  /** Online status and last seen of the users watched. */
  presence(): PresenceTracker {
    this.presenceTracker ??= new PresenceTracker(this);
    return this.presenceTracker;
  }

  // ---- Plumbing ------------------------------------------------------------------------------

  /** One acknowledged socket request; a missing ack or a dropped connection is a retryable ChatError. */
  async request<E extends RequestEvent>(event: E, payload: RequestPayload<E>): Promise<AckData<E>> {
    if (!this.socket.connected) await this.waitForConnection();
    let response: Ack<AckData<E>>;
    try {
      response = (await (this.socket as unknown as Socket).timeout(this.options.ackTimeoutMs ?? 10_000).emitWithAck(event, payload)) as Ack<AckData<E>>;
    } catch {
      throw new ChatError("timeout", `No answer to ${event}`);
    }
    if (!response.ok) {
      const { code, message, retryAfterMs, requestId } = response.error;
      throw new ChatError(code, message, { ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), ...(requestId ? { requestId } : {}) });
    }
    return response.data;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const state of this.typingOut.values()) clearTimeout(state.idle);
    for (const thread of this.threads.values()) thread.close();
    this.conversationList?.close();
    this.unreadCounter?.close();
    this.presenceTracker?.close();
    this.socket.close();
    this.connectionState.patch({ status: "closed" });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private enqueue(clientId: string, conversationId: string): Promise<MessageView> {
    const previous = this.sendChains.get(conversationId) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.deliverOutgoing(clientId));
    this.sendChains.set(conversationId, run);
    const clear = () => {
      if (this.sendChains.get(conversationId) === run) this.sendChains.delete(conversationId);
    };
    run.then(clear, clear);
    return run;
  }

  private async deliverOutgoing(clientId: string): Promise<MessageView> {
    for (let attempt = 0; ; attempt++) {
      const message = this.outbox.get(clientId);
      if (!message) throw new ChatError("aborted", "The message was discarded");
      if (this.closed) throw new ChatError("disconnected", "The client was closed");
      try {
        const files = this.outbox.filesOf(clientId);
        if (files.length > 0) {
          this.outbox.patch(clientId, { status: "uploading", progress: { loaded: 0, total: files.reduce((n, f) => n + f.size, 0) } });
          const attachments = await this.upload(files, { onProgress: (progress) => this.outbox.patch(clientId, { progress }) });
          this.outbox.uploaded(clientId, attachments.map((a) => a.id));
        }
        if (!this.socket.connected) {
          this.outbox.patch(clientId, { status: "queued" });
          await this.waitForConnection();
        }
        const ready = this.outbox.get(clientId);
        if (!ready) throw new ChatError("aborted", "The message was discarded");
        this.outbox.patch(clientId, { status: "sending", error: null });
        const stored = await this.request("message:send", {
          conversationId: ready.conversationId,
          clientId,
          ...(ready.content !== undefined ? { content: ready.content } : {}),
          ...(ready.attachmentIds !== undefined ? { attachmentIds: ready.attachmentIds } : {}),
          ...(ready.replyToId !== undefined ? { replyToId: ready.replyToId } : {}),
        });
        this.receive(stored);
        this.outbox.remove(clientId);
        return stored;
      } catch (err) {
        if (this.closed) throw new ChatError("disconnected", "The client was closed");
        if (!isRetryable(err)) {
          const error = err instanceof ChatError ? err : new ChatError("internal", String(err));
          this.outbox.patch(clientId, { status: "failed", error, progress: null });
          throw error;
        }
        // Kept with the entry so a view can say why it waits; cleared once it goes out.
        this.outbox.patch(clientId, { status: "queued", error: err, progress: null });
        await sleep(retryDelay(attempt, err));
      }
    }
  }

  private async withRetry<T>(attempt: () => Promise<T>): Promise<T> {
    for (let n = 0; ; n++) {
      try {
        return await attempt();
      } catch (err) {
        if (this.closed || !isRetryable(err)) throw err;
        await sleep(retryDelay(n, err));
      }
    }
  }

  private onConnect(): void {
    this.connectionState.patch({ status: "connected", error: null, userId: this.tokens.userId });
    if (!this.everConnected) this.restoreOutbox();
    for (const conversationId of this.joined.keys()) this.emitJoin(conversationId);
    const reconnect = this.everConnected;
    this.everConnected = true;
    if (!reconnect) return;
    // After a reconnect, ask for whatever was sent while we were away; views reload their state.
    for (const id of this.lastSeq.keys()) void this.catchUp(id);
    for (const listener of [...this.reconnectListeners]) listener();
  }

  /** Sends what a previous client of this user left in the storage (same clientIds: stored once). */
  private restoreOutbox(): void {
    const restored = this.outbox.restore();
    // Messages sent before the user was known get their slot now.
    this.outbox.persist();
    for (const { clientId, conversationId, ...input } of restored) {
      if (this.outbox.get(clientId)) continue;
      void this.send(conversationId, { ...input, clientId }).catch(() => undefined);
    }
  }

  private onConnectError(err: Error): void {
    if (this.closed) return;
    if (err.message !== "unauthorized" && err.message !== "forbidden") {
      // The service is unreachable: socket.io-client keeps trying by itself.
      this.connectionState.patch({ status: this.everConnected ? "reconnecting" : "connecting" });
      return;
    }
    // Refused: socket.io does not retry that by itself. An expired token gets one refresh per
    // REFRESH_RETRY_MS; a banned user (forbidden) or a token that stays bad ends here.
    const now = Date.now();
    if (err.message === "unauthorized" && this.tokens.refreshable && now - this.lastRefusedRefresh > REFRESH_RETRY_MS) {
      this.lastRefusedRefresh = now;
      this.tokens.refresh().then(
        () => {
          if (!this.closed) this.socket.connect();
        },
        (refreshErr: unknown) => this.refuse(new ChatError("unauthorized", `Token refresh failed: ${String(refreshErr)}`)),
      );
      return;
    }
    this.refuse(new ChatError(err.message as "unauthorized" | "forbidden", err.message));
  }

  private refuse(error: ChatError): void {
    this.connectionState.patch({ status: "unauthorized", error });
  }

  private emitJoin(conversationId: string): void {
    // A refusal (not a participant) needs no handling here: the thread's HTTP load reports it.
    this.socket.emit("conversation:join", { conversationId }, () => undefined);
  }

  private receive(message: MessageView): void {
    const id = message.conversationId;
    if (!this.lastSeq.has(id)) this.lastSeq.set(id, message.seq - 1);
    const last = this.lastSeq.get(id)!;
    if (message.seq <= last) return;
    if (message.seq === last + 1 && !this.syncing.has(id)) {
      this.deliver(message);
      return;
    }
    // A gap, or a catch-up running: hold it and let the catch-up put everything in order.
    const held = this.held.get(id) ?? [];
    held.push(message);
    this.held.set(id, held);
    void this.catchUp(id);
  }

  private deliver(message: MessageView): void {
    this.lastSeq.set(message.conversationId, message.seq);
    for (const listener of [...this.messageListeners]) listener(message);
  }

  private catchUp(conversationId: string): Promise<void> {
    const running = this.syncing.get(conversationId);
    if (running) return running;
    const run = (async () => {
      let caughtUp = false;
      try {
        for (;;) {
          const after = this.lastSeq.get(conversationId) ?? 0;
          const page = await this.api.listMessages(conversationId, { after, limit: 100 });
          for (const m of page.items) if (m.seq === this.lastSeq.get(conversationId)! + 1) this.deliver(m);
          if (page.items.length < 100) break;
        }
        caughtUp = true;
      } catch {
        // Offline, or the node went away: live events stay held, and the next "connect" (or the
        // next gap) runs the catch-up again.
      } finally {
        this.syncing.delete(conversationId);
      }
      if (!caughtUp) return;
      // Live events that arrived meanwhile: deliver those that now follow on.
      const held = (this.held.get(conversationId) ?? []).sort((a, b) => a.seq - b.seq);
      this.held.delete(conversationId);
      for (const m of held) this.receive(m);
    })();
    this.syncing.set(conversationId, run);
    return run;
  }

  private waitForConnection(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new ChatError("disconnected", "The client was closed"));
      const stop = this.connection.subscribe(() => {
        const { status } = this.connection.getSnapshot();
        if (status === "connected") {
          stop();
          resolve();
        } else if (status === "closed") {
          stop();
          reject(new ChatError("disconnected", "The client was closed"));
        }
      });
    });
  }
}

class ConnectionStore extends StateStore<ConnectionState> {
  patch(change: Partial<ConnectionState>): void {
    this.update((state) => {
      const next = { ...state, ...change };
      return next.status === state.status && next.userId === state.userId && next.error === state.error ? state : next;
    });
  }
}

function describeFile(file: UploadFile, i: number): OutgoingFile {
  return {
    name: file.name ?? `file-${i + 1}`,
    type: file.type,
    size: file.size,
    previewUrl: typeof URL.createObjectURL === "function" && typeof window !== "undefined" ? URL.createObjectURL(file) : null,
  };
}

function randomId(): string {
  return globalThis.crypto.randomUUID();
}
