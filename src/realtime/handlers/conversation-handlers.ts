import type { ConversationService } from "../../chat/conversation-service.js";
import { conversationIdInput, parse } from "../../chat/schemas.js";
import { conversationRoom } from "../socket-types.js";
import { on, type ChatSocket, type SocketServerOptions } from "../socket-server.js";

/** conversation:join puts the socket in the conversation's room (typing, notification routing). */
export function conversationHandlers(
  socket: ChatSocket,
  deps: { conversations: ConversationService; log: SocketServerOptions["log"] },
): void {
  const principal = socket.data.principal;
  on(
    socket,
    "conversation:join",
    async (payload) => {
      const { conversationId } = parse(conversationIdInput, payload);
      const conversation = await deps.conversations.get(principal, conversationId);
      await socket.join(conversationRoom(conversationId));
      return conversation;
    },
    deps.log,
  );
  on(
    socket,
    "conversation:leave",
    async (payload) => {
      const { conversationId } = parse(conversationIdInput, payload);
      await socket.leave(conversationRoom(conversationId));
      return {};
    },
    deps.log,
  );
}
