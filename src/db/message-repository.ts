// Message queries, including the send path: the hottest code in the service.
//
// Per message: (1) one statement that takes the conversation's ordering lock, checks everything
// the rules need and, when all is well, writes (next seq, the message, the sender's read pointer,
// the attachments, the webhook outbox row) — a single statement is its own transaction; the
// caller publishes while the lock is held; (2) the unlock. Two statements and two round trips.
// The lock is a session-level advisory lock so that it outlives the write's commit and covers
// the publish: seq 6 cannot be published before seq 5 even when they are taken on different
// nodes (README, "Ordering").
import type pg from "pg";
import { MESSAGE_COLUMNS, toMessageRecord, type MessageRow } from "./message-sql.js";
import type { AttachmentRecord, MessageRecord } from "./records.js";
import type { ListingStatus } from "../contract/shapes.js";
import { isUniqueViolation } from "./database.js";
import { KeyedMutex } from "./keyed-mutex.js";
import type { FlagDraft, SendModeration } from "./moderation-flag-repository.js";
import { ACTOR_SQL, BLOCKED_SQL, VISIBLE_SQL } from "./access-sql.js";
import { OFFER_VIEW_SQL, OFFER_WEBHOOK_DATA_SQL, PENDING_OFFER_SQL } from "./offer-sql.js";

export interface SendContext {
  buyerId: string;
  sellerId: string;
  /** Null for support conversations (no listing). */
  listingStatus: ListingStatus | null;
  senderBanned: boolean;
  blocked: boolean;
  existing: MessageRecord | null;
  replyOk: boolean;
  /** The requested attachments that belong to the sender, with whether they are still free. */
  attachments: { id: string; kind: "image" | "file"; free: boolean }[];
  /** The conversation's two latest messages before this one, oldest first (split numbers). */
  recent: { senderId: string | null; content: string | null }[];
  /** Listing active and no offer accepted: the contact-detail policy applies. */
  contactPolicyApplies: boolean;
  /** Refused by the moderation effect (contact policy `block` or the hook's block). */
  moderationBlocked: boolean;
  /** Offer sends only (SendInput.offer): what the offer rules checked. */
  offer?: OfferContext;
}

/** What the offer variant of the send statement read (README, "Offers"). */
export interface OfferContext {
  listingCurrency: string | null;
  /** The conversation's pending offer when the statement started (live: not yet past expiresAt). */
  pending: { id: string; byUserId: string; live: boolean } | null;
  /** Every check passed, yet nothing was stored: another node changed the offers meanwhile. */
  raced: boolean;
}

/**
 * Makes the send an offer (type "offer", no content): the offer row, and for a counter the old
 * offer's move to `countered`, are written by the same statement as the message (README, "Offers").
 */
export interface OfferDraft {
  amountCents: number;
  currency: string;
  /** A counter: the pending offer of the other participant that this one answers. */
  respondsToOfferId: string | null;
  /** OFFER_TTL_MS: the offer expires this long after it is made. */
  ttlMs: number;
  /** Write the offer.created / offer.countered webhook outbox rows (WEBHOOK_URL is set). */
  webhooks: boolean;
}

export interface SendInput {
  conversationId: string;
  senderId: string;
  /** The sender's token has the admin role: they write in every support conversation as the team. */
  admin: boolean;
  clientId: string;
  /** Null when blank: the message is then its attachments. */
  content: string | null;
  replyToId: string | null;
  attachmentIds: string[];
  /** Contact details and the moderation hook's verdict, applied by the statement; null: nothing found. */
  moderation: SendModeration | null;
  /** Delay of the recipient's message.unread webhook row, written by the same statement; null: webhooks off. */
  unreadWebhookDelayMs: number | null;
  /** An offer instead of a text or attachment message (chat/offer-service.ts). */
  offer?: OfferDraft;
}

/** What a send came to; every outcome but null holds the lock, to be released by the caller. */
export type SendOutcome =
  | { kind: "stored"; lock: ConversationLock; message: MessageRecord; context: SendContext }
  | { kind: "existing"; lock: ConversationLock; message: MessageRecord }
  | { kind: "refused"; lock: ConversationLock; context: SendContext };

