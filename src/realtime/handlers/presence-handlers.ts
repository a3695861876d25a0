import type { PresenceChange, PresenceService } from "../../chat/presence-service.js";
import { userRoom } from "../socket-types.js";
import type { ChatServer } from "../delivery.js";
import type { ChatSocket } from "../socket-server.js";

/** Each socket counts towards its user's presence from connection to disconnect. */
export function presenceHandlers(socket: ChatSocket, deps: { presence: PresenceService }): void {
  const { userId } = socket.data.principal;
  deps.presence.connected(userId);
  socket.on("disconnect", () => deps.presence.disconnected(userId));
}

/**
 * user:online / user:offline to the contacts' personal rooms through the adapter: one publish
 * reaches every node, and a socket gets the event once however many of the rooms it is in.
 */
export function announcePresence(io: ChatServer): (change: PresenceChange) => void {
  return (change) => {
    const rooms = change.to.map(userRoom);
    if (change.online) io.to(rooms).emit("user:online", { userId: change.userId });
    else io.to(rooms).emit("user:offline", { userId: change.userId, lastSeenAt: change.lastSeenAt ?? new Date().toISOString() });
  };
}
