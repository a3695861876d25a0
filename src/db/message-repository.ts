// Message queries, including the send path: the hottest code in the service.
//
// Messages: appendBatch runs the batch statement (send-batch-sql.ts) for a batch of sends formed
// by chat/send-batcher.ts — one statement, its own transaction, however many sends (README,
// "Sending: group commit"). Nothing is held after it: delivering nodes keep the seq order.
//
// Offers: append runs the single-send statement (send-sql.ts), which takes the conversation's
// advisory lock (conversation-lock.ts) for the offer rules' reads and writes; the caller unlocks.
import type pg from "pg";
import { MESSAGE_COLUMNS, toMessageRecord, type MessageRow } from "./message-sql.js";
import type { AttachmentRecord, MessageRecord } from "./records.js";
import type { ListingStatus } from "../contract/shapes.js";
import { isUniqueViolation } from "./database.js";
import { KeyedMutex } from "./keyed-mutex.js";
import type { FlagDraft, SendModeration } from "./moderation-flag-repository.js";
import { BLOCKED_SQL, VISIBLE_SQL } from "./access-sql.js";
import { ConversationLock, statement } from "./conversation-lock.js";
import { SEND_BATCH_SQL, type BatchItemJson } from "./send-batch-sql.js";
import {
  CONTACT_POLICY_APPLIES_SQL,
  INSERT_FLAGS_SQL,
  LOCK_KEY,
  SEND_SQL_OFFER,
  SEND_SQL_OFFER_WEBHOOK,
} from "./send-sql.js";

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

/**
 * What one item of a batch came to (appendBatch). Nothing is held: the batch's statement is its
 * own transaction and ordering is kept by seq at the delivering nodes (README, "Ordering").
 */
export type BatchOutcome =
  | {
      kind: "stored";
      message: MessageRecord;
      context: SendContext;
      /** When the conversation's previous message was stored (null for seq 1): delivery ordering. */
      previousAt: Date | null;
    }
  | { kind: "existing"; message: MessageRecord }
  | { kind: "refused"; context: SendContext }
  /** The conversation is not the sender's to write in. */
  | { kind: "not_found" };

/** Most messages one gap fetch returns (a gap that long is a client's catch-up, not a reorder). */
const GAP_FETCH_LIMIT = 500;

