// Sends the webhook outbox (API.md, "Offline delivery: webhooks"). Every node runs one worker;
// each poll claims a batch of due rows (webhook-repository.ts: SKIP LOCKED and a lease, so two
// nodes never send the same row in the same attempt), sends them concurrently, and records each
// outcome: delivered, retried later with exponential backoff, or given up after maxAttempts
// (failed_at set, the row kept for inspection).
//
// message.unread rows are only a reference until they are due: the worker then drops those whose
// message was read or unsent meanwhile, or whose recipient has a socket connected anywhere, and
// renders the rest as the recipient sees them now: { userId, conversation, message }.
import type { PresenceStatus } from "../cluster/presence-store.js";
import type { ConversationRepository } from "../db/conversation-repository.js";
import type { AttemptOutcome, ClaimedWebhook, UnreadReference, UnreadState, WebhookRepository } from "../db/webhook-repository.js";
import type { Presenter } from "../chat/presenter.js";
import { userViewer } from "../chat/message-visibility.js";
import { signWebhook } from "./webhook-signer.js";

export interface WebhookWorkerOptions {
  /** WEBHOOK_URL */
  url: string;
  /** WEBHOOK_SECRET */
  secret: string;
  /** One attempt (connect, send, response headers) may take this long (WEBHOOK_TIMEOUT_MS). */
  timeoutMs: number;
  /** Attempts before a row is given up (WEBHOOK_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** Wait after the first failure, doubled after each further one (WEBHOOK_RETRY_BASE_MS)... */
  retryBaseMs: number;
  /** ...up to this (WEBHOOK_RETRY_MAX_MS). */
  retryMaxMs: number;
  /** How often an idle worker looks for due rows (WEBHOOK_POLL_INTERVAL_MS). */
  pollIntervalMs: number;
  /** Rows claimed, and sent concurrently, per round (WEBHOOK_BATCH_SIZE). */
  batchSize: number;
  /** Delivered rows are deleted after this long (WEBHOOK_RETENTION_MS). */
  retentionMs: number;
}

export interface WebhookWorkerDeps {
  repository: WebhookRepository;
  conversations: ConversationRepository;
  presenter: Presenter;
  /** Cluster-wide presence (presence-store.ts): a recipient online anywhere gets no message.unread. */
  presence: (userIds: readonly string[]) => Promise<Map<string, PresenceStatus>>;
  log: {
    info: (obj: object, msg: string) => void;
    warn: (obj: object, msg: string) => void;
    error: (obj: object, msg: string) => void;
  };
  /** Each attempt's outcome (delivered, retry, failed, released), for the metrics. */
  onAttempt?: (outcome: AttemptOutcome["kind"]) => void;
}

/** The body of every webhook request. */
export interface WebhookEnvelope {
  id: string;
  type: string;
  createdAt: string;
  data: unknown;
}

/** How often delivered rows past their retention are looked for. */
const PRUNE_INTERVAL_MS = 10 * 60_000;
const PRUNE_BATCH = 1000;
/** Beyond the attempt's timeout, how long a claimed row stays leased (the outcome's write, clock skew). */
const LEASE_MARGIN_MS = 30_000;
/** last_error keeps this much of an error or a response body. */
const MAX_ERROR_CHARS = 500;
const USER_AGENT = "marketchat-webhooks/1";

/**
 * Wait before attempt `failedAttempts + 1`: base·2^(n-1), capped, plus up to 10% so that many rows
 * failing together (the receiver was down) do not all come back in the same instant.
 */
export function retryDelayMs(failedAttempts: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.min(failedAttempts - 1, 40));
  return Math.round(exponential * (1 + random() * 0.1));
}

export class WebhookWorker {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private lastPrune = 0;
  /** Aborts attempts in flight when the node shuts down. */
  private readonly shutdown = new AbortController();

  constructor(
    private readonly options: WebhookWorkerOptions,
    private readonly deps: WebhookWorkerDeps,
  ) {}

  start(): void {
    if (this.timer || this.stopped) return;
    // Unref'd: a worker waiting for its next poll never keeps the process alive.
    this.timer = setInterval(() => this.poll(), this.options.pollIntervalMs);
    this.timer.unref();
  }

