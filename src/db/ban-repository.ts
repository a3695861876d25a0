// Bans: users.banned_at. The HTTP guard and the socket handshake read it through UserService's
// cache, the send path reads it in its own statement (message-repository.ts).
import type { PrismaClient } from "./generated/client.js";
import type { WebhookEvent, WebhookOutbox } from "./webhook-outbox.js";

export class BanRepository {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly outbox: WebhookOutbox,
  ) {}

  /**
   * Bans the user, creating a placeholder row for a user the chat has not seen yet (the ban must
   * hold from their first request on). Returns the ban time when this call banned them, null when
   * they were banned already; only a new ban is announced, in the same transaction.
   */
  async ban(userId: string, announce: (bannedAt: Date) => WebhookEvent): Promise<Date | null> {
    return this.prisma.$transaction(async (tx) => {
      await tx.user.createMany({ data: [{ id: userId }], skipDuplicates: true });
      const bannedAt = new Date();
      // The row lock makes concurrent bans of one user agree on which of them banned.
      const { count } = await tx.user.updateMany({ where: { id: userId, bannedAt: null }, data: { bannedAt } });
      if (count === 0) return null;
      await this.outbox.enqueue(tx, announce(bannedAt));
      return bannedAt;
    });
  }

  /** Lifts a ban; true when there was one to lift. */
  async unban(userId: string, announce: () => WebhookEvent): Promise<boolean> {
    return this.prisma.$transaction(async (tx) => {
      const { count } = await tx.user.updateMany({ where: { id: userId, bannedAt: { not: null } }, data: { bannedAt: null } });
      if (count === 0) return false;
      await this.outbox.enqueue(tx, announce());
      return true;
    });
  }
}
