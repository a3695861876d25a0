import type { MessageService } from "../../chat/message-service.js";
import type { ReactionService } from "../../chat/reaction-service.js";
import { on, type ChatSocket, type SocketServerOptions } from "../socket-server.js";

/** The socket side of messaging: each event calls the same MessageService function as HTTP. */
export function messageHandlers(
  socket: ChatSocket,
  deps: { messages: MessageService; reactions: ReactionService; log: SocketServerOptions["log"] },
): void {
  const { messages, reactions, log } = deps;
  const principal = socket.data.principal;
  on(socket, "message:send", async (payload) => (await messages.send(principal, payload)).message, log);
  on(socket, "message:edit", (payload) => messages.edit(principal, payload), log);
  on(
    socket,
    "message:delete",
    async (payload) => {
      await messages.unsend(principal, payload);
      return {};
    },
    log,
  );
  on(
    socket,
    "message:read",
    async (payload) => {
      await messages.markReadUpTo(principal, payload);
      return {};
    },
    log,
  );
  on(
    socket,
    "message:react",
    async (payload) => {
      await reactions.react(principal, payload);
      return {};
    },
    log,
  );
  on(
    socket,
    "messages:read",
    async (payload) => {
      await messages.markRead(principal, payload);
      return {};
    },
    log,
  );
}