export interface MessageAccess {
  message: MessageRecord;
  buyerId: string;
  sellerId: string;
  /** Null for support conversations (no listing). */
  listingStatus: ListingStatus | null;
  /** The conversation's two people blocked each other (never in support conversations). */
  blocked: boolean;
  /** Listing active and no offer accepted: the contact-detail policy applies (to an edit). */
  contactPolicyApplies: boolean;
}

/** The advisory lock key of a conversation (any two conversations colliding just share a queue). */
const LOCK_KEY = (conversationIdSql: string) => `hashtextextended(${conversationIdSql}::text, 0)`;

/**
 * The webhook outbox row for the recipient, in the send's one write statement, so it
 * commits with the message or not at all. It holds a reference only: the delivery worker checks,
 * when it is due, that the message is still unread and the recipient offline, and renders the
 * conversation and message as they are then (src/db/webhook-repository.ts).
 */
const UNREAD_WEBHOOK_CTE = `, w AS (
           INSERT INTO webhook_deliveries (type, payload, due_at)
           SELECT 'message.unread',
                  jsonb_build_object('userId', CASE WHEN ok.buyer_id = ok.actor THEN ok.seller_id ELSE ok.buyer_id END,
                                     'conversationId', m.conversation_id, 'messageId', m.id, 'seq', m.seq),
                  m.created_at + $9::int * interval '1 millisecond'
           FROM m, ok
           -- The team of a support conversation has no device to reach: admins see its inbox.
           WHERE ok.kind = 'listing' OR ok.buyer_id <> ok.actor
         )`;

/**
 * Whether an offer in the conversation was accepted: that lifts the contact-detail policy
 * (API.md, "Off-platform contact details"). The one place that reads it.
 */
const OFFER_ACCEPTED_SQL = (conversation: string) => `${conversation}.offer_accepted_at IS NOT NULL`;

/**
 * Whether the contact-detail policy applies to a message in conversation `c` about listing `l`:
 * while the listing is active and no offer was accepted. The send statement decides it under the
 * conversation's lock; edits read it with the message (lockMessage).
 */
const CONTACT_POLICY_APPLIES_SQL = `COALESCE(l.status = 'active' AND NOT ${OFFER_ACCEPTED_SQL("c")}, false)`;

/**
 * The moderation effect ($7, a SendModeration as JSON, or null) that holds for this message:
 * `applied` while the contact policy applies, `otherwise` when it does not.
 */
const EFFECT_SQL = `($7::jsonb -> (CASE WHEN ctx.contact_policy_applies THEN 'applied' ELSE 'otherwise' END))`;

/**
 * Rows for GET /api/admin/flags, written when the message is stored or refused by moderation
 * (nothing else stored): a contact detail found while the policy does not apply is "recorded".
 */
const FLAGS_CTE = `, flagged AS (
  INSERT INTO moderation_flags (rule, action, conversation_id, sender_id, message_id, kinds, spans, reason)
  SELECT (r->>'rule')::flag_rule,
         (CASE WHEN r->>'rule' = 'contact_info' AND NOT ctx.contact_policy_applies THEN 'recorded' ELSE r->>'action' END)::flag_action,
         ctx.id, $2, (SELECT id FROM m),
         ARRAY(SELECT jsonb_array_elements_text(r->'kinds')), r->'spans', r->>'reason'
  FROM ctx, jsonb_array_elements(COALESCE($7::jsonb->'flags', '[]'::jsonb)) r
  WHERE EXISTS (SELECT 1 FROM m)
     OR (ctx.existing IS NULL AND NOT ctx.sender_banned AND NOT ctx.blocked AND COALESCE((${EFFECT_SQL}->>'block')::boolean, false))
)`;

/** Inserts FlagDraft rows given as a JSON array (parameters: conversation, sender, message, rows). */
const INSERT_FLAGS_SQL = (conversation: string, sender: string, message: string, records: string) => `
  INSERT INTO moderation_flags (rule, action, conversation_id, sender_id, message_id, kinds, spans, reason)
  SELECT (r->>'rule')::flag_rule, (r->>'action')::flag_action, ${conversation}::uuid, ${sender}, ${message}::uuid,
         ARRAY(SELECT jsonb_array_elements_text(r->'kinds')), r->'spans', r->>'reason'
  FROM jsonb_array_elements(${records}::jsonb) r`;