/** How many times a batch is run again after another writer's commit made it fail as a whole. */
const BATCH_RETRIES = 3;

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
   * This node's in-process queue of a conversation, as append() (offers) takes it: the
   * listing-change worker takes it before the advisory locks, in the same order (embedded mode,
   * where advisory locks are re-entrant, has only this one to order them by).
   */
  acquireLocal(conversationId: string): Promise<() => void> {
    return this.local.acquire(`c:${conversationId}`);
  }

  /**
   * An offer: the single-send statement (see SEND_SQL), on a connection that then holds the
   * conversation's advisory lock. Null, holding nothing, when the conversation is not the
   * sender's to write in. (Messages go through appendBatch.)
   */
  async append(input: SendInput & { offer: OfferDraft }): Promise<SendOutcome | null> {
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
    const [name, sql] = webhook ? ["chat_send_offer_webhook", SEND_SQL_OFFER_WEBHOOK] : ["chat_send_offer", SEND_SQL_OFFER];
    let row: SendRow | undefined;
    try {
      ({ rows: [row] } = await client.query<SendRow>(
        statement(this.prepared, name, sql, [
          input.conversationId, input.senderId, input.clientId, input.content, input.replyToId, input.attachmentIds,
          input.moderation ? JSON.stringify(input.moderation) : null, input.admin,
          ...(webhook ? [input.unreadWebhookDelayMs] : []),
          JSON.stringify(input.offer),
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
      ...toSendContext(row, row.recent ?? []),
      offer: { listingCurrency: row.listing_currency ?? null, pending: row.pending_offer ?? null, raced: row.offer_raced ?? false },
    };
    if (row.inserted) return { kind: "stored", lock, message: toMessageRecord(row.inserted), context };
    if (context.existing) return { kind: "existing", lock, message: context.existing };
    return { kind: "refused", lock, context };
  }

  /**
   * Sends in one statement (send-batch-sql.ts), one outcome per input in the same order. Inputs
   * must not repeat a (conversation, sender, clientId) nor share an attachment (the batcher keeps
   * those apart). Offers are not batched (append()).
   *
   * A clientId committed by another node after the statement's snapshot fails the statement on
   * its unique key, and a lock cycle with a writer that does not lock in id order fails it as a
   * deadlock: either way nothing was written, and the batch runs again on a new snapshot.
   */
  async appendBatch(inputs: readonly SendInput[], unreadWebhookDelayMs: number | null, depth = 0): Promise<BatchOutcome[]> {
    const items: BatchItemJson[] = inputs.map((input, n) => ({
      n,
      conversation_id: input.conversationId,
      sender_id: input.senderId,
      admin: input.admin,
      client_id: input.clientId,
      content: input.content,
      reply_to_id: input.replyToId,
      attachment_ids: input.attachmentIds,
      moderation: input.moderation,
    }));
    const params = [JSON.stringify(items), unreadWebhookDelayMs];
    let rows: BatchRow[];
    for (let attempt = 0; ; attempt++) {
      try {
        ({ rows } = await this.pool.query<BatchRow>(statement(this.prepared, "chat_send_batch", SEND_BATCH_SQL, params)));
        break;
      } catch (err) {
        const retry = isUniqueViolation(err, "messages_conversation_id_sender_id_client_id_key") || isDeadlock(err);
        if (!retry || attempt >= BATCH_RETRIES) throw err;
      }
    }
    const outcomes = toBatchOutcomes(rows, inputs);
    // Refused because an attachment was claimed after the snapshot: by another message, or by
    // this clientId's own first attempt on another node. A new statement (new snapshot) tells.
    const stale = rows.flatMap((row, i) => (row.stale && outcomes[i]!.kind === "refused" ? [i] : []));
    if (stale.length > 0 && depth < BATCH_RETRIES) {
      const again = await this.appendBatch(stale.map((i) => inputs[i]!), unreadWebhookDelayMs, depth + 1);
      stale.forEach((i, k) => (outcomes[i] = again[k]!));
    }
    return outcomes;
  }

  /**
   * A conversation's messages with afterSeq < seq < beforeSeq (at or after `since` when given),
   * in seq order, with the conversation's two participants: what a delivering node missed.
   */
  async between(
    conversationId: string,
    afterSeq: number,
    beforeSeq: number,
    since: Date | null,
  ): Promise<{ message: MessageRecord; buyerId: string; sellerId: string }[]> {
    const { rows } = await this.pool.query<MessageRow & { buyer_id: string; seller_id: string }>(
      `SELECT ${MESSAGE_COLUMNS}, c.buyer_id, c.seller_id FROM messages m JOIN conversations c ON c.id = m.conversation_id
       WHERE m.conversation_id = $1 AND m.seq > $2 AND m.seq < $3 AND ($4::timestamptz IS NULL OR m.created_at >= $4)
       ORDER BY m.seq LIMIT ${GAP_FETCH_LIMIT}`,
      [conversationId, afterSeq, beforeSeq, since],
    );
    return rows.map((r) => ({ message: toMessageRecord(r), buyerId: r.buyer_id, sellerId: r.seller_id }));
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

interface BatchRow extends Omit<SendRow, "conversation_id" | "buyer_id" | "seller_id"> {
  n: number;
  stale: boolean;
  conversation_id: string | null;
  buyer_id: string | null;
  seller_id: string | null;
  previous_at: Date | string | null;
}

/** What the rules checked, as a send statement's row has it (single and batched alike). */
function toSendContext(row: Omit<SendRow, "conversation_id" | "inserted">, recent: SendContext["recent"]): SendContext {
  return {
    buyerId: row.buyer_id,
    sellerId: row.seller_id,
    listingStatus: row.listing_status,
    senderBanned: row.sender_banned,
    blocked: row.blocked,
    existing: row.existing ? toMessageRecord(row.existing) : null,
    replyOk: row.reply_ok,
    attachments: row.attachments,
    recent,
    contactPolicyApplies: row.contact_policy_applies,
    moderationBlocked: row.moderation_blocked,
  };
}

function isDeadlock(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === "40P01";
}

/**
 * The batch's rows as outcomes. `recent` (the two messages before each one, for numbers split
 * over consecutive messages) is read once per conversation before the batch; the batch's own
 * earlier messages in that conversation are added here.
 */
function toBatchOutcomes(rows: BatchRow[], inputs: readonly SendInput[]): BatchOutcome[] {
  const recentBy = new Map<string, SendContext["recent"]>();
  return rows.map((row): BatchOutcome => {
    if (row.conversation_id === null) return { kind: "not_found" };
    let recent = recentBy.get(row.conversation_id);
    if (!recent) recentBy.set(row.conversation_id, (recent = [...(row.recent ?? [])]));
    const context = toSendContext({ ...row, buyer_id: row.buyer_id!, seller_id: row.seller_id! }, recent.slice(-2));
    if (row.inserted) {
      const input = inputs[row.n]!;
      recent.push({ senderId: input.senderId, content: input.content });
      const previousAt = row.previous_at === null ? null : new Date(row.previous_at);
      return { kind: "stored", message: toMessageRecord(row.inserted), context, previousAt };
    }
    if (context.existing) return { kind: "existing", message: context.existing };
    return { kind: "refused", context };
  });
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
// The lock is part of what a send hands back to its caller.
export { ConversationLock };