  /** Stops polling; attempts in flight are aborted and their rows released for another node. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.shutdown.abort();
    await this.running;
  }

  /** One poll: rounds of claims until a round finds fewer rows than a batch (for tests, and the timer). */
  poll(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= this.drain()
      .catch((err: unknown) => this.deps.log.error({ err }, "webhook delivery round failed"))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async drain(): Promise<void> {
    for (;;) {
      const claimed = await this.deps.repository.claim(this.options.batchSize, this.options.timeoutMs + LEASE_MARGIN_MS);
      if (claimed.length > 0) await this.process(claimed);
      if (claimed.length < this.options.batchSize || this.stopped) break;
    }
    if (Date.now() - this.lastPrune >= PRUNE_INTERVAL_MS && !this.stopped) {
      this.lastPrune = Date.now();
      const pruned = await this.deps.repository.prune(this.options.retentionMs, PRUNE_BATCH);
      if (pruned > 0) this.deps.log.info({ pruned }, "deleted delivered webhooks past their retention");
    }
  }

  private async process(claimed: ClaimedWebhook[]): Promise<void> {
    const unread = claimed.filter((row) => row.type === "message.unread");
    const { envelopes, discarded } = await this.renderUnread(unread);
    await this.deps.repository.discard(discarded);
    const outgoing: { row: ClaimedWebhook; envelope: WebhookEnvelope }[] = claimed
      .filter((row) => row.type !== "message.unread")
      .map((row) => ({ row, envelope: { id: row.id, type: row.type, createdAt: row.createdAt, data: row.payload } }));
    for (const row of unread) {
      const envelope = envelopes.get(row.id);
      if (envelope) outgoing.push({ row, envelope });
    }
    await Promise.all(
      outgoing.map(async ({ row, envelope }) => {
        const outcome = await this.attempt(row, envelope);
        this.deps.onAttempt?.(outcome.kind);
        await this.deps.repository
          .finish(row.id, outcome)
          .catch((err: unknown) => this.deps.log.error({ err, delivery: row.id }, "could not record a webhook attempt"));
      }),
    );
  }

  /**
   * Which message.unread rows still call for a webhook, rendered; the others are discarded. A
   * presence outage counts the recipients as offline: a push too many beats a missed one.
   */
  private async renderUnread(rows: ClaimedWebhook[]): Promise<{ envelopes: Map<string, WebhookEnvelope>; discarded: string[] }> {
    const envelopes = new Map<string, WebhookEnvelope>();
    if (rows.length === 0) return { envelopes, discarded: [] };
    const refs = rows.flatMap((row) => (isUnreadReference(row.payload) ? [{ id: row.id, ref: row.payload }] : []));
    const states = await this.deps.repository.unreadStates(refs);
    const pending = refs.filter(({ id }) => stillUnread(states.get(id)));
    let presence = new Map<string, PresenceStatus>();
    try {
      presence = await this.deps.presence([...new Set(pending.map((p) => p.ref.userId))]);
    } catch (err) {
      this.deps.log.warn({ err }, "presence unavailable: sending message.unread webhooks regardless");
    }
    for (const { id, ref } of pending) {
      if (presence.get(ref.userId)?.online) continue;
      const conversation = await this.deps.conversations.findForUser(ref.userId, ref.conversationId);
      if (!conversation) continue;
      const row = rows.find((r) => r.id === id)!;
      envelopes.set(id, {
        id,
        type: row.type,
        createdAt: row.createdAt,
        data: {
          userId: ref.userId,
          conversation: this.deps.presenter.conversation(conversation, userViewer(ref.userId)),
          message: this.deps.presenter.message(states.get(id)!.message, userViewer(ref.userId)),
        },
      });
    }
    return { envelopes, discarded: rows.filter((row) => !envelopes.has(row.id)).map((row) => row.id) };
  }

  private async attempt(row: ClaimedWebhook, envelope: WebhookEnvelope): Promise<AttemptOutcome> {
    const body = JSON.stringify(envelope);
    let error: string;
    try {
      const response = await fetch(this.options.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": USER_AGENT,
          "x-chat-signature": signWebhook(this.options.secret, body),
          "x-chat-delivery": row.id,
          "x-chat-event": row.type,
          "x-chat-attempt": String(row.attempts),
        },
        body,
        // A redirect would send the signed body somewhere nobody configured: it counts as a failure.
        redirect: "manual",
        signal: AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), this.shutdown.signal]),
      });
      const excerpt = await readExcerpt(response);
      if (response.status >= 200 && response.status < 300) return { kind: "delivered" };
      error = `HTTP ${response.status}${excerpt ? `: ${excerpt}` : ""}`;
    } catch (err) {
      if (this.shutdown.signal.aborted) return { kind: "released" };
      const e = err as Error & { cause?: { code?: string; message?: string } };
      error =
        e.name === "TimeoutError"
          ? `timed out after ${this.options.timeoutMs} ms`
          : [e.message, e.cause?.code ?? e.cause?.message].filter(Boolean).join(": ");
    }
    error = error.slice(0, MAX_ERROR_CHARS);
    if (row.attempts >= this.options.maxAttempts) {
      this.deps.log.warn({ delivery: row.id, type: row.type, attempts: row.attempts, error }, "webhook given up");
      return { kind: "failed", error };
    }
    return { kind: "retry", error, delayMs: retryDelayMs(row.attempts, this.options.retryBaseMs, this.options.retryMaxMs) };
  }
}

function stillUnread(state: UnreadState | undefined): boolean {
  return state !== undefined && state.unread && state.message.deletedAt === null;
}

function isUnreadReference(payload: unknown): payload is UnreadReference {
  const p = payload as Partial<UnreadReference> | null;
  return typeof p?.userId === "string" && typeof p.conversationId === "string" && typeof p.messageId === "string";
}

/** The start of the response body (for last_error), without reading a large one to the end. */
async function readExcerpt(response: Response): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  try {
    const { value } = await reader.read();
    return value ? Buffer.from(value).toString("utf8", 0, Math.min(value.length, MAX_ERROR_CHARS)).trim() : "";
  } finally {
    // The excerpt is all we read: cancelling frees the connection. The attempt's outcome is
    // already decided by the status, so a failing cancel changes nothing.
    void reader.cancel().catch((err: unknown) => err);
  }
}
