// Typing signals from the bus → typing:start / typing:stop to this node's sockets that joined the
// conversation, except the typist's own. The expiry lives here, on the receivers' nodes: a start
// not refreshed within TYPING_TIMEOUT_MS ends with typing:stop even when the typist's node died
// and will never send the stop itself.
import type { ChatEvent } from "../chat/events.js";
import { conversationRoom, userRoom } from "./socket-types.js";
import type { ChatServer } from "./delivery.js";

export class TypingRelay {
  /** "<conversationId> <userId>" → the timer that ends that indicator on this node. */
  private readonly active = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly io: ChatServer,
    private readonly timeoutMs: number,
  ) {}

  onEvent(event: ChatEvent): void {
    // The typist's message ends their indicator, whether or not their client says so.
    if (event.type === "message.created") {
      const { senderId } = event.message;
      // System messages have no typist.
      if (senderId !== null) this.onEvent({ type: "typing", conversationId: event.message.conversationId, userId: senderId, typing: false });
      return;
    }
    if (event.type !== "typing") return;
    const { conversationId, userId } = event;
    // User ids never hold whitespace (schemas.ts externalId), so the key is unambiguous.
    const key = `${conversationId} ${userId}`;
    const room = conversationRoom(conversationId);
    const existing = this.active.get(key);
    if (existing) clearTimeout(existing);
    this.active.delete(key);
    if (!event.typing) {
      // Only an indicator this node showed is ended: no stray stops for starts it never sent.
      if (existing) this.emit(room, userId, "typing:stop", conversationId);
      return;
    }
    // No socket here joined the conversation: nothing to show, nothing to expire.
    if (!this.io.of("/").adapter.rooms.has(room)) return;
    this.active.set(
      key,
      setTimeout(() => {
        this.active.delete(key);
        this.emit(room, userId, "typing:stop", conversationId);
      }, this.timeoutMs),
    );
    this.emit(room, userId, "typing:start", conversationId);
  }

  close(): void {
    for (const timer of this.active.values()) clearTimeout(timer);
    this.active.clear();
  }

  private emit(room: string, userId: string, event: "typing:start" | "typing:stop", conversationId: string): void {
    this.io.local.to(room).except(userRoom(userId)).emit(event, { conversationId, userId });
  }
}
