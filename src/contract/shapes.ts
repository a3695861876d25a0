// The public shapes of ../shared/API.md ("Shapes"), as the service returns them on HTTP and
// Socket.IO. A leaf module: the server, the client packages and the tests import it. Timestamps are ISO 8601 strings.

export interface UserView {
  id: string;
  name: string | null;
  avatarUrl: string | null;
  /**
   * As a seller: the median time, in seconds, from a buyer's message that waited for an answer to
   * the seller's first reply, over the last 30 days; null when unknown (README, "Response time").
   */
  responseTimeSeconds: number | null;
}

export type ListingStatus = "active" | "reserved" | "sold" | "deleted";

export interface ListingView {
  id: string;
  title: string;
  imageUrl: string | null;
  priceCents: number | null;
  currency: string | null;
  status: ListingStatus;
}

export type MessageType = "text" | "image" | "file" | "mixed" | "system" | "offer";

export type OfferStatus = "pending" | "accepted" | "declined" | "withdrawn" | "countered" | "expired";

/** The offer of a message of type "offer" (API.md, "Offers"). */
export interface OfferView {
  id: string;
  amountCents: number;
  currency: string;
  status: OfferStatus;
  byUserId: string;
  /** The offer this one counters, if any. */
  respondsToOfferId: string | null;
  /** When a pending offer expires (OFFER_TTL_MS after it was made). */
  expiresAt: string;
}

/** What a system message announces (API.md, "Listing lifecycle in the thread"). */
export type SystemEventView =
  | { event: "listing.price_changed"; data: { fromCents: number | null; toCents: number; currency: string | null } }
  | { event: "listing.status_changed"; data: { from: ListingStatus; to: ListingStatus } };

export interface AttachmentView {
  id: string;
  kind: "image" | "file";
  mimeType: string;
  name: string;
  size: number;
  width?: number;
  height?: number;
  url: string;
  thumbnailUrl?: string;
}

/** One emoji on a message: how many reacted with it and who, first reactor first. */
export interface ReactionView {
  emoji: string;
  count: number;
  userIds: string[];
}

export interface MessageView {
  id: string;
  conversationId: string;
  seq: number;
  /** Null for system messages. */
  senderId: string | null;
  clientId: string;
  type: MessageType;
  content: string | null;
  attachments: AttachmentView[];
  replyToId: string | null;
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
  /** Distinct emoji in the order they were first used on the message (at most 20). */
  reactions: ReactionView[];
  /**
   * Moderation flags, in every view: "contact_info" (contact details found while the policy
   * applies; masked or only flagged), "moderation" (the pre-send moderation hook masked or
   * flagged it). Empty for most messages.
   */
  flags: string[];
  /** Type "offer" only. */
  offer?: OfferView;
  /** Type "system" only. */
  system?: SystemEventView;
}

export type ConversationKind = "listing" | "support";

/**
 * The user id of the marketplace team in support conversations (their seller). Every admin acts
 * as this user there; it is reserved: no token or marketplace push may use it.
 */
export const SUPPORT_USER_ID = "support";

/** A participant's read pointer: everything up to lastReadSeq is read (lastReadAt null: never read). */
export interface ReadPointerView {
  userId: string;
  lastReadSeq: number;
  lastReadAt: string | null;
}

export interface ConversationView {
  id: string;
  kind: ConversationKind;
  /** Null for support conversations. */
  listing: ListingView | null;
  buyer: UserView;
  seller: UserView;
  lastMessage: MessageView | null;
  lastSeq: number;
  unreadCount: number;
  /** Both participants' read pointers, buyer first ("seen" marks that survive a reload). */
  reads: ReadPointerView[];
  createdAt: string;
  updatedAt: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** GET /api/conversations/:id/messages: ascending seq; nextBefore is the `before` of the next older page. */
export interface MessagePage {
  items: MessageView[];
  nextBefore: number | null;
}

/** GET /api/unread. */
export interface UnreadSummary {
  total: number;
  conversations: { conversationId: string; unreadCount: number }[];
}

/** GET /api/presence: one per user asked, in the order asked. */
export interface PresenceView {
  userId: string;
  online: boolean;
  lastSeenAt: string | null;
}

/** GET /api/blocks items. */
export interface BlockView {
  user: UserView;
  createdAt: string;
}

/** What the reporter gets back from POST /api/reports: no more than they sent. */
export interface ReportReceipt {
  id: string;
  status: "open";
  reason: string;
  createdAt: string;
}

/** A report in the admin's queue (GET /api/admin/reports). */
export interface ReportView {
  id: string;
  status: "open" | "resolved";
  reason: string;
  note: string | null;
  reporterId: string;
  /** The reported user: as named, else the reported message's sender or the conversation's other participant. */
  userId: string | null;
  messageId: string | null;
  /** As named, or the reported message's conversation. */
  conversationId: string | null;
  /** The reported message as it is now; null when none was named (or it was deleted with its conversation). */
  message: MessageView | null;
  createdAt: string;
  resolvedAt: string | null;
  resolvedById: string | null;
}

/** GET /api/search items, newest first. */
export interface SearchResult {
  message: MessageView;
  /**
   * HTML: the message text (or windows of a long one) escaped, each match inside <mark>…</mark>.
   * Content itself is plain text; only this field is markup, safe to insert as HTML.
   */
  highlight: string;
}
