// Records from db/ become the public shapes here; the only work is signing attachment URLs.
import type { AttachmentRecord, ConversationRecord, MessageRecord } from "../db/records.js";
import type { UrlSigner } from "../media/url-signer.js";
import type { AttachmentView, ConversationView, MessageView } from "../contract/shapes.js";

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

  message(m: MessageRecord): MessageView {
    return { ...m, attachments: m.attachments.map((a) => this.attachment(a)) };
  }

  conversation(c: ConversationRecord): ConversationView {
    const { buyerId: _b, sellerId: _s, lastMessage, ...rest } = c;
    return { ...rest, lastMessage: lastMessage ? this.message(lastMessage) : null };
  }
}
