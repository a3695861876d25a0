// The Socket.IO contract (API.md, "Socket.IO") as the four event maps that type the server and
// the client SDK alike.
import type { Principal } from "../auth/token-verifier.js";
import type { MessageDeletedPayload, MessageReadPayload } from "../chat/events.js";
import type { ConversationView, MessageView } from "../chat/shapes.js";
import type { ErrorBody } from "../errors/errors.js";

export type Ack<T> = { ok: true; data: T } | { ok: false; error: ErrorBody };
export type AckFn<T> = (response: Ack<T>) => void;

export interface ClientToServerEvents {
  "conversation:join": (payload: { conversationId: string }, ack: AckFn<ConversationView>) => void;
  "conversation:leave": (payload: { conversationId: string }, ack: AckFn<Record<string, never>>) => void;
  "message:send": (
    payload: { conversationId: string; clientId: string; content?: string; attachmentIds?: string[]; replyToId?: string },
    ack: AckFn<MessageView>,
  ) => void;
  "message:edit": (payload: { messageId: string; content: string }, ack: AckFn<MessageView>) => void;
  "message:delete": (payload: { messageId: string }, ack: AckFn<Record<string, never>>) => void;
  "message:read": (payload: { messageId: string }, ack: AckFn<Record<string, never>>) => void;
  "messages:read": (payload: { conversationId: string; seq?: number }, ack: AckFn<Record<string, never>>) => void;
  "typing:start": (payload: { conversationId: string }) => void;
  "typing:stop": (payload: { conversationId: string }) => void;
}

export interface ServerToClientEvents {
  "message:new": (message: MessageView) => void;
  "message:updated": (message: MessageView) => void;
  "message:deleted": (payload: MessageDeletedPayload) => void;
  "message:read": (payload: MessageReadPayload) => void;
  "typing:start": (payload: { conversationId: string; userId: string }) => void;
  "typing:stop": (payload: { conversationId: string; userId: string }) => void;
  "user:online": (payload: { userId: string }) => void;
  "user:offline": (payload: { userId: string; lastSeenAt: string }) => void;
  "conversation:new": (conversation: ConversationView) => void;
  notification: (payload: { type: "message"; conversationId: string; message: MessageView }) => void;
  broadcast: (payload: { id: string; content: string; createdAt: string }) => void;
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface InterServerEvents {}

export interface SocketData {
  principal: Principal;
}

export const userRoom = (userId: string) => `u:${userId}`;
export const conversationRoom = (conversationId: string) => `c:${conversationId}`;
