// Reports: what a user may point at (only what they can see), the moderation queue, resolving.
// Prisma, like the other low-volume admin tables (README, "Layout"); the reported messages are
// read by MessageRepository.findByIds, the one mapping of a message row.
import type { PrismaClient } from "./generated/client.js";
import type { WebhookEvent, WebhookOutbox } from "./webhook-outbox.js";

export type ReportStatus = "open" | "resolved";

export interface ReportRecord {
  id: string;
  status: ReportStatus;
  reason: string;
  note: string | null;
  reporterId: string;
  userId: string | null;
  messageId: string | null;
  conversationId: string | null;
  createdAt: Date;
  resolvedAt: Date | null;
  resolvedById: string | null;
}

export interface NewReport {
  reporterId: string;
  userId: string | null;
  messageId: string | null;
  conversationId: string | null;
  reason: string;
  note: string | null;
}

/** Position in the queue (newest first). */
export interface ReportPosition {
  createdAt: Date;
  id: string;
}

export class ReportRepository {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly outbox: WebhookOutbox,
  ) {}

  /** A message in one of the user's conversations, or null (unknown or not theirs to see). */
  async visibleMessage(userId: string, messageId: string): Promise<{ conversationId: string; senderId: string | null } | null> {
    return this.prisma.message.findFirst({
      where: { id: messageId, conversation: { OR: [{ buyerId: userId }, { sellerId: userId }] } },
      select: { conversationId: true, senderId: true },
    });
  }

  /** A conversation the user can see (API.md: the seller from its first message on), or null. */
  async visibleConversation(userId: string, conversationId: string): Promise<{ buyerId: string; sellerId: string } | null> {
    return this.prisma.conversation.findFirst({
      where: { id: conversationId, OR: [{ buyerId: userId }, { sellerId: userId, lastSeq: { gt: 0 } }] },
      select: { buyerId: true, sellerId: true },
    });
  }

  async userExists(userId: string): Promise<boolean> {
    return (await this.prisma.user.count({ where: { id: userId } })) > 0;
  }

  /** Stores the report and, in the same transaction, its webhook (when webhooks are configured). */
  async create(report: NewReport, announce: (report: ReportRecord) => WebhookEvent): Promise<ReportRecord> {
    return this.prisma.$transaction(async (tx) => {
      const row = await tx.report.create({ data: report });
      const record = toRecord(row);
      await this.outbox.enqueue(tx, announce(record));
      return record;
    });
  }

  async list(opts: { limit: number; status?: ReportStatus; after?: ReportPosition }): Promise<{ items: ReportRecord[]; more: boolean }> {
    const { after } = opts;
    const rows = await this.prisma.report.findMany({
      where: {
        ...(opts.status ? { status: opts.status } : {}),
        ...(after
          ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] }
          : {}),
      },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: opts.limit + 1,
    });
    return { items: rows.slice(0, opts.limit).map(toRecord), more: rows.length > opts.limit };
  }

  /**
   * Resolves an open report; resolving a resolved one changes nothing (the first resolver and time
   * stay). Null when there is no such report.
   */
  async resolve(id: string, resolvedById: string): Promise<ReportRecord | null> {
    await this.prisma.report.updateMany({
      where: { id, status: "open" },
      data: { status: "resolved", resolvedAt: new Date(), resolvedById },
    });
    const row = await this.prisma.report.findUnique({ where: { id } });
    return row ? toRecord(row) : null;
  }
}

/** The record without Prisma's extra columns. */
function toRecord(row: ReportRecord): ReportRecord {
  return {
    id: row.id,
    status: row.status,
    reason: row.reason,
    note: row.note,
    reporterId: row.reporterId,
    userId: row.userId,
    messageId: row.messageId,
    conversationId: row.conversationId,
    createdAt: row.createdAt,
    resolvedAt: row.resolvedAt,
    resolvedById: row.resolvedById,
  };
}
