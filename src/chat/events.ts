// Side effects leave the rules as these typed events; realtime/ turns them into Socket.IO emits
// on every node. `to` holds the user ids whose sockets get the event.
import type { ConversationView, MessageView } from "../contract/shapes.js";
import type { BroadcastPayload, MessageDeletedPayload, MessageReadPayload } from "../contract/socket-events.js";

export type { BroadcastPayload, MessageDeletedPayload, MessageReadPayload };

export type ChatEvent =
  | {
      type: "message.created";
      to: string[];
      /** As everyone may see it (contact details masked); `original` is for the sender and admins. */
      message: MessageView;
      /** The content as sent, present only when `message.content` is masked (chat/message-visibility.ts). */
      original?: string | null;
      /** The participant who is told by `notification` if they have not joined the conversation. */
      recipientId: string;
      /** Set on a conversation's first message: the seller's view, sent as conversation:new. */
      opened: { userId: string; conversation: ConversationView } | null;
    }
  | { type: "message.updated"; to: string[]; message: MessageView; original?: string | null }
  | { type: "message.deleted"; to: string[]; payload: MessageDeletedPayload }
  | { type: "message.read"; to: string[]; payload: MessageReadPayload }
  | { type: "user.banned"; userId: string }
  /** Typing relayed to every node; receivers' nodes expire it (realtime/typing-relay.ts). */
  | { type: "typing"; conversationId: string; userId: string; typing: boolean }
  /** Moderation: every node drops its cached "banned" state of the user. */
  | { type: "user.unbanned"; userId: string }
  /** A block or unblock between two users: who may see whose presence changed. */
  | { type: "contacts.changed"; userIds: [string, string] }
  /** Admin broadcast: every socket on every node gets `broadcast`. */
  | { type: "broadcast.created"; broadcast: BroadcastPayload };

export type PublishEvent = (event: ChatEvent) => Promise<void>;
