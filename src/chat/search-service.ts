// Message search (GET /api/search): full text over the messages of the caller's own
// conversations, newest first, with a highlight of where the words matched.
import { z } from "zod";
import type { Principal } from "../auth/token-verifier.js";
import { MATCH_END, MATCH_START, type SearchRepository } from "../db/search-repository.js";
import { notFound, invalidCursor } from "../errors/errors.js";
import type { Presenter } from "./presenter.js";
import { viewerOf } from "./message-visibility.js";
import { parse, uuid } from "./schemas.js";
import type { Page, SearchResult } from "../contract/shapes.js";

export const MAX_SEARCH_CHARS = 200;
export const MAX_SEARCH_PAGE = 50;
/** A one-letter prefix would match a good part of the index: prefixes start at two characters. */
const MIN_PREFIX_CHARS = 2;

export const searchQuery = z.object({
  // Not trimmed: a trailing space says the last word is finished (see endsWithPrefixableWord).
  q: z
    .string()
    .refine((s) => s.trim() !== "", "must not be empty")
    // PostgreSQL text cannot hold U+0000: refused here, not as a failed query (500).
    .refine((s) => !s.includes("\u0000"), "must not contain NUL characters")
    .refine((s) => [...s.trim()].length <= MAX_SEARCH_CHARS, `must be at most ${MAX_SEARCH_CHARS} characters`),
  conversationId: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(MAX_SEARCH_PAGE).default(20),
  cursor: z.string().max(200).optional(),
});

export interface SearchServiceDeps {
  repository: SearchRepository;
  presenter: Presenter;
  /** Whether the user may see the conversation (participant, and the seller only once it has a message). */
  canSee: (userId: string, conversationId: string, admin: boolean) => Promise<boolean>;
}

export class SearchService {
  constructor(private readonly deps: SearchServiceDeps) {}

  async search(caller: Principal, query: unknown): Promise<Page<SearchResult>> {
    const q = parse(searchQuery, query);
    let conversationId: string | undefined;
    if (q.conversationId !== undefined) {
      // An id the caller cannot see, malformed ones included, is not_found: no probing.
      if (!uuid.safeParse(q.conversationId).success || !(await this.deps.canSee(caller.userId, q.conversationId, caller.role === "admin"))) {
        throw notFound("conversation");
      }
      conversationId = q.conversationId;
    }
    const rows = await this.deps.repository.search({
      userId: caller.userId,
      admin: caller.role === "admin",
      text: q.q,
      prefixLastWord: endsWithPrefixableWord(q.q),
      limit: q.limit,
      ...(conversationId ? { conversationId } : {}),
      ...(q.cursor ? { before: decodeCursor(q.cursor) } : {}),
    });
    const more = rows.length > q.limit;
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return {
      items: page.map((hit) => ({ message: this.deps.presenter.message(hit.message, viewerOf(caller)), highlight: toHtml(hit.highlight) })),
      nextCursor: more && last ? encodeCursor(last.message.createdAt, last.message.id) : null,
    };
  }
}

/**
 * Whether the last word is still being typed and should match as a prefix: a plain word at the
 * very end of the query (no space after it), not an excluded word (-word), not the end of a
 * "quoted phrase", not the operator "or". 'simple' does not stem, so this is also what lets "bike" find "bikes".
 */
export function endsWithPrefixableWord(q: string): boolean {
  if (/\s$/u.test(q)) return false;
  const last = q.split(/\s+/u).at(-1) ?? "";
  if (last.startsWith("-") || last.toLowerCase() === "or") return false;
  if ((q.match(/"/g)?.length ?? 0) % 2 === 1 || last.endsWith('"')) return false;
  const word = /[\p{L}\p{N}]+$/u.exec(last)?.[0] ?? "";
  return word === last.replace(/^"/, "") && [...word].length >= MIN_PREFIX_CHARS;
}

/** Escapes the text for HTML and turns the repository's match marks into <mark> elements. */
export function toHtml(marked: string): string {
  return marked
    .replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]!)
    .replaceAll(MATCH_START, "<mark>")
    .replaceAll(MATCH_END, "</mark>");
}

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

// The cursor is the (created_at, id) of the page's last message: keyset pagination neither skips
// nor repeats results when new messages arrive while a client pages.
function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(`${createdAt}|${id}`).toString("base64url");
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [time, id] = Buffer.from(cursor, "base64url").toString().split("|");
  const createdAt = new Date(time ?? "");
  if (!id || Number.isNaN(createdAt.getTime()) || !uuid.safeParse(id).success) throw invalidCursor();
  return { createdAt, id };
}
