// Turns chat events from the bus into emits to this node's own sockets (io.local): the bus has
// already carried the event to every node, so each socket gets it exactly once.
//
// A message whose contact details are masked reaches different people differently (the sender's
// and admins' sockets get it as sent, everyone else masked): those events are rendered per socket
// with messageFor(), the one per-viewer rendering (chat/message-visibility.ts). Messages with
// nothing masked, nearly all, go out as one room emit.
import type { ChatEvent } from "../chat/events.js";
import { messageFor, viewerOf, type SharedMessage } from "../chat/message-visibility.js";
import type { MessageView } from "../contract/shapes.js";
import { conversationRoom, userRoom, type ChatServer, type ChatSocket } from "./socket-types.js";

export type { ChatServer };

export function deliver(io: ChatServer, event: ChatEvent, onBan: (userId: string) => void): void {
  const local = io.local;
  switch (event.type) {
    case "message.created": {
      const { message } = event;
      if (event.opened) local.to(userRoom(event.opened.userId)).emit("conversation:new", event.opened.conversation);
      if (event.original === undefined) {
        local.to(event.to.map(userRoom)).emit("message:new", message);
        local
          .to(userRoom(event.recipientId))
          .except(conversationRoom(message.conversationId))
          .emit("notification", { type: "message", conversationId: message.conversationId, message });
        return;
      }
      eachLocalSocket(io, event.to, (socket) => socket.emit("message:new", viewOf(event, socket)));
      eachLocalSocket(io, [event.recipientId], (socket) => {
        if (socket.rooms.has(conversationRoom(message.conversationId))) return;
        socket.emit("notification", { type: "message", conversationId: message.conversationId, message: viewOf(event, socket) });
      });
      return;
    }
    case "message.updated":
      if (event.original === undefined) local.to(event.to.map(userRoom)).emit("message:updated", event.message);
      else eachLocalSocket(io, event.to, (socket) => socket.emit("message:updated", viewOf(event, socket)));
      return;
    case "message.deleted":
      local.to(event.to.map(userRoom)).emit("message:deleted", event.payload);
      return;
    case "message.read":
      local.to(event.to.map(userRoom)).emit("message:read", event.payload);
      return;
    case "user.banned":
      onBan(event.userId);
      local.in(userRoom(event.userId)).disconnectSockets(true);
      return;
    case "broadcast.created":
      local.emit("broadcast", event.broadcast);
      return;
  }
}

/** The message as the socket's user sees it. */
function viewOf(shared: SharedMessage, socket: ChatSocket): MessageView {
  return messageFor(shared, viewerOf(socket.data.principal));
}

/** This node's sockets of the given users, each once. */
function eachLocalSocket(io: ChatServer, userIds: readonly string[], visit: (socket: ChatSocket) => void): void {
  const nsp = io.of("/");
  for (const userId of new Set(userIds)) {
    for (const id of nsp.adapter.rooms.get(userRoom(userId)) ?? []) {
      const socket = nsp.sockets.get(id);
      if (socket) visit(socket);
    }
  }
}
