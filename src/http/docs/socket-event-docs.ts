// The Socket.IO contract for the OpenAPI document: every event of the event maps
// (src/contract/socket-events.ts) with the schema of its payload and of its ack. The maps are
// TypeScript types; these records are keyed by them (`satisfies` below), so an event added to a map
// fails the type check until it is documented here. Payload schemas are the ones the handlers parse.
import { z } from "zod";
import type { ClientToServerEvents, ServerToClientEvents } from "../../contract/socket-events.js";
import {
  conversationIdInput,
  editMessageInput,
  messageIdInput,
  reactInput,
  readInput,
  sendMessageInput,
} from "../../chat/schemas.js";
import {
  broadcastShape,
  conversationShape,
  messageDeletedShape,
  messageReactionsShape,
  messageReadShape,
  messageShape,
} from "./response-schemas.js";

export interface ClientEventDoc {
  summary: string;
  payload: z.ZodType;
  /** The ack's `data` when `ok` is true; null for events without an ack. */
  ack: z.ZodType | null;
}

export interface ServerEventDoc {
  summary: string;
  payload: z.ZodType;
}

const empty = z.object({}).strict();
const typingPayload = z.object({ conversationId: z.string(), userId: z.string() });

export const clientEventDocs = {
  "conversation:join": { summary: "Join a conversation's room (typing, notification routing)", payload: conversationIdInput, ack: conversationShape },
  "conversation:leave": { summary: "Leave a conversation's room", payload: conversationIdInput, ack: empty },
  "message:send": { summary: "Send a message; acked once stored", payload: sendMessageInput, ack: messageShape },
  "message:edit": { summary: "Edit your message", payload: editMessageInput, ack: messageShape },
  "message:delete": { summary: "Unsend your message", payload: messageIdInput, ack: empty },
  "message:read": { summary: "Move your read pointer to this message", payload: messageIdInput, ack: empty },
  "messages:read": { summary: "Move your read pointer to seq (default: latest)", payload: readInput, ack: empty },
  "message:react": {
    summary: "Add (on: true) or remove your reaction: exactly one emoji, at most 20 distinct per message; idempotent",
    payload: reactInput,
    ack: empty,
  },
  "typing:start": { summary: "You are typing (refresh within 5 s)", payload: conversationIdInput, ack: null },
  "typing:stop": { summary: "You stopped typing", payload: conversationIdInput, ack: null },
} satisfies Record<keyof ClientToServerEvents, ClientEventDoc>;

export const serverEventDocs = {
  "message:new": { summary: "A message, to every socket of both participants", payload: messageShape },
  "message:updated": { summary: "A message edited or changed (also an offer's new status: accepted, declined, withdrawn, countered, expired)", payload: messageShape },
  "message:deleted": { summary: "A message unsent", payload: messageDeletedShape },
  "message:read": { summary: "A participant's read pointer moved", payload: messageReadShape },
  "message:reactions": { summary: "A message's reactions changed (the whole list), to both participants", payload: messageReactionsShape },
  "typing:start": { summary: "The other participant is typing", payload: typingPayload },
  "typing:stop": { summary: "The other participant stopped typing", payload: typingPayload },
  "user:online": { summary: "A contact came online", payload: z.object({ userId: z.string() }) },
  "user:offline": { summary: "A contact went offline", payload: z.object({ userId: z.string(), lastSeenAt: z.string() }) },
  "conversation:new": { summary: "A conversation's first message opened it for you: to the seller (a buyer wrote), or in a support conversation to the team (every admin) or the user", payload: conversationShape },
  notification: {
    summary: "A message in a conversation this socket has not joined",
    payload: z.object({ type: z.literal("message"), conversationId: z.string(), message: messageShape }),
  },
  broadcast: { summary: "A message from the marketplace to everyone", payload: broadcastShape },
} satisfies Record<keyof ServerToClientEvents, ServerEventDoc>;
