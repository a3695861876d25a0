// Turns chat events from the bus into emits to this node's own sockets (io.local): the bus has
// already carried the event to every node, so each socket gets it exactly once.
import type { ChatEvent } from "../chat/events.js";
import { conversationRoom, userRoom, type ChatServer } from "./socket-types.js";

export type { ChatServer };

export function deliver(io: ChatServer, event: ChatEvent, onBan: (userId: string) => void): void {
  const local = io.local;
  switch (event.type) {
    case "message.created": {
      const { message } = event;
      if (event.opened) local.to(userRoom(event.opened.userId)).emit("conversation:new", event.opened.conversation);
      local.to(event.to.map(userRoom)).emit("message:new", message);
      local
        .to(userRoom(event.recipientId))
        .except(conversationRoom(message.conversationId))
        .emit("notification", { type: "message", conversationId: message.conversationId, message });
      return;
    }
    case "message.updated":
      local.to(event.to.map(userRoom)).emit("message:updated", event.message);
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
