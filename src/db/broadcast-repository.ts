// Broadcasts from the marketplace to every user, listed oldest first for catching up.
import type { PrismaClient } from "./generated/client.js";

export interface BroadcastRecord {
  id: string;
  content: string;
  createdAt: Date;
}

export class BroadcastRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Stores a broadcast. Clients catch up with "after the last one I saw", so created_at must
   * follow commit order and never repeat: inserts are serialized by a transaction lock, and each
   * takes the later of the clock and the newest broadcast + 1 ms (the column keeps milliseconds).
   * Without this, a broadcast committing after a later-stamped one would be skipped by a client
   * that saw the later one first. Broadcasts are rare, so the lock costs nothing noticeable.
   */
  async create(content: string, senderId: string): Promise<BroadcastRecord> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT 1 AS locked FROM pg_advisory_xact_lock(hashtextextended('marketchat.broadcasts', 0))`;
      const rows = await tx.$queryRaw<{ id: string; content: string; created_at: Date }[]>`
        INSERT INTO broadcasts (content, sender_id, created_at)
        VALUES (${content}, ${senderId},
                GREATEST(clock_timestamp(), (SELECT max(created_at) + interval '1 millisecond' FROM broadcasts)))
        RETURNING id::text AS id, content, created_at`;
      const row = rows[0]!;
      return { id: row.id, content: row.content, createdAt: new Date(row.created_at) };
    });
  }

  /** When a broadcast was made, or null if there is no such broadcast. */
  async createdAt(id: string): Promise<Date | null> {
    const row = await this.prisma.broadcast.findUnique({ where: { id }, select: { createdAt: true } });
    return row?.createdAt ?? null;
  }

  /** Broadcasts made after `after` (all when omitted), oldest first. */
  async listAfter(after: Date | null, limit: number): Promise<{ items: BroadcastRecord[]; more: boolean }> {
    const rows = await this.prisma.broadcast.findMany({
      where: after ? { createdAt: { gt: after } } : {},
      select: { id: true, content: true, createdAt: true },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      take: limit + 1,
    });
    return { items: rows.slice(0, limit), more: rows.length > limit };
  }
}
