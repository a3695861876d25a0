// Server-side socket typing: the contract's event maps plus what a socket carries on this server.
import type { Server, Socket } from "socket.io";
import type { Principal } from "../auth/token-verifier.js";
import type { ClientToServerEvents, ServerToClientEvents } from "../contract/socket-events.js";

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface InterServerEvents {}

export interface SocketData {
  principal: Principal;
  /** The users whose events this socket receives (its own, and any channelsOf adds). */
  channels: string[];
}

export type ChatServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export const userRoom = (userId: string) => `u:${userId}`;
export const conversationRoom = (conversationId: string) => `c:${conversationId}`;
