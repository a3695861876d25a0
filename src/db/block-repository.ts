// Block lists. The send and open paths read blocks in their own statements
// (message-repository.ts, conversation-repository.ts); this is the list a user manages.
import type { PrismaClient } from "./generated/client.js";
import type { UserView } from "../contract/shapes.js";

export interface BlockRecord {
  user: UserView;
  createdAt: Date;
}

/** Position in a block list (newest first): keyset, so paging never skips or repeats. */
export interface BlockPosition {
  createdAt: Date;
  userId: string;
}

export class BlockRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Blocks `blockedId` for `blockerId`; `created: false` when it was already blocked; null when
   * the chat does not know `blockedId` (no user row is made for it: a block of an unknown id would
   * let anyone create users at will).
   */
  async block(blockerId: string, blockedId: string): Promise<{ block: BlockRecord; created: boolean } | null> {
    const user = await this.prisma.user.findUnique({ where: { id: blockedId } });
    if (!user) return null;
    const { count } = await this.prisma.block.createMany({ data: [{ blockerId, blockedId }], skipDuplicates: true });
    const row = await this.prisma.block.findUnique({
      where: { blockerId_blockedId: { blockerId, blockedId } },
      include: { blocked: true },
    });
    if (row) return { block: toRecord(row), created: count === 1 };
    // An unblock of the same pair landed in between: the later request won, report the block as made.
    return { block: toRecord({ blocked: user, createdAt: new Date() }), created: count === 1 };
  }

  /** Removes the block if there is one; true when one was removed. */
  async unblock(blockerId: string, blockedId: string): Promise<boolean> {
    const { count } = await this.prisma.block.deleteMany({ where: { blockerId, blockedId } });
    return count > 0;
  }

  /** The user's blocks, newest first. */
  async list(
    blockerId: string,
    opts: { limit: number; after?: BlockPosition },
  ): Promise<{ items: BlockRecord[]; more: boolean }> {
    const { after } = opts;
    const rows = await this.prisma.block.findMany({
      where: {
        blockerId,
        ...(after
          ? {
              OR: [
                { createdAt: { lt: after.createdAt } },
                { createdAt: after.createdAt, blockedId: { lt: after.userId } },
              ],
            }
          : {}),
      },
      include: { blocked: true },
      orderBy: [{ createdAt: "desc" }, { blockedId: "desc" }],
      take: opts.limit + 1,
    });
    return { items: rows.slice(0, opts.limit).map(toRecord), more: rows.length > opts.limit };
  }
}

function toRecord(row: {
  blocked: { id: string; name: string | null; avatarUrl: string | null; responseTimeSeconds: number | null };
  createdAt: Date;
}): BlockRecord {
  return {
    user: {
      id: row.blocked.id,
      name: row.blocked.name,
      avatarUrl: row.blocked.avatarUrl,
      responseTimeSeconds: row.blocked.responseTimeSeconds,
    },
    createdAt: row.createdAt,
  };
}