// ---- The send statement's offer variant (README, "Offers") ----------------------------------
// Plain sends run the statement without any of this (the same text as before offers existed).

/** The offer's parameter (an OfferDraft as JSON): after the webhook delay when there is one. */
const offerParam = (webhook: boolean) => (webhook ? "$10::jsonb" : "$9::jsonb");

/** What the offer rules read, under the same lock and snapshot as the rest of ctx. */
const OFFER_CTX_COLUMNS = `,
         l.currency AS listing_currency, c.listing_id, ${PENDING_OFFER_SQL("c")} AS pending_offer`;

/**
 * The offer rules, checked with the others: the listing active, the offer in its currency, and no
 * other offer pending (a new offer) or the pending one the other participant's and live (a counter).
 */
const OFFER_CHECKS = (p: string) => `
    AND ctx.listing_status = 'active' AND ctx.listing_currency IS NOT DISTINCT FROM (${p}->>'currency')
    AND (CASE WHEN ${p}->>'respondsToOfferId' IS NULL THEN ctx.pending_offer IS NULL
              ELSE ctx.pending_offer->>'id' = ${p}->>'respondsToOfferId' AND ctx.pending_offer->>'byUserId' <> $2
                   AND (ctx.pending_offer->>'live')::boolean END)`;

/**
 * prev: a counter moves the offer it answers to countered, re-checked under the row lock (an
 * accept committed meanwhile on another node wins; then nothing is written). o: the new offer,
 * inserted before its message (the foreign key is checked at the end of the statement) so that a
 * pending offer stored by another node after this statement's snapshot is a conflict on the
 * one-pending-offer index that writes nothing (ON CONFLICT DO NOTHING), not an error. ok: the
 * checks passed and the offer is in, so the conversation's next seq is taken.
 */
const OFFER_CTES = (p: string) => `, prev AS (
  UPDATE offers SET status = 'countered', decided_at = now()
  WHERE id = (${p}->>'respondsToOfferId')::uuid AND conversation_id = $1 AND status = 'pending'
    AND by_user_id <> $2 AND expires_at > now() AND EXISTS (SELECT 1 FROM ok0)
  RETURNING *
), o AS (
  INSERT INTO offers (conversation_id, message_id, by_user_id, amount_cents, currency, responds_to_offer_id, expires_at)
  SELECT ok0.id, gen_random_uuid(), $2, (${p}->>'amountCents')::int, ${p}->>'currency', (SELECT id FROM prev),
         now() + (${p}->>'ttlMs')::bigint * interval '1 millisecond'
  FROM ok0 WHERE ${p}->>'respondsToOfferId' IS NULL OR EXISTS (SELECT 1 FROM prev)
  ON CONFLICT (conversation_id) WHERE status = 'pending' DO NOTHING
  RETURNING *
), ok AS (
  SELECT ok0.*, o.message_id AS offer_message_id FROM ok0, o
)`;

/** offer.countered (the old offer, with the counter beside it) and offer.created, in the outbox. */
const OFFER_WEBHOOK_CTE = (p: string) => `, ow AS (
  INSERT INTO webhook_deliveries (type, payload)
  SELECT 'offer.countered', ${OFFER_WEBHOOK_DATA_SQL("prev", "ctx", "$2")} || jsonb_build_object('counterOffer', ${OFFER_VIEW_SQL("o")})
  FROM prev, o, ctx WHERE (${p}->>'webhooks')::boolean
  UNION ALL
  SELECT 'offer.created', ${OFFER_WEBHOOK_DATA_SQL("o", "ctx", "$2")}
  FROM o, ctx WHERE (${p}->>'webhooks')::boolean
)`;

const OFFER_RESULT_COLUMNS = `
       ctx.listing_currency, ctx.pending_offer, (EXISTS (SELECT 1 FROM ok0) AND NOT EXISTS (SELECT 1 FROM o)) AS offer_raced,`;

/**
 * The seller's reply that ends a buyer's wait (c.answered_wait set: at most once per wait) records
 * a response sample and recomputes the seller's median over their latest RESPONSE_SAMPLE_LIMIT
 * samples of the last 30 days (an index range on response_samples (seller_id, responded_at)).
 * Nothing runs for any other message (README, "Response time").
 */
