// The public shapes as zod schemas, for the OpenAPI document only: responses are serialized as the
// handlers return them (JSON.stringify), never filtered through these. Each schema is checked at
// compile time against the TypeScript shape it documents (src/contract/shapes.ts and the
// services' views), so a field added to a shape fails the type check until it is documented here.
import { z } from "zod";
import type { FlagView } from "../../chat/flag-service.js";
import type {
  AttachmentView,
  BlockView,
  ConversationView,
  ListingView,
  MessagePage,
  MessageView,
  PresenceView,
  ReportReceipt,
  ReportView,
  SearchResult,
  UnreadSummary,
  UserView,
} from "../../contract/shapes.js";
import type {
  BroadcastPayload,
  ErrorCode,
  MessageDeletedPayload,
  MessageReactionsPayload,
  MessageReadPayload,
} from "../../contract/socket-events.js";
import { ERRORS } from "../../errors/errors.js";

/** Named schemas: they become `#/components/schemas/<id>` in the document. */
export const shapeRegistry = z.registry<{ id: string; description?: string }>();
const named = <S extends z.ZodType>(id: string, schema: S, description?: string): S => {
  shapeRegistry.add(schema, description === undefined ? { id } : { id, description });
  return schema;
};

const timestamp = z.string().describe("ISO 8601");

const listingStatus = z.enum(["active", "reserved", "sold", "deleted"]);

export const userShape = named(
  "User",
  z.object({
    id: z.string(),
    name: z.string().nullable(),
    avatarUrl: z.string().nullable(),
    responseTimeSeconds: z
      .number()
      .nullable()
      .describe("sellers: median seconds to the first reply to a buyer's message over 30 days; null when unknown"),
  }),
);
export const listingShape = named(
  "Listing",
  z.object({
    id: z.string(),
    title: z.string(),
    imageUrl: z.string().nullable(),
    priceCents: z.number().int().nullable(),
    currency: z.string().nullable(),
    status: listingStatus,
  }),
);
export const attachmentShape = named(
  "Attachment",
  z.object({
    id: z.string(),
    kind: z.enum(["image", "file"]),
    mimeType: z.string(),
    name: z.string(),
    size: z.number().int(),
    width: z.number().int().optional(),
    height: z.number().int().optional(),
    url: z.string().describe("a path on the service with a short-lived signature"),
    thumbnailUrl: z.string().optional(),
  }),
);
export const reactionShape = named(
  "Reaction",
  z.object({ emoji: z.string(), count: z.number().int(), userIds: z.array(z.string()) }),
  "One emoji on a message: how many reacted with it and who, first reactor first",
);
export const readPointerShape = named(
  "ReadPointer",
  z.object({ userId: z.string(), lastReadSeq: z.number().int(), lastReadAt: timestamp.nullable() }),
  "A participant's read pointer: everything up to lastReadSeq is read",
);
export const offerShape = named(
  "Offer",
  z.object({
    id: z.string(),
    amountCents: z.number().int(),
    currency: z.string(),
    status: z.enum(["pending", "accepted", "declined", "withdrawn", "countered", "expired"]),
    byUserId: z.string(),
    respondsToOfferId: z.string().nullable(),
    expiresAt: timestamp,
  }),
);
export const systemEventShape = named(
  "SystemEvent",
  z.discriminatedUnion("event", [
    z.object({
      event: z.literal("listing.price_changed"),
      data: z.object({ fromCents: z.number().int().nullable(), toCents: z.number().int(), currency: z.string().nullable() }),
    }),
    z.object({ event: z.literal("listing.status_changed"), data: z.object({ from: listingStatus, to: listingStatus }) }),
  ]),
);
export const messageShape = named(
  "Message",
  z.object({
    id: z.string(),
    conversationId: z.string(),
    seq: z.number().int(),
    senderId: z.string().nullable().describe("null for system messages"),
    clientId: z.string(),
    type: z.enum(["text", "image", "file", "mixed", "system", "offer"]),
    content: z.string().nullable(),
    attachments: z.array(attachmentShape),
    replyToId: z.string().nullable(),
    createdAt: timestamp,
    editedAt: timestamp.nullable(),
    deletedAt: timestamp.nullable(),
    reactions: z.array(reactionShape).describe("distinct emoji in the order first used (at most 20)"),
    offer: offerShape.optional().describe('type "offer" only'),
    system: systemEventShape.optional().describe('type "system" only'),
    flags: z.array(z.string()).describe('moderation flags: "contact_info", "moderation"; empty for most messages'),
  }),
);
export const conversationShape = named(
  "Conversation",
  z.object({
    id: z.string(),
    kind: z.enum(["listing", "support"]),
    listing: listingShape.nullable().describe("null for support conversations"),
    buyer: userShape,
    seller: userShape,
    lastMessage: messageShape.nullable(),
    lastSeq: z.number().int(),
    unreadCount: z.number().int(),
    reads: z.array(readPointerShape).describe("both participants' read pointers, buyer first"),
    createdAt: timestamp,
    updatedAt: timestamp,
  }),
);

