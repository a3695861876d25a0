// What the repositories return: the API shapes, except that attachments carry storage facts
// instead of signed URLs (signing is media's job, see chat/presenter.ts).
import type { ConversationView, MessageView } from "../contract/shapes.js";

/** What an attachment is, wherever it is described. */
export interface AttachmentFacts {
  id: string;
  kind: "image" | "file";
  mimeType: string;
  name: string;
  size: number;
  width: number | null;
  height: number | null;
}

export type AttachmentRecord = AttachmentFacts & { hasThumbnail: boolean };

/** An upload as stored: the facts and where its bytes are. */
export type StoredAttachment = AttachmentFacts & { storageKey: string; thumbnailKey: string | null };

export type MessageRecord = Omit<MessageView, "attachments"> & {
  attachments: AttachmentRecord[];
  /** The content as everyone but the sender and admins sees it; null when nothing is masked. */
  maskedContent: string | null;
};

export type ConversationRecord = Omit<ConversationView, "lastMessage"> & {
  lastMessage: MessageRecord | null;
  buyerId: string;
  sellerId: string;
};