export const RESPONSE_SAMPLE_LIMIT = 1000;
const RESPONSE_TIME_CTES = `, sample AS (
  INSERT INTO response_samples (seller_id, seconds, responded_at)
  SELECT $2, GREATEST(0, round(extract(epoch FROM c.last_activity_at - c.answered_wait)))::int, c.last_activity_at
  FROM c WHERE c.answered_wait IS NOT NULL
  RETURNING seconds
), median AS (
  UPDATE users SET response_time_seconds = (
    SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY s.seconds))::int FROM (
      (SELECT r.seconds FROM response_samples r WHERE r.seller_id = $2 AND r.responded_at > now() - interval '30 days'
       ORDER BY r.responded_at DESC LIMIT ${RESPONSE_SAMPLE_LIMIT - 1})
      UNION ALL SELECT seconds FROM sample) s)
  WHERE id = $2 AND EXISTS (SELECT 1 FROM sample)
)`;

/**
 * The send statement. \`ctx\` reads what the rules check and takes the advisory lock: it is
 * evaluated before the UPDATE can lock the conversation row (the UPDATE joins it), so every send
 * takes the advisory lock first and the row lock second, and two sends cannot deadlock. The
 * checks read the statement's snapshot, taken before the lock was granted; the seq does not
 * depend on it (an UPDATE re-reads a row changed meanwhile), and a clientId stored meanwhile
 * makes the INSERT fail on its unique key (handled in append()). The message type follows
 * messageType() in chat/message-service.ts, here because the attachment kinds are only known here.
 */
