// Rules for opening, listing, reading and hiding conversations.
import type { Principal } from "../auth/token-verifier.js";
import type { ConversationRepository } from "../db/conversation-repository.js";
import { AppError, notFound, invalid, forbidden, conflict, invalidCursor } from "../errors/errors.js";
import type { Presenter } from "./presenter.js";
import { viewerOf } from "./message-visibility.js";
import { listConversationsQuery, openSupportInput, parse, supportInboxQuery, uuid } from "./schemas.js";
import { SUPPORT_USER_ID, type ConversationView, type Page } from "../contract/shapes.js";

export class ConversationService {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly presenter: Presenter,
    /** SUPPORT_NAME: the team's display name in support conversations. */
    private readonly supportName = "Support",
  ) {}

  /**
   * POST /api/support/conversations: get-or-create a user's support conversation with the team
   * (README, "Support conversations"). A user opens their own (`userId` omitted or their own id);
   * an admin opens anyone's by `userId`, or their own without it. Another user's id from a
   * non-admin is forbidden: it is a question of role, not of an id to hide.
   */
  async openSupport(caller: Principal, input: unknown): Promise<{ conversation: ConversationView; created: boolean }> {
    const { userId = caller.userId } = parse(openSupportInput, input ?? {});
    if (userId === SUPPORT_USER_ID) throw invalid("userId: the team has no support conversation");
    const admin = caller.role === "admin";
    if (userId !== caller.userId && !admin) throw forbidden("Only admins open support conversations for other users");
    const opened = await this.conversations.openSupport(userId, { id: SUPPORT_USER_ID, name: this.supportName });
    if (!opened) throw notFound("user");
    const record = await this.conversations.findForUser(caller.userId, opened.id, undefined, admin);
    return { conversation: this.presenter.conversation(record!, viewerOf(caller)), created: opened.created };
  }

  /** GET /api/admin/support: support conversations with a message, latest activity first, with the team's unread counts. */
  async supportInbox(caller: Principal, query: unknown): Promise<Page<ConversationView>> {
    const { limit, cursor } = parse(supportInboxQuery, query);
    const page = await this.conversations.listSupport(SUPPORT_USER_ID, { limit, ...(cursor ? { after: decodeCursor(cursor) } : {}) });
    return {
      items: page.items.map((c) => this.presenter.conversation(c, viewerOf(caller))),
      nextCursor: page.more && page.last ? encodeCursor(page.last) : null,
    };
  }

  /** Get-or-create the caller's (buyer's) conversation about a listing. */
  async open(caller: Principal, listingId: string): Promise<{ conversation: ConversationView; created: boolean }> {
    const listing = await this.conversations.listingForOpening(caller.userId, listingId);
    if (!listing) throw notFound("listing");
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
    if (!uuid.safeParse(conversationId).success) throw notFound("conversation");
    const record = await this.conversations.findForUser(caller.userId, conversationId, undefined, caller.role === "admin");
    if (!record) throw notFound("conversation");
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
      throw notFound("conversation");
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
  if (!id || Number.isNaN(activityAt.getTime()) || !uuid.safeParse(id).success) throw invalidCursor();
  return { activityAt, id };
}
