// The service's HTTP API (API.md, "HTTP"), typed with the contract's shapes. Every call carries
// the bearer token; a 401 gets one retry with a refreshed token. Errors are ChatErrors with the
// contract's codes (`network` when no answer came at all).
import type {
  BlockView,
  BroadcastPayload,
  ConversationView,
  ErrorBody,
  MessagePage,
  MessageView,
  Page,
  PresenceView,
  ReportReceipt,
  SearchResult,
  UnreadSummary,
} from "./contract.js";
import { ChatError } from "./errors.js";
import type { TokenSource } from "./token.js";

export interface ConversationQuery {
  limit?: number;
  cursor?: string;
  role?: "buyer" | "seller";
  /** Matches the listing's title and the other participant's name. */
  q?: string;
}

export interface MessageQuery {
  limit?: number;
  /** The `limit` messages just below this seq. */
  before?: number;
  /** The `limit` messages just above this seq. */
  after?: number;
}

export interface SendBody {
  clientId: string;
  content?: string;
  attachmentIds?: string[];
  replyToId?: string;
}

export interface ReportInput {
  userId?: string;
  messageId?: string;
  conversationId?: string;
  reason: string;
  note?: string;
}

export interface SearchQuery {
  q: string;
  conversationId?: string;
  limit?: number;
  cursor?: string;
}

export interface OfferInput {
  clientId: string;
  amountCents: number;
  currency: string;
}

export interface CounterOfferInput {
  clientId: string;
  amountCents: number;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

type Query = Record<string, string | number | undefined>;

export class HttpApi {
  constructor(
    readonly baseUrl: string,
    private readonly tokens: TokenSource,
  ) {}

  /** One call. `path` is relative to the service's URL; `body` is sent as JSON. */
  async request<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
    const send = async (token: string) => {
      try {
        return await fetch(this.url(path), {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          ...(options.signal ? { signal: options.signal } : {}),
        });
      } catch (err) {
        if (options.signal?.aborted) throw new ChatError("aborted", "Aborted");
        throw new ChatError("network", `${method} ${path}: ${(err as Error).message}`);
      }
    };
    let res = await send(await this.tokens.get());
    if (res.status === 401 && this.tokens.refreshable) res = await send(await this.tokens.refresh());
    return readResponse<T>(res);
  }

  /** The absolute URL of a path on the service (attachment URLs are paths). */
  url(path: string, query: Query = {}): string {
    const url = new URL(path, this.baseUrl);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    return url.toString();
  }

  // ---- Conversations ---------------------------------------------------------------------------

  listConversations(query: ConversationQuery = {}, options?: RequestOptions): Promise<Page<ConversationView>> {
    return this.request("GET", withQuery("/api/conversations", { ...query }), undefined, options);
  }

  /** Get-or-create the caller's conversation about a listing (the caller is the buyer). */
  openConversation(listingId: string): Promise<ConversationView> {
    return this.request("POST", "/api/conversations", { listingId });
  }

  getConversation(conversationId: string, options?: RequestOptions): Promise<ConversationView> {
    return this.request("GET", `/api/conversations/${enc(conversationId)}`, undefined, options);
  }

  /** Hides it for the caller; a later message shows it again. */
  hideConversation(conversationId: string): Promise<void> {
    return this.request("DELETE", `/api/conversations/${enc(conversationId)}`);
  }

  // ---- Messages ------------------------------------------------------------------------------

  listMessages(conversationId: string, query: MessageQuery = {}, options?: RequestOptions): Promise<MessagePage> {
    return this.request("GET", withQuery(`/api/conversations/${enc(conversationId)}/messages`, { ...query }), undefined, options);
  }

  /** Send over HTTP (ChatClient.send goes over the socket and retries; this is one attempt). */
  sendMessage(conversationId: string, body: SendBody): Promise<MessageView> {
    return this.request("POST", `/api/conversations/${enc(conversationId)}/messages`, body);
  }

  editMessage(messageId: string, content: string): Promise<MessageView> {
    return this.request("PATCH", `/api/messages/${enc(messageId)}`, { content });
  }

  /** Unsend: the content and attachments go, a tombstone stays. */
  deleteMessage(messageId: string): Promise<void> {
    return this.request("DELETE", `/api/messages/${enc(messageId)}`);
  }

  /** Moves the caller's read pointer forward to `seq` (default: the latest). */
  markRead(conversationId: string, seq?: number): Promise<void> {
    return this.request("POST", `/api/conversations/${enc(conversationId)}/read`, seq === undefined ? {} : { seq });
  }