const SEND_SQL = (webhook: boolean, offer = false) => `
WITH ctx AS (
  SELECT pg_advisory_lock(${LOCK_KEY("c.id")}) AS locked, c.id, c.kind::text AS kind, c.buyer_id, c.seller_id,
         ${ACTOR_SQL("$2", "$8")} AS actor, l.status::text AS listing_status,
         COALESCE((SELECT banned_at IS NOT NULL FROM users WHERE id = $2), false) AS sender_banned,
         ${BLOCKED_SQL} AS blocked,
         (SELECT row_to_json(x) FROM (SELECT ${MESSAGE_COLUMNS} FROM messages m
            WHERE m.conversation_id = c.id AND m.sender_id = $2 AND m.client_id = $3) x) AS existing,
         ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM messages r WHERE r.id = $5 AND r.conversation_id = c.id)) AS reply_ok,
         COALESCE((SELECT json_agg(json_build_object('id', a.id, 'kind', a.kind, 'free', a.message_id IS NULL))
                   FROM attachments a WHERE a.id = ANY($6::uuid[]) AND a.uploader_id = $2), '[]'::json) AS attachments,
         -- The two latest messages: a number split over consecutive messages of one sender is
         -- looked for in them once this one is stored (chat/contact-policy.ts). Two index rows.
         (SELECT json_agg(json_build_object('senderId', t.sender_id, 'content', t.content) ORDER BY t.seq)
            FROM messages t WHERE t.conversation_id = c.id AND t.seq > c.last_seq - 2) AS recent,
         ${CONTACT_POLICY_APPLIES_SQL} AS contact_policy_applies${offer ? OFFER_CTX_COLUMNS : ""}
  FROM conversations c LEFT JOIN listings l ON l.id = c.listing_id
  WHERE c.id = $1 AND ${VISIBLE_SQL("$2", "$8")}
), claimable AS (
  SELECT count(*) AS n, bool_and(a.kind = 'image') AS images, bool_and(a.kind = 'file') AS files
  FROM attachments a WHERE a.id = ANY($6::uuid[]) AND a.uploader_id = $2 AND a.message_id IS NULL
), ${offer ? "ok0" : "ok"} AS (
  SELECT ctx.*, claimable.* FROM ctx, claimable
  WHERE NOT ctx.sender_banned AND NOT ctx.blocked AND ctx.listing_status IS DISTINCT FROM 'deleted' AND ctx.reply_ok
    AND ctx.existing IS NULL AND claimable.n = cardinality($6::uuid[])
    AND NOT COALESCE((${EFFECT_SQL}->>'block')::boolean, false)${offer ? OFFER_CHECKS(offerParam(webhook)) : ""}
)${offer ? OFFER_CTES(offerParam(webhook)) : ""}, c AS (
  -- Response time (README): a buyer's message starts the wait unless one is running; the seller's
  -- next message ends it (prior: the row as locked, not the statement's older snapshot).
  UPDATE conversations SET last_seq = conversations.last_seq + 1, last_activity_at = now(), updated_at = now(),
         buyer_waiting_since = CASE WHEN conversations.kind = 'listing' AND conversations.buyer_id = $2
                                    THEN COALESCE(conversations.buyer_waiting_since, now()) END
  FROM ok CROSS JOIN LATERAL (SELECT w.buyer_waiting_since FROM conversations w WHERE w.id = ok.id FOR UPDATE) prior
  WHERE conversations.id = ok.id
  RETURNING conversations.id, conversations.last_seq, conversations.last_activity_at,
            CASE WHEN conversations.seller_id = $2 THEN prior.buyer_waiting_since END AS answered_wait
), m AS (
  INSERT INTO messages (${offer ? "id, " : ""}conversation_id, seq, sender_id, client_id, type, content, reply_to_id, created_at, flags, masked_content)
  SELECT ${offer ? "ok.offer_message_id, " : ""}c.id, c.last_seq, $2, $3,
         ${offer ? "'offer'" : `(CASE WHEN ok.n = 0 THEN 'text' WHEN $4::text IS NOT NULL THEN 'mixed'
               WHEN ok.images THEN 'image' WHEN ok.files THEN 'file' ELSE 'mixed' END)`}::message_type,
         $4, $5, c.last_activity_at,
         ARRAY(SELECT jsonb_array_elements_text(COALESCE(${EFFECT_SQL.replaceAll("ctx.", "ok.")}->'flags', '[]'::jsonb))),
         ${EFFECT_SQL.replaceAll("ctx.", "ok.")}->>'masked'
  FROM c, ok
  RETURNING *
), pointer AS (
  UPDATE participants SET last_read_seq = (SELECT seq FROM m), last_read_at = now(), system_skipped = 0
  WHERE conversation_id = $1 AND user_id = (SELECT actor FROM ok) AND EXISTS (SELECT 1 FROM m)
)${RESPONSE_TIME_CTES}, a AS (
  UPDATE attachments SET message_id = (SELECT id FROM m), position = array_position($6::uuid[], id)
  WHERE id = ANY($6::uuid[]) AND uploader_id = $2 AND message_id IS NULL AND EXISTS (SELECT 1 FROM m)
  RETURNING id, kind, mime_type, name, size, width, height, thumbnail_key, position
)${FLAGS_CTE}${webhook ? UNREAD_WEBHOOK_CTE : ""}${offer ? OFFER_WEBHOOK_CTE(offerParam(webhook)) : ""}
SELECT ctx.id AS conversation_id, ctx.buyer_id, ctx.seller_id, ctx.listing_status, ctx.sender_banned, ctx.blocked,
       ctx.existing, ctx.reply_ok, ctx.attachments, ctx.recent, ctx.contact_policy_applies,${offer ? OFFER_RESULT_COLUMNS : ""}
       COALESCE((${EFFECT_SQL}->>'block')::boolean, false) AS moderation_blocked,
       (SELECT row_to_json(x) FROM (
          SELECT m.id, m.conversation_id, m.seq, m.sender_id, m.client_id, m.type::text AS type, m.content,
                 m.reply_to_id, m.created_at, m.edited_at, m.deleted_at, COALESCE(m.flags, '{}') AS flags, m.masked_content,
                 COALESCE((SELECT json_agg(json_build_object(
                   'id', a.id, 'kind', a.kind, 'mimeType', a.mime_type, 'name', a.name, 'size', a.size,
                   'width', a.width, 'height', a.height, 'hasThumbnail', a.thumbnail_key IS NOT NULL
                 ) ORDER BY a.position) FROM a), '[]'::json) AS attachments,
                 '[]'::json AS reactions${offer ? `, (SELECT ${OFFER_VIEW_SQL("o")} FROM o) AS offer` : ""}
          FROM m) x) AS inserted
FROM ctx`;
const SEND_SQL_PLAIN = SEND_SQL(false);
const SEND_SQL_WEBHOOK = SEND_SQL(true);
const SEND_SQL_OFFER = SEND_SQL(false, true);
const SEND_SQL_OFFER_WEBHOOK = SEND_SQL(true, true);

