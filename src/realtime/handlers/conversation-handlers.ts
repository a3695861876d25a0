import type { ConversationService } from "../../chat/conversation-service.js";
import { conversationIdInput, parse } from "../../chat/schemas.js";
import { conversationRoom } from "../socket-types.js";
import type { SocketHandlers } from "../socket-server.js";

/** conversation:join puts the socket in the conversation's room (typing, notification routing). */
export function conversationHandlers(handlers: SocketHandlers, deps: { conversations: ConversationService }): void {
  handlers.on("conversation:join", async (socket, payload) => {
    const { conversationId } = parse(conversationIdInput, payload);
    const conversation = await deps.conversations.get(socket.data.principal, conversationId);
    await socket.join(conversationRoom(conversationId));
    return conversation;
  });
  handlers.on("conversation:leave", async (socket, payload) => {
    const { conversationId } = parse(conversationIdInput, payload);
    await socket.leave(conversationRoom(conversationId));
    return {};
  });
}
