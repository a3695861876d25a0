import type { TypingService } from "../../chat/typing-service.js";
import { conversationIdInput, parse } from "../../chat/schemas.js";
import { AppError } from "../../errors/errors.js";
import { conversationRoom } from "../socket-types.js";
import { on, type ChatSocket, type SocketServerOptions } from "../socket-server.js";

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
export function typingHandlers(
  socket: ChatSocket,
  deps: { typing: TypingService; timeoutMs: number; log: SocketServerOptions["log"] },
): void {
  const { typing, log } = deps;
  const principal = socket.data.principal;
  const refreshMs = Math.floor(deps.timeoutMs / 5);
  const bucket = new TokenBucket(TYPING_BURST, TYPING_RATE_PER_SECOND);
  const allowed = new Set<string>();
  /** conversationId → when this socket's last start was relayed. */
  const started = new Map<string, number>();

  const authorize = async (payload: unknown): Promise<string> => {
    const { conversationId } = parse(conversationIdInput, payload);
    // Before any database check: a flood costs this socket a parse and nothing else.
    bucket.take();
    // conversation:join already checked the rules for a socket in the room.
    if (allowed.has(conversationId) || socket.rooms.has(conversationRoom(conversationId))) return conversationId;
    await typing.authorize(principal, conversationId);
    if (allowed.size >= MAX_REMEMBERED) allowed.clear();
    allowed.add(conversationId);
    return conversationId;
  };

  on(
    socket,
    "typing:start",
    async (payload) => {
      const conversationId = await authorize(payload);
      const now = Date.now();
      const last = started.get(conversationId);
      if (last === undefined || now - last >= refreshMs) {
        if (started.size >= MAX_REMEMBERED) started.clear();
        started.set(conversationId, now);
        await typing.signal(principal, conversationId, true);
      }
      return {};
    },
    log,
  );
  on(
    socket,
    "typing:stop",
    async (payload) => {
      const conversationId = await authorize(payload);
      if (started.delete(conversationId)) await typing.signal(principal, conversationId, false);
      return {};
    },
    log,
  );
  // A closed tab stops its indicators at once instead of after the timeout.
  socket.on("disconnect", () => {
    const now = Date.now();
    for (const [conversationId, at] of started) {
      if (now - at < deps.timeoutMs) void typing.signal(principal, conversationId, false);
    }
    started.clear();
  });
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