const UNLOCK_SQL = `SELECT pg_advisory_unlock(${LOCK_KEY("$1::uuid")})`;

/** A query, named (prepared once per connection) when `prepared`; the name must always carry the same text. */
function statement(prepared: boolean, name: string, text: string, values: unknown[]): pg.QueryConfig {
  return prepared ? { name, text, values } : { text, values };
}

/**
 * A conversation's ordering lock: this process's mutex for the conversation, then a pooled
 * connection holding the PostgreSQL advisory lock (which orders the nodes). `release` unlocks,
 * returns the connection, then lets the next local sender in.
 *
 * The local mutex comes first so that senders queued behind a busy conversation wait without
 * holding pooled connections: a burst into one conversation cannot starve the pool for every other
 * conversation on the node. It is also what orders sends in embedded mode, where every pooled
 * connection shares PGlite's one session and advisory locks are re-entrant.
 */
export class ConversationLock {
  private locked = true;
  constructor(
    readonly client: pg.PoolClient,
    private readonly conversationId: string,
    private readonly releaseLocal: () => void,
    private readonly prepared: boolean,
  ) {}

  /** Gives the connection back without unlocking: for when the statement took no lock. */
  abandon(): void {
    if (!this.locked) return;
    this.locked = false;
    this.client.release();
    this.releaseLocal();
  }

  async release(): Promise<void> {
    if (!this.locked) return;
    this.locked = false;
    try {
      await this.client.query(statement(this.prepared, "chat_unlock", UNLOCK_SQL, [this.conversationId]));
      this.client.release();
    } catch (err) {
      // Destroying the connection ends its session, which releases the lock anyway.
      this.client.release(err as Error);
      throw err;
    } finally {
      this.releaseLocal();
    }
  }
}

export interface MessageRepositoryOptions {
  /**
   * Name the hot statements so each connection parses and plans them once (default on). Off in
   * embedded mode: there every pooled connection shares PGlite's one session, where a second
   * connection preparing the same name would collide.
   */
  preparedStatements?: boolean;
}

export class MessageRepository {
  private readonly local = new KeyedMutex();
  private readonly prepared: boolean;

  constructor(
    private readonly pool: pg.Pool,
    options: MessageRepositoryOptions = {},
  ) {
    this.prepared = options.preparedStatements ?? true;
  }

  /**
   * Takes the local mutex on `key`, then runs `sql` (which takes the advisory lock on the row's
   * conversation) on a pooled connection. No row: nothing is held.
   */
  private async lockAndRead<R extends { conversation_id: string }>(
    key: string,
    name: string,
    sql: string,
    params: unknown[],
  ): Promise<{ lock: ConversationLock; row: R } | null> {
    const releaseLocal = await this.local.acquire(key);
    let client: pg.PoolClient | undefined;
    try {
      client = await this.pool.connect();
      const { rows } = await client.query<R>(statement(this.prepared, name, sql, params));
      const row = rows[0];
      if (row) return { lock: new ConversationLock(client, row.conversation_id, releaseLocal, this.prepared), row };
    } catch (err) {
      client?.release();
      releaseLocal();
      throw err;
    }
    client.release();
    releaseLocal();
    return null;
  }

  /**
   * This node's in-process queue of a conversation, as append() takes it: the listing-change
   * worker takes it before the advisory locks, in the same order as a send (embedded mode has
   * only this one to order by).
   */
  acquireLocal(conversationId: string): Promise<() => void> {
    return this.local.acquire(`c:${conversationId}`);
  }

