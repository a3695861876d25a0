// Blocks, reports and bans (README, "Moderation"). Route guards decide who may call what; these
// rules decide what the call may touch.
//
// Unknown user ids: a ban is preventive, so it must hold before the user's first request and
// creates a placeholder user (as a listing's seller gets one). A block or a report names someone
// the chat knows (else not_found): a block of any id used to create a user row per request.
import type { Principal } from "../auth/token-verifier.js";
import type { BanRepository } from "../db/ban-repository.js";
import type { BlockPosition, BlockRecord, BlockRepository } from "../db/block-repository.js";
import type { MessageRepository } from "../db/message-repository.js";
import type { MessageRecord } from "../db/records.js";
import type { ReportPosition, ReportRecord, ReportRepository } from "../db/report-repository.js";
import { AppError, notFound, invalid, invalidCursor } from "../errors/errors.js";
import type { PublishEvent } from "./events.js";
import type { Presenter } from "./presenter.js";
import { ADMIN_VIEW } from "./message-visibility.js";
import { adminReportsQuery, blockInput, blocksQuery, externalId, parse, reportInput, uuid } from "./schemas.js";
import type { BlockView, Page, ReportReceipt, ReportView } from "../contract/shapes.js";
import { withTimeout } from "../util/with-timeout.js";

export interface ModerationServiceDeps {
  blocks: BlockRepository;
  reports: ReportRepository;
  /** The reported messages as they are now, for the admin's queue. */
  messages: Pick<MessageRepository, "findByIds">;
  bans: BanRepository;
  presenter: Presenter;
  publish: PublishEvent;
  /** Drops this node's cached user state now; other nodes drop theirs when the bus event arrives. */
  forgetUser: (userId: string) => void;
  onBackgroundError: (err: unknown, what: string) => void;
}

/** A ban that cannot be announced must say so: the admin retries (bans are idempotent). */
const BAN_PUBLISH_TIMEOUT_MS = 2_000;

export class ModerationService {
  constructor(private readonly deps: ModerationServiceDeps) {}

  // --- blocks -------------------------------------------------------------------------------

  async block(caller: Principal, body: unknown): Promise<{ block: BlockView; created: boolean }> {
    const { userId } = parse(blockInput, body);
    if (userId === caller.userId) throw invalid("userId: you cannot block yourself");
    const result = await this.deps.blocks.block(caller.userId, userId);
    // As for reports: a user id the chat has never seen names nobody (README, "Moderation").
    if (!result) throw notFound("user");
    const { block, created } = result;
    if (created) await this.contactsChanged(caller.userId, userId);
    return { block: blockView(block), created };
  }

  /** Idempotent: unblocking someone who is not blocked is a no-op. */
  async unblock(caller: Principal, userId: string): Promise<void> {
    if (!externalId.safeParse(userId).success) throw notFound("user");
    await this.deps.blocks.unblock(caller.userId, userId);
    await this.contactsChanged(caller.userId, userId);
  }

  /** Presence caches on every node drop the pair (a failed announcement ages out with the cache). */
  private async contactsChanged(a: string, b: string): Promise<void> {
    await this.deps.publish({ type: "contacts.changed", userIds: [a, b] }).catch((err) =>
      this.deps.onBackgroundError(err, "publish contacts.changed"),
    );
  }

  async listBlocks(caller: Principal, query: unknown): Promise<Page<BlockView>> {
    const q = parse(blocksQuery, query);
    const after = q.cursor === undefined ? undefined : decodeBlockCursor(q.cursor);
    const page = await this.deps.blocks.list(caller.userId, { limit: q.limit, ...(after ? { after } : {}) });
    const last = page.items.at(-1);
    return {
      items: page.items.map(blockView),
      nextCursor: page.more && last ? encodeCursor(last.createdAt, last.user.id) : null,
    };
  }

  // --- reports ------------------------------------------------------------------------------

  async report(caller: Principal, body: unknown): Promise<ReportReceipt> {
    const input = parse(reportInput, body);
    const { reports } = this.deps;
    if (input.userId === caller.userId) throw invalid("userId: you cannot report yourself");
    let subject = input.userId ?? null;
    let conversationId = input.conversationId ?? null;
    if (input.messageId) {
      const message = await reports.visibleMessage(caller.userId, input.messageId);
      if (!message) throw notFound("message");
      if (input.conversationId && input.conversationId !== message.conversationId) {
        throw invalid("messageId: the message is not in that conversation");
      }
      if (subject === null && message.senderId !== caller.userId) subject = message.senderId;
      conversationId = message.conversationId;
    }
    if (input.conversationId) {
      const conversation = await reports.visibleConversation(caller.userId, input.conversationId);
      if (!conversation) throw notFound("conversation");
      subject ??= conversation.buyerId === caller.userId ? conversation.sellerId : conversation.buyerId;
    }
    if (input.userId && !(await reports.userExists(input.userId))) throw notFound("user");
    const stored = await reports.create(
      {
        reporterId: caller.userId,
        userId: subject,
        messageId: input.messageId ?? null,
        conversationId,
        reason: input.reason,
        note: input.note?.trim() ? input.note : null,
      },
      // The webhook carries no message: its signed attachment URLs would expire before a retry.
      (report) => {
        const { message: _message, ...data } = this.reportView(report, new Map());
        return { type: "report.created", data: { report: data } };
      },
    );
    return { id: stored.id, status: "open", reason: stored.reason, createdAt: stored.createdAt.toISOString() };
  }

