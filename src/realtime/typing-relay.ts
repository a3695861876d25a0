// Typing copies from the bus → typing:start / typing:stop to the receiving user's sockets on this
// node that joined the conversation. The expiry lives here, on the receivers' nodes: a start not
// refreshed within TYPING_TIMEOUT_MS ends with typing:stop even when the typist's node died and
// will never send the stop itself.
import type { ChatEvent } from "../chat/events.js";
import { conversationRoom, userRoom } from "./socket-types.js";
import type { ChatServer } from "./delivery.js";

export class TypingRelay {
  /** "<conversationId> <typist> <receiver>" → the timer that ends that indicator on this node. */
  private readonly active = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly io: ChatServer,
    private readonly timeoutMs: number,
  ) {}

  /** A bus copy for `target` (null: a copy for every node, never typing). */
  onEvent(event: ChatEvent, target: string | null): void {
    if (target === null) return;
    // The typist's message ends their indicator, whether or not their client says so.
    if (event.type === "message.created") {
      const { conversationId, senderId } = event.message;
      // System messages have no typist.
      if (senderId !== null && senderId !== target) {
        this.onEvent({ type: "typing", to: [target], conversationId, userId: senderId, typing: false }, target);
      }
      return;
    }
    if (event.type !== "typing") return;
    const { conversationId, userId } = event;
    // User ids never hold whitespace (schemas.ts externalId), so the key is unambiguous.
    const key = `${conversationId} ${userId} ${target}`;
    const existing = this.active.get(key);
    if (existing) clearTimeout(existing);
    this.active.delete(key);
    if (!event.typing) {
      // Only an indicator this node showed is ended: no stray stops for starts it never sent.
      if (existing) this.emit(target, userId, "typing:stop", conversationId);
      return;
    }
    // No socket of the receiver here joined the conversation: nothing to show, nothing to expire.
    if (!this.emit(target, userId, "typing:start", conversationId)) return;
    this.active.set(
      key,
      setTimeout(() => {
        this.active.delete(key);
        this.emit(target, userId, "typing:stop", conversationId);
      }, this.timeoutMs),
    );
  }

  close(): void {
    for (const timer of this.active.values()) clearTimeout(timer);
    this.active.clear();
  }

  /** To the receiver's sockets here that joined the conversation (not the typist's own); false if none. */
  private emit(receiver: string, typist: string, event: "typing:start" | "typing:stop", conversationId: string): boolean {
    const rooms = this.io.of("/").adapter.rooms;
    const mine = rooms.get(userRoom(receiver));
    const joined = rooms.get(conversationRoom(conversationId));
    if (!mine || !joined) return false;
    const typists = rooms.get(userRoom(typist));
    const sockets: string[] = [];
    for (const id of mine) if (joined.has(id) && !typists?.has(id)) sockets.push(id);
    if (sockets.length === 0) return false;
    this.io.local.to(sockets).emit(event, { conversationId, userId: typist });
    return true;
  }
}