  /**
   * Sends: the one statement (see SEND_SQL), on a connection that then holds the conversation's
   * ordering lock. Null, holding nothing, when the conversation is not the sender's to write in.
   */
  async append(input: SendInput): Promise<SendOutcome | null> {
    const releaseLocal = await this.local.acquire(`c:${input.conversationId}`);
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      releaseLocal();
      throw err;
    }
    const lock = new ConversationLock(client, input.conversationId, releaseLocal, this.prepared);
    const webhook = input.unreadWebhookDelayMs !== null;
    const [name, sql] = input.offer
      ? webhook ? ["chat_send_offer_webhook", SEND_SQL_OFFER_WEBHOOK] : ["chat_send_offer", SEND_SQL_OFFER]
      : webhook ? ["chat_send_webhook", SEND_SQL_WEBHOOK] : ["chat_send", SEND_SQL_PLAIN];
    let row: SendRow | undefined;
    try {
      ({ rows: [row] } = await client.query<SendRow>(
        statement(this.prepared, name, sql, [
          input.conversationId, input.senderId, input.clientId, input.content, input.replyToId, input.attachmentIds,
          input.moderation ? JSON.stringify(input.moderation) : null, input.admin,
          ...(webhook ? [input.unreadWebhookDelayMs] : []),
          ...(input.offer ? [JSON.stringify(input.offer)] : []),
        ]),
      ));
    } catch (err) {
      if (isUniqueViolation(err, "messages_conversation_id_sender_id_client_id_key")) {
        // A retry raced with its original (on another node, before the lock was granted): the
        // statement rolled back, the lock is held; return what the original stored.
        const stored = await this.findByClientId(client, input);
        return { kind: "existing", lock, message: stored! };
      }
      // The statement's error is the one to report; a failed unlock destroys the connection, which
      // ends its session and so releases the lock anyway (ConversationLock.release).
      await lock.release().catch(() => undefined);
      throw err;
    }
    if (!row) {
      // Not the sender's conversation: ctx had no row, so no advisory lock was taken.
      lock.abandon();
      return null;
    }
    const context: SendContext = {
      buyerId: row.buyer_id,
      sellerId: row.seller_id,
      listingStatus: row.listing_status,
      senderBanned: row.sender_banned,
      blocked: row.blocked,
      existing: row.existing ? toMessageRecord(row.existing) : null,
      replyOk: row.reply_ok,
      attachments: row.attachments,
      recent: row.recent ?? [],
      contactPolicyApplies: row.contact_policy_applies,
      moderationBlocked: row.moderation_blocked,
      ...(input.offer
        ? { offer: { listingCurrency: row.listing_currency ?? null, pending: row.pending_offer ?? null, raced: row.offer_raced ?? false } }
        : {}),
    };
    if (row.inserted) return { kind: "stored", lock, message: toMessageRecord(row.inserted), context };
    if (context.existing) return { kind: "existing", lock, message: context.existing };
    return { kind: "refused", lock, context };
  }

  /** Messages by id as they are now (unsent: tombstones), in no particular order; unknown ids are left out. */
  async findByIds(ids: readonly string[]): Promise<MessageRecord[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.pool.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.id = ANY($1::uuid[])`, [ids]);
    return rows.map(toMessageRecord);
  }

  private async findByClientId(client: pg.PoolClient, input: SendInput): Promise<MessageRecord | null> {
    const { rows } = await client.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.conversation_id = $1 AND m.sender_id = $2 AND m.client_id = $3`,
      [input.conversationId, input.senderId, input.clientId],
    );
    return rows[0] ? toMessageRecord(rows[0]) : null;
  }

  /**
   * A message with its conversation's participants, locking the conversation for an edit or an
   * unsend (so message:updated / message:deleted keep their order too). `admin` may see any
   * message; anyone else only those of their conversations. Null when not visible (no lock held).
   */
  async lockMessage(
    messageId: string,
    userId: string,
    access: { anyMessage: boolean; admin: boolean },
  ): Promise<{ lock: ConversationLock; access: MessageAccess } | null> {
    // Keyed by message locally: edits and unsends of one message queue here; the advisory lock
    // on the conversation orders them across nodes.
    const locked = await this.lockAndRead<
      MessageRow & {
        buyer_id: string;
        seller_id: string;
        listing_status: ListingStatus | null;
        blocked: boolean;
        contact_policy_applies: boolean;
      }
    >(
      `m:${messageId}`,
      "chat_message_lock",
      `SELECT pg_advisory_lock(${LOCK_KEY("c.id")}) AS locked,
              c.buyer_id, c.seller_id, l.status::text AS listing_status, ${BLOCKED_SQL} AS blocked,
              ${CONTACT_POLICY_APPLIES_SQL} AS contact_policy_applies, ${MESSAGE_COLUMNS}
       FROM messages m JOIN conversations c ON c.id = m.conversation_id LEFT JOIN listings l ON l.id = c.listing_id
       WHERE m.id = $1 AND ($3 OR ${VISIBLE_SQL("$2", "$4")})`,
      [messageId, userId, access.anyMessage, access.admin],
    );
    if (!locked) return null;
    const { lock, row } = locked;
    return {
      lock,
      access: {
        message: toMessageRecord(row),
        buyerId: row.buyer_id,
        sellerId: row.seller_id,
        listingStatus: row.listing_status,
        blocked: row.blocked,
        contactPolicyApplies: row.contact_policy_applies,
      },
    };
  }

  /**
   * An edit: the new content with its moderation effect (flags and masked text, detected again),
   * and the flag rows of what was found, in one statement.
   */
  async updateContent(
    lock: ConversationLock,
    message: { id: string; conversationId: string; senderId: string },
    content: string | null,
    type: MessageRecord["type"],
    moderation: { flags: string[]; masked: string | null; records: FlagDraft[] },
  ): Promise<MessageRecord> {
    const { rows } = await lock.client.query<MessageRow>(
      `WITH u AS (
         UPDATE messages SET content = $2, type = $3::message_type, edited_at = now(), flags = $4::text[], masked_content = $5
         WHERE id = $1 RETURNING *
       ), f AS (${INSERT_FLAGS_SQL("$6", "$7", "$1", "$8")})
       SELECT ${MESSAGE_COLUMNS} FROM u m`,
      [message.id, content, type, moderation.flags, moderation.masked, message.conversationId, message.senderId, JSON.stringify(moderation.records)],
    );
    return toMessageRecord(rows[0]!);
  }

  /** Flag rows of an edit that was refused (nothing changed). */
  async recordFlags(lock: ConversationLock, message: { id: string; conversationId: string; senderId: string }, records: FlagDraft[]): Promise<void> {
    await lock.client.query(INSERT_FLAGS_SQL("$1", "$2", "$3", "$4"), [message.conversationId, message.senderId, message.id, JSON.stringify(records)]);
  }

  /** Unsend: the tombstone stays; content and attachment rows go. Returns the storage keys to delete. */
  async softDelete(lock: ConversationLock, messageId: string): Promise<string[]> {
    const { rows } = await lock.client.query<{ keys: string[] | null }>(
      `WITH u AS (UPDATE messages SET content = NULL, deleted_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING id),
            gone AS (DELETE FROM attachments WHERE message_id IN (SELECT id FROM u) RETURNING storage_key, thumbnail_key)
       SELECT array_remove(array_agg(storage_key) || array_agg(thumbnail_key), NULL) AS keys FROM gone`,
      [messageId],
    );
    return rows[0]?.keys ?? [];
  }

  /** History page: `before` / `after` exclusive bounds on seq; items ascending. */
  async page(
    conversationId: string,
    opts: { limit: number; before?: number; after?: number },
  ): Promise<MessageRecord[]> {
    const params: unknown[] = [conversationId, opts.limit];
    let sql: string;
    if (opts.after !== undefined) {
      params.push(opts.after);
      sql = `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.conversation_id = $1 AND m.seq > $3 ORDER BY m.seq ASC LIMIT $2`;
    } else {
      const bound = opts.before !== undefined ? "AND m.seq < $3" : "";
      if (opts.before !== undefined) params.push(opts.before);
      sql = `SELECT * FROM (SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.conversation_id = $1 ${bound}
             ORDER BY m.seq DESC LIMIT $2) page ORDER BY seq ASC`;
    }
    const { rows } = await this.pool.query<MessageRow>(sql, params);
    return rows.map(toMessageRecord);
  }
}

interface SendRow {
  conversation_id: string;
  buyer_id: string;
  seller_id: string;
  listing_status: ListingStatus;
  sender_banned: boolean;
  blocked: boolean;
  existing: MessageRow | null;
  reply_ok: boolean;
  attachments: SendContext["attachments"];
  recent: SendContext["recent"] | null;
  contact_policy_applies: boolean;
  moderation_blocked: boolean;
  inserted: MessageRow | null;
  /** The offer variant only. */
  listing_currency?: string | null;
  pending_offer?: OfferContext["pending"];
  offer_raced?: boolean;
}

export type { AttachmentRecord };