  unread(options?: RequestOptions): Promise<UnreadSummary> {
    return this.request("GET", "/api/unread", undefined, options);
  }

  /** Adds (`on`) or removes the caller's reaction; idempotent both ways. */
  react(messageId: string, emoji: string, on = true): Promise<void> {
    return this.request(on ? "PUT" : "DELETE", `/api/messages/${enc(messageId)}/reactions/${enc(emoji)}`);
  }

  search(query: SearchQuery): Promise<Page<SearchResult>> {
    return this.request("GET", withQuery("/api/search", { ...query }));
  }

  // ---- Offers --------------------------------------------------------------------------------

  /** Makes an offer: a message of type "offer" (idempotent on clientId). */
  makeOffer(conversationId: string, input: OfferInput): Promise<MessageView> {
    return this.request("POST", `/api/conversations/${enc(conversationId)}/offers`, input);
  }

  acceptOffer(offerId: string): Promise<MessageView> {
    return this.request("POST", `/api/offers/${enc(offerId)}/accept`);
  }

  declineOffer(offerId: string): Promise<MessageView> {
    return this.request("POST", `/api/offers/${enc(offerId)}/decline`);
  }

  withdrawOffer(offerId: string): Promise<MessageView> {
    return this.request("POST", `/api/offers/${enc(offerId)}/withdraw`);
  }

  /** Answers an offer with another amount: a new offer message; the old one becomes "countered". */
  counterOffer(offerId: string, input: CounterOfferInput): Promise<MessageView> {
    return this.request("POST", `/api/offers/${enc(offerId)}/counter`, input);
  }

  // ---- People ----------------------------------------------------------------------------------

  presence(userIds: string[], options?: RequestOptions): Promise<PresenceView[]> {
    return this.request("GET", withQuery("/api/presence", { userIds: userIds.join(",") }), undefined, options);
  }

  blocks(cursor?: string): Promise<Page<BlockView>> {
    return this.request("GET", withQuery("/api/blocks", { cursor }));
  }

  block(userId: string): Promise<BlockView> {
    return this.request("POST", "/api/blocks", { userId });
  }

  unblock(userId: string): Promise<void> {
    return this.request("DELETE", `/api/blocks/${enc(userId)}`);
  }

  report(input: ReportInput): Promise<ReportReceipt> {
    return this.request("POST", "/api/reports", input);
  }

  /** Broadcasts from the marketplace, for a client that was away (`after`: the last id seen). */
  broadcasts(after?: string): Promise<Page<BroadcastPayload>> {
    return this.request("GET", withQuery("/api/broadcasts", { after }));
  }

  /**
   * The caller's support conversation with the marketplace team (created on first use); an admin
   * passes `userId` to open a user's.
   */
  openSupport(userId?: string): Promise<ConversationView> {
    return this.request("POST", "/api/support/conversations", userId === undefined ? {} : { userId });
  }

  /** Admins: support conversations with a message, latest activity first, with the team's unread counts. */
  supportInbox(query: { limit?: number; cursor?: string } = {}, options?: RequestOptions): Promise<Page<ConversationView>> {
    return this.request("GET", withQuery("/api/admin/support", { ...query }), undefined, options);
  }
}

/** A fetch Response as the contract's JSON, or a ChatError from its error body. */
export async function readResponse<T>(res: Response): Promise<T> {
  const text = await res.text();
  return parseResponse<T>(res.status, text, res.headers.get("retry-after"), res.statusText);
}

export function parseResponse<T>(status: number, text: string, retryAfter: string | null, statusText = ""): T {
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      if (status < 300) throw new ChatError("internal", `Unexpected answer (${status}): not JSON`, { status });
    }
  }
  if (status >= 200 && status < 300) return body as T;
  const error = (body as { error?: Partial<ErrorBody> } | null)?.error;
  const retryAfterMs = error?.retryAfterMs ?? (retryAfter && Number.isFinite(Number(retryAfter)) ? Number(retryAfter) * 1000 : undefined);
  throw new ChatError(error?.code ?? codeFor(status), error?.message ?? (statusText || `HTTP ${status}`), {
    status,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...(error?.requestId ? { requestId: error.requestId } : {}),
  });
}

/** An error without the contract's body (a proxy's 502, say). */
function codeFor(status: number): ErrorBody["code"] {
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 413) return "payload_too_large";
  if (status === 429) return "rate_limited";
  if (status >= 500) return "unavailable";
  return "validation_failed";
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

function withQuery(path: string, query: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== "") params.set(key, String(value));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}
