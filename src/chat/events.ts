// Side effects leave the rules as these typed events; the event bus carries them to the nodes that
// hold sockets of the users in `to` (one copy per user), or to every node for the few events every
// node must see (audienceOf); realtime/ turns each copy into Socket.IO emits to that user's sockets.
import type { ConversationView, MessageView } from "../contract/shapes.js";
import type {
  BroadcastPayload,
  MessageDeletedPayload,
  MessageReactionsPayload,
  MessageReadPayload,
} from "../contract/socket-events.js";

export type { BroadcastPayload, MessageDeletedPayload, MessageReactionsPayload, MessageReadPayload };

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
      /**
       * When the conversation's previous message was stored (null for seq 1; absent where the
       * writer does not say): lets delivering nodes tell whether it may still be on its way
       * (realtime/seq-orderer.ts).
       */
      previousAt?: string | null;
    }
  | { type: "message.updated"; to: string[]; message: MessageView; original?: string | null }
  | { type: "message.deleted"; to: string[]; payload: MessageDeletedPayload }
  | { type: "message.read"; to: string[]; payload: MessageReadPayload }
  /** A message's reactions changed: the whole list, to both participants (the team: every admin). */
  | { type: "message.reactions"; to: string[]; payload: MessageReactionsPayload }
  | { type: "user.banned"; userId: string }
  /** Typing, to the other participant; receivers' nodes expire it (realtime/typing-relay.ts). */
  | { type: "typing"; to: string[]; conversationId: string; userId: string; typing: boolean }
  /** A user came online or went offline: to their contacts (user:online / user:offline). */
  | { type: "presence.changed"; to: string[]; userId: string; online: boolean; lastSeenAt: string | null }
  /** Moderation: every node drops its cached "banned" state of the user (every node). */
  | { type: "user.unbanned"; userId: string }
  /** A block or unblock between two users: who may see whose presence changed. */
  | { type: "contacts.changed"; userIds: [string, string] }
  /** Admin broadcast: every socket on every node gets `broadcast`. */
  | { type: "broadcast.created"; broadcast: BroadcastPayload };

export type PublishEvent = (event: ChatEvent) => Promise<void>;

/**
 * Who an event goes to: the users in `to` (each user's copy reaches the nodes holding that user's
 * sockets), or null for every node: bans (every node's admission cache, and the user's sockets
 * wherever they are), unbans, block changes (every node's contact caches) and admin broadcasts
 * (every socket). These are rare; everything per message goes to its users only.
 */
export function audienceOf(event: ChatEvent): readonly string[] | null {
  switch (event.type) {
    case "user.banned":
    case "user.unbanned":
    case "contacts.changed":
    case "broadcast.created":
      return null;
    default:
      return event.to;
  }
}
