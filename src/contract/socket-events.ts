// The Socket.IO contract (API.md, "Socket.IO") as the event maps that type the server, the client
// packages and the tests alike. A leaf: imports nothing but the shapes.
import type { ConversationView, MessageView, ReactionView } from "./shapes.js";

/** The contract's error codes (API.md, "Errors"); src/errors/errors.ts gives each its status. */
export type ErrorCode =
  | "unauthorized"
  | "forbidden"
  | "blocked"
  | "not_found"
  | "validation_failed"
  | "conflict"
  | "payload_too_large"
  | "unsupported_media_type"
  | "rate_limited"
  | "unavailable"
  | "internal";

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  retryAfterMs?: number;
  requestId?: string;
}

export interface MessageDeletedPayload {
  id: string;
  conversationId: string;
  seq: number;
}

export interface MessageReadPayload {
  conversationId: string;
  userId: string;
  seq: number;
  readAt: string;
}

/** message:reactions: a message's reactions after a change, the whole list (as in Message.reactions). */
export interface MessageReactionsPayload {
  messageId: string;
  conversationId: string;
  reactions: ReactionView[];
}

export interface BroadcastPayload {
  id: string;
  content: string;
  createdAt: string;
}

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
  /** Add (`on: true`) or remove the caller's reaction: one emoji, as in PUT/DELETE /api/messages/:id/reactions/:emoji. */
  "message:react": (payload: { messageId: string; emoji: string; on: boolean }, ack: AckFn<Record<string, never>>) => void;
  "typing:start": (payload: { conversationId: string }) => void;
  "typing:stop": (payload: { conversationId: string }) => void;
}

export interface ServerToClientEvents {
  "message:new": (message: MessageView) => void;
  "message:updated": (message: MessageView) => void;
  "message:deleted": (payload: MessageDeletedPayload) => void;
  "message:read": (payload: MessageReadPayload) => void;
  "message:reactions": (payload: MessageReactionsPayload) => void;
  "typing:start": (payload: { conversationId: string; userId: string }) => void;
  "typing:stop": (payload: { conversationId: string; userId: string }) => void;
  "user:online": (payload: { userId: string }) => void;
  "user:offline": (payload: { userId: string; lastSeenAt: string }) => void;
  "conversation:new": (conversation: ConversationView) => void;
  notification: (payload: { type: "message"; conversationId: string; message: MessageView }) => void;
  broadcast: (payload: BroadcastPayload) => void;
}
