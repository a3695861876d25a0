import type { PresenceService } from "../../chat/presence-service.js";
import type { SocketHandlers } from "../socket-server.js";

/** Each socket counts towards its user's presence from connection to disconnect. */
export function presenceHandlers(handlers: SocketHandlers, deps: { presence: PresenceService }): void {
  handlers
    .onConnect((socket) => deps.presence.connected(socket.data.principal.userId))
    .onDisconnect((socket) => deps.presence.disconnected(socket.data.principal.userId));
}
