// Input schemas shared by both transports: an HTTP route and a socket handler that do the same
// thing parse their input with the same schema, so they fail the same way.
import { z } from "zod";
import { EXTERNAL_ID_CHARS, isWellFormed, MAX_ID_LENGTH } from "../auth/token-verifier.js";
import { invalid } from "../errors/errors.js";

export const MAX_CONTENT_CHARS = 4000;
export const MAX_ATTACHMENTS = 10;
export const MAX_PAGE = 100;

/** An id chosen by the marketplace (users, listings): any printable text up to 128 characters. */
export const externalId = z
  .string()
  .min(1)
  .max(MAX_ID_LENGTH)
  .regex(EXTERNAL_ID_CHARS, "must not contain whitespace or control characters")
  // A lone surrogate would be stored as U+FFFD: two different ids would become one.
  .refine(isWellFormed, "must be well-formed Unicode");

export const uuid = z.uuid();

/** PostgreSQL text cannot hold U+0000: refuse it up front instead of failing in the database. */
export const text = () => z.string().refine((s) => !s.includes("\u0000"), "must not contain NUL characters");

export const content = text().refine(
  (s) => [...s].length <= MAX_CONTENT_CHARS,
  `must be at most ${MAX_CONTENT_CHARS} characters`,
);

const limit = z.coerce.number().int().min(1).max(MAX_PAGE).default(50);

export const conversationIdInput = z.object({ conversationId: uuid });
export const openConversationInput = z.object({ listingId: externalId });
export const listConversationsQuery = z.object({
  limit,
  cursor: z.string().max(200).optional(),
  role: z.enum(["buyer", "seller"]).optional(),
  q: text().trim().max(100).optional(),
});

export const idParam = z.object({ id: externalId });

// Support conversations and reactions (README, "Support conversations", "Reactions").
export const openSupportInput = z.object({ userId: externalId.optional() });
export const supportInboxQuery = z.object({ limit, cursor: z.string().max(200).optional() });
/** The emoji itself is checked by chat/emoji.ts; the length bound only keeps junk out of the segmenter. */
export const emojiText = z.string().max(64, "must be exactly one emoji");
export const reactionParams = z.object({ id: uuid, emoji: emojiText });
export const reactInput = z.object({ messageId: uuid, emoji: emojiText, on: z.boolean() });
export const uuidParam = z.object({ id: uuid });

export const userInput = z.object({
  name: text().trim().min(1).max(200),
  avatarUrl: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    // The URL parser takes control characters (U+0000 included) that PostgreSQL text cannot hold.
    .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), "must not contain control characters")
    .nullish(),
});

export const listingInput = z.object({
  sellerId: externalId,
  title: text().trim().min(1).max(300),
  imageUrl: z.url({ protocol: /^https?$/ }).max(2048).nullish(),
  priceCents: z.number().int().min(0).max(2_147_483_647).nullish(),
  currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code like EUR").nullish(),
  status: z.enum(["active", "reserved", "sold", "deleted"]).optional(),
});

/** Parses `input` or throws the contract's validation_failed naming the first bad field. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw invalid(describe(result.error));
}

export function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "The request is invalid";
  const path = issue.path.join(".");
  if (issue.code === "unrecognized_keys") return `Unknown field: ${issue.keys.join(", ")}`;
  if (issue.code === "invalid_type" && / received undefined$/.test(issue.message)) return `${path || "body"} is required`;
  return path ? `${path}: ${issue.message}` : issue.message;
}

export const sendMessageBody = z.object({
  clientId: uuid,
  content: content.nullish(),
  attachmentIds: z
    .array(uuid)
    .max(MAX_ATTACHMENTS, `at most ${MAX_ATTACHMENTS} attachments`)
    .refine((ids) => new Set(ids).size === ids.length, "must not repeat an attachment")
    .optional(),
  replyToId: uuid.nullish(),
});
export const sendMessageInput = sendMessageBody.extend({ conversationId: uuid });

export const editMessageBody = z.object({ content });
export const editMessageInput = editMessageBody.extend({ messageId: uuid });
export const messageIdInput = z.object({ messageId: uuid });
export const readBody = z.object({ seq: z.number().int().min(0).max(2_147_483_647).nullish() });
export const readInput = readBody.extend({ conversationId: uuid });

export const historyQuery = z
  .object({
    limit,
    before: z.coerce.number().int().min(1).max(2_147_483_647).optional(),
    after: z.coerce.number().int().min(0).max(2_147_483_647).optional(),
  })
  .refine((q) => q.before === undefined || q.after === undefined, "use either before or after, not both");

// Moderation and broadcasts (blocks, reports, admin lists, broadcasts): README, "Moderation".
export const MAX_REPORT_REASON_CHARS = 100;
export const MAX_REPORT_NOTE_CHARS = 1000;
const atMost = (max: number) => (s: string) => [...s].length <= max;
// PostgreSQL text cannot hold U+0000: refused here rather than failing the insert.
const noNul = (s: string) => !s.includes("\u0000");

export const blockInput = z.object({ userId: externalId });
export const blocksQuery = z.object({ limit, cursor: z.string().max(400).optional() });

export const reportInput = z
  .object({
    userId: externalId.nullish(),
    messageId: uuid.nullish(),
    conversationId: uuid.nullish(),
    // Free text (Stream Chat's flag reason works the same way); README lists the values the
    // admin tools group by. Single line: it is shown in lists.
    reason: z
      .string()
      .trim()
      .min(1, "must not be empty")
      .refine(atMost(MAX_REPORT_REASON_CHARS), `must be at most ${MAX_REPORT_REASON_CHARS} characters`)
      .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), "must be one line without control characters"),
    note: z
      .string()
      .refine(atMost(MAX_REPORT_NOTE_CHARS), `must be at most ${MAX_REPORT_NOTE_CHARS} characters`)
      .refine(noNul, "must not contain U+0000")
      .nullish(),
  })
  .refine((r) => Boolean(r.userId || r.messageId || r.conversationId), "name what you report: userId, messageId or conversationId");

export const adminReportsQuery = z.object({
  limit,
  status: z.enum(["open", "resolved"]).optional(),
  cursor: z.string().max(200).optional(),
});

export const broadcastInput = z.object({
  content: content.refine((s) => s.trim() !== "", "must not be empty").refine(noNul, "must not contain U+0000"),
});
export const broadcastsQuery = z
  .object({
    limit,
    after: z.string().max(100).optional(),
    cursor: z.string().max(100).optional(),
  })
  .refine((q) => q.after === undefined || q.cursor === undefined, "use either after or cursor, not both");