  /** The moderation queue, newest first; `status` filters. */
  async listReports(query: unknown): Promise<Page<ReportView>> {
    const q = parse(adminReportsQuery, query);
    const after = q.cursor === undefined ? undefined : decodeReportCursor(q.cursor);
    const page = await this.deps.reports.list({
      limit: q.limit,
      ...(q.status ? { status: q.status } : {}),
      ...(after ? { after } : {}),
    });
    const last = page.items.at(-1);
    const messages = await this.reportedMessages(page.items);
    return {
      items: page.items.map((r) => this.reportView(r, messages)),
      nextCursor: page.more && last ? encodeCursor(last.createdAt, last.id) : null,
    };
  }

  /** Idempotent: resolving a resolved report returns it unchanged. */
  async resolveReport(caller: Principal, reportId: string): Promise<ReportView> {
    if (!uuid.safeParse(reportId).success) throw notFound("report");
    const report = await this.deps.reports.resolve(reportId, caller.userId);
    if (!report) throw notFound("report");
    return this.reportView(report, await this.reportedMessages([report]));
  }

  // --- bans ---------------------------------------------------------------------------------

  /**
   * Bans a user: stored (with its webhook) first, then every node forgets the user's cached state
   * and disconnects their sockets. Banning a banned user announces the ban again (their sockets
   * go, if any came back through a stale cache) without a second webhook.
   */
  async ban(caller: Principal, userId: string): Promise<void> {
    if (!externalId.safeParse(userId).success) throw notFound("user");
    if (userId === caller.userId) throw invalid("You cannot ban yourself");
    await this.deps.bans.ban(userId, (bannedAt) => ({
      type: "user.banned",
      data: { userId, bannedAt: bannedAt.toISOString(), bannedById: caller.userId },
    }));
    this.deps.forgetUser(userId);
    try {
      await withTimeout(this.deps.publish({ type: "user.banned", userId }), BAN_PUBLISH_TIMEOUT_MS);
    } catch (err) {
      this.deps.onBackgroundError(err, "publish user.banned");
      throw new AppError("unavailable", "The ban is stored but could not reach every node yet; send it again");
    }
  }

  /** Idempotent. A node that misses the announcement still admits the user within the user cache's TTL. */
  async unban(caller: Principal, userId: string): Promise<void> {
    if (!externalId.safeParse(userId).success) throw notFound("user");
    const lifted = await this.deps.bans.unban(userId, () => ({
      type: "user.unbanned",
      data: { userId, unbannedById: caller.userId },
    }));
    this.deps.forgetUser(userId);
    if (!lifted) return;
    await withTimeout(this.deps.publish({ type: "user.unbanned", userId }), BAN_PUBLISH_TIMEOUT_MS).catch((err) =>
      this.deps.onBackgroundError(err, "publish user.unbanned"),
    );
  }

  /** One query for a page of reports' messages. */
  private async reportedMessages(reports: ReportRecord[]): Promise<Map<string, MessageRecord>> {
    const ids = [...new Set(reports.flatMap((r) => (r.messageId ? [r.messageId] : [])))];
    return new Map((await this.deps.messages.findByIds(ids)).map((m) => [m.id, m]));
  }

  private reportView(r: ReportRecord, messages: ReadonlyMap<string, MessageRecord>): ReportView {
    const message = r.messageId ? messages.get(r.messageId) : undefined;
    return {
      id: r.id,
      status: r.status,
      reason: r.reason,
      note: r.note,
      reporterId: r.reporterId,
      userId: r.userId,
      messageId: r.messageId,
      conversationId: r.conversationId,
      message: message ? this.deps.presenter.message(message, ADMIN_VIEW) : null,
      createdAt: r.createdAt.toISOString(),
      resolvedAt: r.resolvedAt?.toISOString() ?? null,
      resolvedById: r.resolvedById,
    };
  }
}

function blockView(b: BlockRecord): BlockView {
  return { user: b.user, createdAt: b.createdAt.toISOString() };
}

// Keyset cursors: (time, id) of the last item, opaque to clients. JSON keeps ids that contain
// any character (marketplace user ids are free text) unambiguous.
function encodeCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString("base64url");
}

function decodeCursor(cursor: string): { at: Date; id: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString());
  } catch {
    throw invalidCursor();
  }
  if (!Array.isArray(parsed) || typeof parsed[0] !== "string" || typeof parsed[1] !== "string") throw invalidCursor();
  const at = new Date(parsed[0]);
  if (Number.isNaN(at.getTime())) throw invalidCursor();
  return { at, id: parsed[1] };
}

function decodeBlockCursor(cursor: string): BlockPosition {
  const { at, id } = decodeCursor(cursor);
  if (!externalId.safeParse(id).success) throw invalidCursor();
  return { createdAt: at, userId: id };
}

function decodeReportCursor(cursor: string): ReportPosition {
  const { at, id } = decodeCursor(cursor);
  if (!uuid.safeParse(id).success) throw invalidCursor();
  return { createdAt: at, id };
}

