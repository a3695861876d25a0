// Reports: what a user may point at (only what they can see), the moderation queue, resolving.
import type { PrismaClient } from "./generated/client.js";
import type { AttachmentFacts } from "./records.js";
import { reactionsOf } from "./message-sql.js";
import type { MessageRecord } from "./records.js";
import type { OfferStatus, SystemEventView } from "../contract/shapes.js";
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
  /** The reported message as it is now (unsent: a tombstone), for the admin's queue. */
  message: MessageRecord | null;
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

const WITH_MESSAGE = {
  message: { include: { attachments: { orderBy: { position: "asc" as const } }, reactions: true, offer: true } },
} as const;

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
      const row = await tx.report.create({ data: report, include: WITH_MESSAGE });
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
      include: WITH_MESSAGE,
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
    const row = await this.prisma.report.findUnique({ where: { id }, include: WITH_MESSAGE });
    return row ? toRecord(row) : null;
  }
}

type ReportRow = Omit<ReportRecord, "message"> & {
  message:
    | {
        id: string;
        conversationId: string;
        seq: number;
        senderId: string | null;
        clientId: string;
        type: MessageRecord["type"];
        content: string | null;
        replyToId: string | null;
        createdAt: Date;
        editedAt: Date | null;
        deletedAt: Date | null;
        flags: string[] | null;
        maskedContent: string | null;
        system: unknown;
        attachments: (AttachmentFacts & { thumbnailKey: string | null })[];
        reactions: { emoji: string; userId: string; createdAt: Date }[];
        offer: {
          id: string;
          amountCents: number;
          currency: string;
          status: OfferStatus;
          byUserId: string;
          respondsToOfferId: string | null;
          expiresAt: Date;
        } | null;
      }
    | null;
};

function toRecord(row: ReportRow): ReportRecord {
  const m = row.message;
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
    message: m
      ? {
          id: m.id,
          conversationId: m.conversationId,
          seq: m.seq,
          senderId: m.senderId,
          clientId: m.clientId,
          type: m.type,
          content: m.content,
          replyToId: m.replyToId,
          createdAt: m.createdAt.toISOString(),
          editedAt: m.editedAt?.toISOString() ?? null,
          deletedAt: m.deletedAt?.toISOString() ?? null,
          flags: m.flags ?? [],
          maskedContent: m.maskedContent,
          attachments: m.attachments.map((a) => ({
            id: a.id,
            kind: a.kind,
            mimeType: a.mimeType,
            name: a.name,
            size: a.size,
            width: a.width,
            height: a.height,
            hasThumbnail: a.thumbnailKey !== null,
          })),
          reactions: reactionsOf(m.reactions),
          ...(m.offer
            ? {
                offer: {
                  id: m.offer.id,
                  amountCents: m.offer.amountCents,
                  currency: m.offer.currency,
                  status: m.offer.status,
                  byUserId: m.offer.byUserId,
                  respondsToOfferId: m.offer.respondsToOfferId,
                  expiresAt: m.offer.expiresAt.toISOString(),
                },
              }
            : {}),
          ...(m.system ? { system: m.system as SystemEventView } : {}),
        }
      : null,
  };
}
