// Typed client SDK for the marketplace's app. It turns the service's guarantees into an API that
// cannot lose a message:
// - send() picks the clientId once and retries with it until acknowledged, across reconnects and
//   nodes (the server stores a clientId once and delivers it once);
// - "message" events come once per message id and in seq order per conversation: a gap in seq
//   (a missed event, a reconnect) is filled from GET …/messages?after=<last seq> before anything
//   after it is handed out.
import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import type { ConversationView, MessageView } from "./contract.js";
import type { Ack, ClientToServerEvents, ServerToClientEvents } from "./contract.js";

export interface ChatClientOptions {
  /** Base URL of the service (or of the load balancer in front of it). */
  url: string;
  /** The marketplace's JWT for this user, or a function that returns a fresh one. */
  token: string | (() => string | Promise<string>);
  socket?: Partial<ManagerOptions & SocketOptions>;
  /** How long one send attempt waits for its ack before trying again. */
  ackTimeoutMs?: number;
}

export interface SendInput {
  content?: string;
  attachmentIds?: string[];
  replyToId?: string;
  /** Give one to make the send idempotent across app restarts too (store it with the draft). */
  clientId?: string;
}

type Listener<T> = (payload: T) => void;

export class ChatError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Error codes worth retrying: the request may succeed later as it is. */
const RETRYABLE = new Set(["unavailable", "rate_limited", "timeout", "disconnected"]);

export class ChatClient {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  private readonly lastSeq = new Map<string, number>();
  private readonly pending = new Map<string, MessageView[]>();
  private readonly syncing = new Map<string, Promise<void>>();
  private readonly listeners = new Map<string, Set<Listener<never>>>();
  private closed = false;

  constructor(private readonly options: ChatClientOptions) {
    const tokenFn = typeof options.token === "function" ? options.token : () => options.token as string;
    this.socket = io(options.url, {
      transports: ["websocket", "polling"],
      ...options.socket,
      auth: (cb) => void Promise.resolve(tokenFn()).then((token) => cb({ token })),
    });
    this.socket.on("message:new", (m) => this.receive(m));
    this.socket.on("connect", () => {
      // After a reconnect, ask for whatever was sent while we were away.
      for (const id of this.lastSeq.keys()) void this.catchUp(id);
    });
  }

  /** Resolves once connected; rejects with the connect_error ("unauthorized", "forbidden"). */
  ready(): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const ok = () => {
        this.socket.off("connect_error", fail);
        resolve();
      };
      const fail = (err: Error) => {
        if (err.message === "unauthorized" || err.message === "forbidden") {
          this.socket.off("connect", ok);
          reject(new ChatError(err.message, err.message));
        }
      };
      this.socket.once("connect", ok);
      this.socket.on("connect_error", fail);
    });
  }

  /** Messages, once each, in seq order per followed conversation. */
  on(event: "message", listener: Listener<MessageView>): () => void;
  on<E extends keyof ServerToClientEvents>(event: E, listener: Parameters<ServerToClientEvents[E]>[0] extends infer P ? Listener<P> : never): () => void;
  on(event: string, listener: Listener<never>): () => void {
    if (event !== "message") {
      (this.socket as unknown as Socket).on(event, listener as (...args: unknown[]) => void);
      return () => void (this.socket as unknown as Socket).off(event, listener as (...args: unknown[]) => void);
    }
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)!.add(listener);
    return () => void this.listeners.get(event)!.delete(listener);
  }

  /**
   * Follows a conversation from `afterSeq` (the last seq the app has; 0 for all): messages above
   * it are fetched now and after every reconnect.
   */
  async follow(conversationId: string, afterSeq = 0): Promise<void> {
    if (!this.lastSeq.has(conversationId)) this.lastSeq.set(conversationId, afterSeq);
    await this.catchUp(conversationId);
  }

  /** Sends once, however many attempts it takes; resolves with the stored message. */
  async send(conversationId: string, input: SendInput): Promise<MessageView> {
    const payload = { ...input, conversationId, clientId: input.clientId ?? crypto.randomUUID() };
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new ChatError("disconnected", "The client was closed");
      try {
        const message = await this.request<MessageView>("message:send", payload);
        this.receive(message);
        return message;
      } catch (err) {
        if (!(err instanceof ChatError) || !RETRYABLE.has(err.code)) throw err;
        await this.waitBeforeRetry(attempt);
      }
    }
  }

  /** One acknowledged request; a missing ack or a dropped connection is a retryable ChatError. */
  async request<T>(event: keyof ClientToServerEvents, payload: unknown): Promise<T> {
    if (!this.socket.connected) await this.waitForConnection();
    let response: Ack<T>;
    try {
      response = (await (this.socket as unknown as Socket).timeout(this.options.ackTimeoutMs ?? 10_000).emitWithAck(event, payload)) as Ack<T>;
    } catch {
      throw new ChatError("timeout", `No answer to ${event}`);
    }
    if (!response.ok) throw new ChatError(response.error.code, response.error.message);
    return response.data;
  }

  /** Plain HTTP call with the same token, for the catch-up reads and anything REST-only. */
  async http<T>(path: string, init: RequestInit = {}): Promise<T> {
    const token = typeof this.options.token === "function" ? await this.options.token() : this.options.token;
    const res = await fetch(new URL(path, this.options.url), {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...(init.body ? { "content-type": "application/json" } : {}), ...init.headers },
    });
    const body = (res.status === 204 ? null : await res.json()) as { error?: { code?: string; message?: string } } | null;
    if (!res.ok) throw new ChatError(body?.error?.code ?? "unavailable", body?.error?.message ?? res.statusText);
    return body as T;
  }

  conversations(query = ""): Promise<{ items: ConversationView[]; nextCursor: string | null }> {
    return this.http(`/api/conversations${query ? `?${query}` : ""}`);
  }

  close(): void {
    this.closed = true;
    this.socket.close();
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
    const held = this.pending.get(id) ?? [];
    held.push(message);
    this.pending.set(id, held);
    void this.catchUp(id);
  }

  private deliver(message: MessageView): void {
    this.lastSeq.set(message.conversationId, message.seq);
    for (const listener of this.listeners.get("message") ?? []) (listener as Listener<MessageView>)(message);
  }

  private catchUp(conversationId: string): Promise<void> {
    const running = this.syncing.get(conversationId);
    if (running) return running;
    const run = (async () => {
      let caughtUp = false;
      try {
        for (;;) {
          const after = this.lastSeq.get(conversationId) ?? 0;
          const page = await this.http<{ items: MessageView[] }>(
            `/api/conversations/${conversationId}/messages?after=${after}&limit=100`,
          );
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
      const held = (this.pending.get(conversationId) ?? []).sort((a, b) => a.seq - b.seq);
      this.pending.delete(conversationId);
      for (const m of held) this.receive(m);
    })();
    this.syncing.set(conversationId, run);
    return run;
  }

  private waitForConnection(): Promise<void> {
    return new Promise((resolve) => this.socket.once("connect", () => resolve()));
  }

  private waitBeforeRetry(attempt: number): Promise<void> {
    const ms = Math.min(5_000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2);
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
