import type { TypingService } from "../../chat/typing-service.js";
import { conversationIdInput, parse } from "../../chat/schemas.js";
import { AppError } from "../../errors/errors.js";
import { conversationRoom } from "../socket-types.js";
import type { ChatSocket, SocketHandlers } from "../socket-server.js";

/** Per socket: a burst of this many typing events, refilled at TYPING_RATE_PER_SECOND. */
const TYPING_BURST = 10;
const TYPING_RATE_PER_SECOND = 2;
/** Conversations a socket is remembered to be allowed in (no database check per keystroke). */
const MAX_REMEMBERED = 100;

/**
 * typing:start / typing:stop. The contract asks no ack; one given is answered ({} or the error).
 * A flooding client is refused with rate_limited (retryAfterMs) in the ack, or silently dropped
 * without one. Repeated starts are relayed at most every timeout/5: receivers only need a refresh
 * before their indicator expires.
 */
export function typingHandlers(handlers: SocketHandlers, deps: { typing: TypingService; timeoutMs: number }): void {
  const { typing } = deps;
  const refreshMs = Math.floor(deps.timeoutMs / 5);
  // Created on a socket's first typing event: an idle socket holds none of it.
  const states = new WeakMap<ChatSocket, TypingState>();
  const stateOf = (socket: ChatSocket): TypingState => {
    let state = states.get(socket);
    if (!state) states.set(socket, (state = { bucket: new TokenBucket(TYPING_BURST, TYPING_RATE_PER_SECOND), allowed: new Set(), started: new Map() }));
    return state;
  };

  const authorize = async (socket: ChatSocket, state: TypingState, payload: unknown): Promise<string> => {
    const { conversationId } = parse(conversationIdInput, payload);
    // Before any database check: a flood costs this socket a parse and nothing else.
    state.bucket.take();
    // conversation:join already checked the rules for a socket in the room.
    if (state.allowed.has(conversationId) || socket.rooms.has(conversationRoom(conversationId))) return conversationId;
    await typing.authorize(socket.data.principal, conversationId);
    if (state.allowed.size >= MAX_REMEMBERED) state.allowed.clear();
    state.allowed.add(conversationId);
    return conversationId;
  };

  handlers.on("typing:start", async (socket, payload) => {
    const state = stateOf(socket);
    const conversationId = await authorize(socket, state, payload);
    const now = Date.now();
    const last = state.started.get(conversationId);
    if (last === undefined || now - last >= refreshMs) {
      if (state.started.size >= MAX_REMEMBERED) state.started.clear();
      state.started.set(conversationId, now);
      await typing.signal(socket.data.principal, conversationId, true);
    }
    return {};
  });
  handlers.on("typing:stop", async (socket, payload) => {
    const state = stateOf(socket);
    const conversationId = await authorize(socket, state, payload);
    if (state.started.delete(conversationId)) await typing.signal(socket.data.principal, conversationId, false);
    return {};
  });
  // A closed tab stops its indicators at once instead of after the timeout.
  handlers.onDisconnect((socket) => {
    const state = states.get(socket);
    if (!state) return;
    const now = Date.now();
    for (const [conversationId, at] of state.started) {
      if (now - at < deps.timeoutMs) void typing.signal(socket.data.principal, conversationId, false);
    }
    state.started.clear();
  });
}

interface TypingState {
  bucket: TokenBucket;
  /** Conversations this socket is remembered to be allowed in. */
  allowed: Set<string>;
  /** conversationId → when this socket's last start was relayed. */
  started: Map<string, number>;
}

class TokenBucket {
  private tokens: number;
  private updatedAt = Date.now();

  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
  ) {
    this.tokens = capacity;
  }

  /** Takes one token or throws rate_limited with the wait until the next one. */
  take(): void {
    const now = Date.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) / 1000) * this.perSecond);
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return;
    }
    const retryAfterMs = Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
    throw new AppError("rate_limited", "Too many typing events, slow down", retryAfterMs);
  }
}
