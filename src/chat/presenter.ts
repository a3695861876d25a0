// Records from db/ become the public shapes here: attachment URLs are signed, and a message's
// content is the one its viewer may see (chat/message-visibility.ts).
import type { AttachmentRecord, ConversationRecord, MessageRecord } from "../db/records.js";
import type { UrlSigner } from "../media/url-signer.js";
import type { AttachmentView, ConversationView, MessageView } from "../contract/shapes.js";
import { messageFor, type SharedMessage, type Viewer } from "./message-visibility.js";

export class Presenter {
  constructor(private readonly signer: UrlSigner) {}

  attachment(a: AttachmentRecord): AttachmentView {
    const base = `/api/attachments/${a.id}`;
    return {
      id: a.id,
      kind: a.kind,
      mimeType: a.mimeType,
      name: a.name,
      size: a.size,
      ...(a.width !== null ? { width: a.width } : {}),
      ...(a.height !== null ? { height: a.height } : {}),
      url: this.signer.sign(base),
      ...(a.hasThumbnail ? { thumbnailUrl: this.signer.sign(`${base}/thumbnail`) } : {}),
    };
  }

  /** The message as `viewer` sees it. */
  message(m: MessageRecord, viewer: Viewer): MessageView {
    return messageFor(this.shared(m), viewer);
  }

  /** The message for several viewers at once (events on the bus): the masked view and, beside it, the original. */
  shared(m: MessageRecord): SharedMessage {
    const { maskedContent, ...rest } = m;
    const view: MessageView = { ...rest, attachments: m.attachments.map((a) => this.attachment(a)) };
    if (maskedContent === null || maskedContent === m.content) return { message: view };
    return { message: { ...view, content: maskedContent }, original: m.content };
  }

  /** A conversation as `viewer` (one of its participants, or an admin) sees it. */
  conversation(c: ConversationRecord, viewer: Viewer): ConversationView {
    const { buyerId: _b, sellerId: _s, lastMessage, ...rest } = c;
    return { ...rest, lastMessage: lastMessage ? this.message(lastMessage, viewer) : null };
  }
}
