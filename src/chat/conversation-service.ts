// Rules for opening, listing, reading and hiding conversations.
import type { Principal } from "../auth/token-verifier.js";
import type { ConversationRepository } from "../db/conversation-repository.js";
import { AppError, conflict, invalid, notFound } from "../errors/errors.js";
import type { Presenter } from "./presenter.js";
import { viewerOf } from "./message-visibility.js";
import { listConversationsQuery, parse, uuid } from "./schemas.js";
import type { ConversationView, Page } from "../contract/shapes.js";

export class ConversationService {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly presenter: Presenter,
  ) {}

  /** Get-or-create the caller's (buyer's) conversation about a listing. */
  async open(caller: Principal, listingId: string): Promise<{ conversation: ConversationView; created: boolean }> {
    const listing = await this.conversations.listingForOpening(caller.userId, listingId);
    if (!listing) throw notFound("Listing not found");
    if (listing.sellerId === caller.userId) throw invalid("You cannot open a conversation about your own listing");
    if (listing.blocked) throw new AppError("blocked");
    let id = listing.existingId;
    let created = false;
    if (!id) {
      if (listing.status === "deleted") throw conflict("This listing has been deleted");
      ({ id, created } = await this.conversations.create(listing.id, caller.userId, listing.sellerId));
    }
    return { conversation: await this.get(caller, id), created };
  }

  async get(caller: Principal, conversationId: string): Promise<ConversationView> {
    if (!uuid.safeParse(conversationId).success) throw notFound("Conversation not found");
    const record = await this.conversations.findForUser(caller.userId, conversationId);
    if (!record) throw notFound("Conversation not found");
    return this.presenter.conversation(record, viewerOf(caller));
  }

  async list(caller: Principal, query: unknown): Promise<Page<ConversationView>> {
    const { limit, cursor, role, q } = parse(listConversationsQuery, query);
    const page = await this.conversations.listForUser(caller.userId, {
      limit,
      ...(role ? { role } : {}),
      ...(q ? { q } : {}),
      ...(cursor ? { after: decodeCursor(cursor) } : {}),
    });
    return {
      items: page.items.map((c) => this.presenter.conversation(c, viewerOf(caller))),
      nextCursor: page.more && page.last ? encodeCursor(page.last) : null,
    };
  }

  async hide(caller: Principal, conversationId: string): Promise<void> {
    if (!uuid.safeParse(conversationId).success || !(await this.conversations.hide(caller.userId, conversationId))) {
      throw notFound("Conversation not found");
    }
  }
}

// The cursor is the (last activity, id) of the last item: keyset pagination does not skip or
// repeat items when conversations move to the top while a client pages.
function encodeCursor(last: { activityAt: Date; id: string }): string {
  return Buffer.from(`${last.activityAt.toISOString()}|${last.id}`).toString("base64url");
}

function decodeCursor(cursor: string): { activityAt: Date; id: string } {
  const [time, id] = Buffer.from(cursor, "base64url").toString().split("|");
  const activityAt = new Date(time ?? "");
  if (!id || Number.isNaN(activityAt.getTime()) || !uuid.safeParse(id).success) throw invalid("cursor is invalid");
  return { activityAt, id };
}
