// Turns each copy the bus delivers into emits to this node's sockets (io.local). A copy for user
// U goes to U's sockets here (U's room); a copy for every node, to whichever of its sockets it
// concerns. The bus brings a node only the copies of users it holds sockets of, once per user, so
// each socket gets each event exactly once.
//
// A message whose contact details are masked reaches different people differently (the sender's
// and admins' sockets get it as sent, everyone else masked): those events are rendered per socket
// with messageFor(), the one per-viewer rendering (chat/message-visibility.ts). Messages with
// nothing masked, nearly all, go out as one room emit.
import type { ChatEvent } from "../chat/events.js";
import { messageFor, viewerOf, type SharedMessage } from "../chat/message-visibility.js";
import type { MessageView } from "../contract/shapes.js";
import type { SocketChannels } from "./socket-channels.js";
import { conversationRoom, userRoom, type ChatServer, type ChatSocket } from "./socket-types.js";

export type { ChatServer };

export function deliver(
  io: ChatServer,
  channels: SocketChannels,
  event: ChatEvent,
  target: string | null,
  onBan: (userId: string) => void,
): void {
  const local = io.local;
  if (target === null) {
    switch (event.type) {
      case "user.banned":
        onBan(event.userId);
        local.in(userRoom(event.userId)).disconnectSockets(true);
        return;
      case "broadcast.created":
        local.emit("broadcast", event.broadcast);
        return;
      default:
        return;
    }
  }
  if (!("to" in event)) return;
  const except = channels.exceptRooms(target, event.to);
  const room = except.length > 0 ? local.to(userRoom(target)).except(except) : local.to(userRoom(target));
  switch (event.type) {
    case "message.created": {
      const { message } = event;
      if (event.opened?.userId === target) room.emit("conversation:new", event.opened.conversation);
      const notify = event.recipientId === target;
      if (event.original === undefined) {
        room.emit("message:new", message);
        if (notify) {
          room
            .except(conversationRoom(message.conversationId))
            .emit("notification", { type: "message", conversationId: message.conversationId, message });
        }
        return;
      }
      eachSocket(io, target, except, (socket) => {
        const view = viewOf(event, socket);
        socket.emit("message:new", view);
        if (notify && !socket.rooms.has(conversationRoom(message.conversationId))) {
          socket.emit("notification", { type: "message", conversationId: message.conversationId, message: view });
        }
      });
      return;
    }
    case "message.updated":
      if (event.original === undefined) room.emit("message:updated", event.message);
      else eachSocket(io, target, except, (socket) => socket.emit("message:updated", viewOf(event, socket)));
      return;
    case "message.deleted":
      room.emit("message:deleted", event.payload);
      return;
    case "message.read":
      room.emit("message:read", event.payload);
      return;
    case "message.reactions":
      room.emit("message:reactions", event.payload);
      return;
    case "presence.changed":
      if (event.online) room.emit("user:online", { userId: event.userId });
      else room.emit("user:offline", { userId: event.userId, lastSeenAt: event.lastSeenAt ?? new Date().toISOString() });
      return;
    case "typing":
      // typing-relay.ts: it keeps the expiry timers.
      return;
  }
}

/** The message as the socket's user sees it. */
function viewOf(shared: SharedMessage, socket: ChatSocket): MessageView {
  return messageFor(shared, viewerOf(socket.data.principal));
}

/** This node's sockets in `target`'s room, except those in the `except` rooms. */
function eachSocket(io: ChatServer, target: string, except: readonly string[], visit: (socket: ChatSocket) => void): void {
  const nsp = io.of("/");
  const skip = except.map((room) => nsp.adapter.rooms.get(room)).filter((ids) => ids !== undefined);
  for (const id of nsp.adapter.rooms.get(userRoom(target)) ?? []) {
    if (skip.some((ids) => ids.has(id))) continue;
    const socket = nsp.sockets.get(id);
    if (socket) visit(socket);
  }
}
