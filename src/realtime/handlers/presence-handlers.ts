import type { PresenceService } from "../../chat/presence-service.js";
import type { ChatSocket } from "../socket-server.js";

/** Each socket counts towards its user's presence from connection to disconnect. */
export function presenceHandlers(socket: ChatSocket, deps: { presence: PresenceService }): void {
  const { userId } = socket.data.principal;
  deps.presence.connected(userId);
  socket.on("disconnect", () => deps.presence.disconnected(userId));
}
