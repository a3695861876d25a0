// The public shapes of ../shared/API.md ("Shapes"), as the service returns them on HTTP and
// Socket.IO. A leaf module: the server, the client packages and the tests import it. Timestamps are ISO 8601 strings.

export interface UserView {
  id: string;
  name: string | null;
  avatarUrl: string | null;
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

export type MessageType = "text" | "image" | "file" | "mixed" | "system";

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

export interface MessageView {
  id: string;
  conversationId: string;
  seq: number;
  senderId: string;
  clientId: string;
  type: MessageType;
  content: string | null;
  attachments: AttachmentView[];
  replyToId: string | null;
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
}

export interface ConversationView {
  id: string;
  listing: ListingView;
  buyer: UserView;
  seller: UserView;
  lastMessage: MessageView | null;
  lastSeq: number;
  unreadCount: number;
  createdAt: string;
  updatedAt: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
