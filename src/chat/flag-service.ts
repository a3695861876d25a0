// GET /api/admin/flags (README, "Off-platform contact details"): every detection, newest first,
// with the message as sent (admins see what others see masked).
import { z } from "zod";
import type { FlagAction, FlagRecord, FlagRule, FlagSpan, ModerationFlagRepository } from "../db/moderation-flag-repository.js";
import { invalidCursor } from "../errors/errors.js";
import type { MessageView, Page } from "../contract/shapes.js";
import { ADMIN_VIEW } from "./message-visibility.js";
import type { Presenter } from "./presenter.js";
import { parse, uuid } from "./schemas.js";

export interface FlagView {
  id: string;
  /** contact_info (the detector), moderation (the hook's answer), spam (the duplicate rule). */
  rule: FlagRule;
  /** masked, flagged, blocked (nothing stored), recorded (the policy did not apply), rate_limited (spam). */
  action: FlagAction;
  conversationId: string;
  conversation: { id: string; listingId: string | null; buyerId: string; sellerId: string } | null;
  senderId: string;
  messageId: string | null;
  /** The message as sent; null when nothing was stored. */
  message: MessageView | null;
  kinds: string[];
  spans: FlagSpan[];
  reason: string | null;
  createdAt: string;
}

export const flagsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  rule: z.enum(["contact_info", "moderation", "spam"]).optional(),
  cursor: z.string().max(200).optional(),
});

export class FlagService {
  constructor(private readonly deps: { repository: ModerationFlagRepository; presenter: Presenter }) {}

  async list(query: unknown): Promise<Page<FlagView>> {
    const q = parse(flagsQuery, query);
    const rows = await this.deps.repository.list({
      limit: q.limit,
      ...(q.rule ? { rule: q.rule } : {}),
      ...(q.cursor ? { before: decodeCursor(q.cursor) } : {}),
    });
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return {
      items: page.map((r) => this.view(r)),
      nextCursor: rows.length > q.limit && last ? Buffer.from(`${last.createdAt}|${last.id}`).toString("base64url") : null,
    };
  }

  private view(r: FlagRecord): FlagView {
    return { ...r, message: r.message ? this.deps.presenter.message(r.message, ADMIN_VIEW) : null };
  }
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [time, id] = Buffer.from(cursor, "base64url").toString().split("|");
  const createdAt = new Date(time ?? "");
  if (!id || Number.isNaN(createdAt.getTime()) || !uuid.safeParse(id).success) throw invalidCursor();
  return { createdAt, id };
}