const codes = Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]];
export const errorShape = named(
  "Error",
  z.object({
    error: z.object({
      code: z.enum(codes),
      message: z.string(),
      requestId: z.string().optional().describe("the request's X-Request-Id"),
      retryAfterMs: z.number().int().optional(),
    }),
  }),
  "Every HTTP error: the code says what happened (API.md, Errors)",
);

export const page = <S extends z.ZodType>(item: S) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });
export const conversationPage = named("ConversationPage", page(conversationShape));
export const messagePage = named(
  "MessagePage",
  z.object({ items: z.array(messageShape), nextBefore: z.number().int().nullable() }),
);
export const unreadShape = named(
  "Unread",
  z.object({ total: z.number().int(), conversations: z.array(z.object({ conversationId: z.string(), unreadCount: z.number().int() })) }),
);
export const presenceShape = named(
  "Presence",
  z.object({ userId: z.string(), online: z.boolean(), lastSeenAt: timestamp.nullable() }),
);
export const searchResultShape = named("SearchResult", z.object({ message: messageShape, highlight: z.string().describe("HTML: escaped text with <mark> around matches") }));
export const blockShape = named("Block", z.object({ user: userShape, createdAt: timestamp }));
export const reportReceiptShape = named(
  "ReportReceipt",
  z.object({ id: z.string(), status: z.literal("open"), reason: z.string(), createdAt: timestamp }),
);
export const reportShape = named(
  "Report",
  z.object({
    id: z.string(),
    status: z.enum(["open", "resolved"]),
    reason: z.string(),
    note: z.string().nullable(),
    reporterId: z.string(),
    userId: z.string().nullable(),
    messageId: z.string().nullable(),
    conversationId: z.string().nullable(),
    message: messageShape.nullable(),
    createdAt: timestamp,
    resolvedAt: timestamp.nullable(),
    resolvedById: z.string().nullable(),
  }),
);
export const flagShape = named(
  "ModerationFlag",
  z.object({
    id: z.string(),
    rule: z.enum(["contact_info", "moderation", "spam"]),
    action: z.enum(["masked", "flagged", "blocked", "recorded", "rate_limited"]),
    conversationId: z.string(),
    conversation: z.object({ id: z.string(), listingId: z.string().nullable(), buyerId: z.string(), sellerId: z.string() }).nullable(),
    senderId: z.string(),
    messageId: z.string().nullable(),
    message: messageShape.nullable().describe("as sent; null when nothing was stored"),
    kinds: z.array(z.string()),
    spans: z.array(z.object({ start: z.number().int(), end: z.number().int(), kind: z.string(), text: z.string() })),
    reason: z.string().nullable(),
    createdAt: timestamp,
  }),
);
export const broadcastShape = named("Broadcast", z.object({ id: z.string(), content: z.string(), createdAt: timestamp }));
export const messageDeletedShape = named(
  "MessageDeleted",
  z.object({ id: z.string(), conversationId: z.string(), seq: z.number().int() }),
);
export const messageReadShape = named(
  "MessageRead",
  z.object({ conversationId: z.string(), userId: z.string(), seq: z.number().int(), readAt: timestamp }),
);

export const messageReactionsShape = named(
  "MessageReactions",
  z.object({ messageId: z.string(), conversationId: z.string(), reactions: z.array(reactionShape) }),
  "A message's reactions after a change: the whole list, as in Message.reactions",
);

/** A response without a body (204). */
export const noContent = z.null().describe("No content");

// ---- Compile-time checks: each schema describes exactly its TypeScript shape ------------------
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Documented<S extends z.ZodType, T> = Same<z.output<S>, T>;
const exact = <_ extends true>() => undefined;
exact<Documented<typeof userShape, UserView>>();
exact<Documented<typeof listingShape, ListingView>>();
exact<Documented<typeof attachmentShape, AttachmentView>>();
exact<Documented<typeof messageShape, MessageView>>();
exact<Documented<typeof conversationShape, ConversationView>>();
exact<Documented<typeof presenceShape, PresenceView>>();
exact<Documented<typeof messagePage, MessagePage>>();
exact<Documented<typeof unreadShape, UnreadSummary>>();
exact<Documented<typeof searchResultShape, SearchResult>>();
exact<Documented<typeof blockShape, BlockView>>();
exact<Documented<typeof reportReceiptShape, ReportReceipt>>();
exact<Documented<typeof reportShape, ReportView>>();
exact<Documented<typeof flagShape, FlagView>>();
exact<Documented<typeof broadcastShape, BroadcastPayload>>();
exact<Documented<typeof messageDeletedShape, MessageDeletedPayload>>();
exact<Documented<typeof messageReadShape, MessageReadPayload>>();
exact<Documented<typeof messageReactionsShape, MessageReactionsPayload>>();
