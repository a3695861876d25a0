import type { MessageService } from "../../chat/message-service.js";
import type { ReactionService } from "../../chat/reaction-service.js";
import type { SocketHandlers } from "../socket-server.js";

/** The socket side of messaging: each event calls the same MessageService function as HTTP. */
export function messageHandlers(handlers: SocketHandlers, deps: { messages: MessageService; reactions: ReactionService }): void {
  const { messages, reactions } = deps;
  handlers
    .on("message:send", async (socket, payload) => (await messages.send(socket.data.principal, payload)).message)
    .on("message:edit", (socket, payload) => messages.edit(socket.data.principal, payload))
    .on("message:delete", async (socket, payload) => {
      await messages.unsend(socket.data.principal, payload);
      return {};
    })
    .on("message:read", async (socket, payload) => {
      await messages.markReadUpTo(socket.data.principal, payload);
      return {};
    })
    .on("message:react", async (socket, payload) => {
      await reactions.react(socket.data.principal, payload);
      return {};
    })
    .on("messages:read", async (socket, payload) => {
      await messages.markRead(socket.data.principal, payload);
      return {};
    });
}
