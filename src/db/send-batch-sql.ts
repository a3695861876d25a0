// The batched send statement (README, "Sending: group commit"): one statement writes a whole batch
// of sends, across any number of conversations, with every check and side write of a single send.
// MessageRepository.appendBatch runs it; chat/send-batcher.ts forms the batches.
//
// Parameters: $1 the items as a JSON array (BatchItemJson, in batch order: `n` is the position),
// $2 the delay of the recipient's message.unread webhook row in ms, or null when webhooks are off.
//
// How it stays correct with other writers (other nodes' batches, offers, listing changes):
// - seq: the conversations that get at least one message are locked FOR UPDATE in id order (lk;
//   every batch and the listing-change worker lock in id order, so two writers cannot deadlock;
//   a batch's attachments are locked before, also in id order: see att),
//   and last_seq moves by the number of messages stored in each. An UPDATE re-reads a row changed
//   since the statement's snapshot, so the seq never repeats or skips.
// - The checks read the statement's snapshot, as a single send's always did. A retry of a
//   clientId that another node committed after that snapshot makes the INSERT fail on its unique
//   key: the whole statement rolls back and the batch is run again (appendBatch), and the second
//   run sees the stored message. Nothing half-written, no seq lost.
// - Items refused by a rule write nothing but their moderation flag rows (as a single send).
import { ACTOR_SQL, BLOCKED_SQL, VISIBLE_SQL } from "./access-sql.js";
import { MESSAGE_COLUMNS } from "./message-sql.js";
import { CONTACT_POLICY_APPLIES_SQL, RESPONSE_SAMPLE_LIMIT } from "./send-sql.js";

/** One item of $1 (what SendInput becomes on the wire). */
export interface BatchItemJson {
  n: number;
  conversation_id: string;
  sender_id: string;
  admin: boolean;
  client_id: string;
  content: string | null;
  reply_to_id: string | null;
  attachment_ids: string[];
  moderation: unknown;
}

/** The moderation effect that holds for an item (`applied` while the contact policy applies). */
const EFFECT = (x: string) => `(${x}.moderation -> (CASE WHEN ${x}.contact_policy_applies THEN 'applied' ELSE 'otherwise' END))`;
const BLOCKED_BY_EFFECT = (x: string) => `COALESCE((${EFFECT(x)}->>'block')::boolean, false)`;

export const SEND_BATCH_SQL = `
WITH i AS MATERIALIZED (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(n int, conversation_id uuid, sender_id text, admin boolean,
    client_id uuid, content text, reply_to_id uuid, attachment_ids uuid[], moderation jsonb)
), att AS MATERIALIZED (
  -- The batch's attachments, locked in id order, as they are now: a claim committed by another
  -- node since the snapshot is seen (FOR UPDATE reads the latest row), so an upload is never
  -- taken by two messages. Every batch locks attachments before conversations.
  SELECT a.id, a.uploader_id, a.kind, a.message_id FROM attachments a
  WHERE a.id IN (SELECT unnest(i.attachment_ids) FROM i) ORDER BY a.id FOR UPDATE
), ctx AS MATERIALIZED (
  -- What the rules check, per item: on the statement's snapshot, but the attachments as locked. c is null when the conversation
  -- is not the sender's to write in (not found).
  SELECT i.*, c.id AS cid, c.kind::text AS kind, c.buyer_id, c.seller_id, c.last_activity_at AS conversation_activity_at,
         ${ACTOR_SQL("i.sender_id", "i.admin")} AS actor, l.status::text AS listing_status,
         COALESCE((SELECT banned_at IS NOT NULL FROM users WHERE id = i.sender_id), false) AS sender_banned,
         COALESCE(${BLOCKED_SQL}, false) AS blocked,
         (SELECT row_to_json(x) FROM (SELECT ${MESSAGE_COLUMNS} FROM messages m
            WHERE m.conversation_id = c.id AND m.sender_id = i.sender_id AND m.client_id = i.client_id) x) AS existing,
         (i.reply_to_id IS NULL OR EXISTS (SELECT 1 FROM messages r WHERE r.id = i.reply_to_id AND r.conversation_id = c.id)) AS reply_ok,
         COALESCE((SELECT json_agg(json_build_object('id', a.id, 'kind', a.kind, 'free', a.message_id IS NULL))
                   FROM att a WHERE a.id = ANY(i.attachment_ids) AND a.uploader_id = i.sender_id), '[]'::json) AS attachments,
         cl.n AS claimable, cl.images, cl.files,
         -- An attachment claimed since the snapshot: perhaps by this very clientId on another
         -- node, which the snapshot cannot show. appendBatch runs such an item again.
         EXISTS (SELECT 1 FROM attachments s JOIN att ON att.id = s.id
                 WHERE s.id = ANY(i.attachment_ids) AND s.message_id IS NULL AND att.message_id IS NOT NULL) AS stale,
         -- The conversation's two latest messages before the batch (split numbers, chat/contact-policy.ts).
         (SELECT json_agg(json_build_object('senderId', t.sender_id, 'content', t.content) ORDER BY t.seq)
            FROM messages t WHERE t.conversation_id = c.id AND t.seq > c.last_seq - 2) AS recent,
         COALESCE(${CONTACT_POLICY_APPLIES_SQL}, false) AS contact_policy_applies
  FROM i
  LEFT JOIN conversations c ON c.id = i.conversation_id AND ${VISIBLE_SQL("i.sender_id", "i.admin")}
  LEFT JOIN listings l ON l.id = c.listing_id
  CROSS JOIN LATERAL (
    SELECT count(*) AS n, bool_and(a.kind = 'image') AS images, bool_and(a.kind = 'file') AS files
    FROM att a WHERE a.id = ANY(i.attachment_ids) AND a.uploader_id = i.sender_id AND a.message_id IS NULL
  ) cl
), ok AS MATERIALIZED (
  -- The items every rule lets through, numbered per conversation in batch order.
  SELECT ctx.*, row_number() OVER (PARTITION BY ctx.cid ORDER BY ctx.n) AS rank
  FROM ctx
  WHERE ctx.cid IS NOT NULL AND NOT ctx.sender_banned AND NOT ctx.blocked
    AND ctx.listing_status IS DISTINCT FROM 'deleted' AND ctx.reply_ok AND ctx.existing IS NULL
    AND ctx.claimable = cardinality(ctx.attachment_ids) AND NOT ${BLOCKED_BY_EFFECT("ctx")}
), per AS (
  -- Per conversation: how many messages, and what they do to the buyer's wait (response time).
  SELECT ok.cid, count(*) AS cnt,
         bool_or(ok.kind = 'listing' AND ok.sender_id = ok.seller_id) AS seller_wrote,
         (array_agg(ok.kind = 'listing' AND ok.sender_id = ok.buyer_id ORDER BY ok.rank DESC))[1] AS buyer_wrote_last,
         min(ok.rank) FILTER (WHERE ok.kind = 'listing' AND ok.sender_id = ok.buyer_id)
           < min(ok.rank) FILTER (WHERE ok.kind = 'listing' AND ok.sender_id = ok.seller_id) AS buyer_before_seller
  FROM ok GROUP BY ok.cid
), lk AS MATERIALIZED (
  -- The conversations' rows, locked in id order.
  SELECT w.id, w.buyer_waiting_since AS prior_wait, w.last_activity_at AS prior_activity
  FROM conversations w WHERE w.id IN (SELECT cid FROM per) ORDER BY w.id FOR UPDATE
), c AS (
  -- Response time (README): a buyer's message starts the wait unless one is running; the seller's
  -- next message ends it. One sample per conversation and batch: the seller's first message in it.
  UPDATE conversations SET last_seq = conversations.last_seq + per.cnt, last_activity_at = now(), updated_at = now(),
         buyer_waiting_since = CASE
           WHEN conversations.kind <> 'listing' THEN NULL
           WHEN per.buyer_wrote_last THEN (CASE WHEN per.seller_wrote THEN now() ELSE COALESCE(lk.prior_wait, now()) END)
           WHEN per.seller_wrote THEN NULL
           ELSE lk.prior_wait END
  FROM per JOIN lk ON lk.id = per.cid
  WHERE conversations.id = per.cid
  RETURNING conversations.id, conversations.last_seq - per.cnt AS base_seq, conversations.last_activity_at,
            conversations.seller_id, lk.prior_activity,
            CASE WHEN per.seller_wrote THEN COALESCE(lk.prior_wait, CASE WHEN per.buyer_before_seller THEN now() END) END AS answered_wait
), m AS (
  INSERT INTO messages (conversation_id, seq, sender_id, client_id, type, content, reply_to_id, created_at, flags, masked_content)
  SELECT c.id, c.base_seq + ok.rank, ok.sender_id, ok.client_id,
         (CASE WHEN ok.claimable = 0 THEN 'text' WHEN ok.content IS NOT NULL THEN 'mixed'
               WHEN ok.images THEN 'image' WHEN ok.files THEN 'file' ELSE 'mixed' END)::message_type,
         ok.content, ok.reply_to_id, c.last_activity_at,
         ARRAY(SELECT jsonb_array_elements_text(COALESCE(${EFFECT("ok")}->'flags', '[]'::jsonb))),
         ${EFFECT("ok")}->>'masked'
  FROM ok JOIN c ON c.id = ok.cid
  RETURNING *
), mi AS (
  -- Each stored message beside its item.
  SELECT m.*, ok.n, ok.actor, ok.attachment_ids, ok.kind AS conversation_kind, ok.buyer_id, ok.seller_id,
         CASE WHEN ok.rank > 1 THEN c.last_activity_at WHEN c.base_seq > 0 THEN c.prior_activity END AS previous_at
  FROM m JOIN ok ON ok.cid = m.conversation_id AND ok.sender_id = m.sender_id AND ok.client_id = m.client_id
  JOIN c ON c.id = m.conversation_id
), pointer AS (
  UPDATE participants SET last_read_seq = x.seq, last_read_at = now(), system_skipped = 0
  FROM (SELECT conversation_id, actor, max(seq) AS seq FROM mi GROUP BY conversation_id, actor) x
  WHERE participants.conversation_id = x.conversation_id AND participants.user_id = x.actor
), sample AS (
  INSERT INTO response_samples (seller_id, seconds, responded_at)
  SELECT c.seller_id, GREATEST(0, round(extract(epoch FROM c.last_activity_at - c.answered_wait)))::int, c.last_activity_at
  FROM c WHERE c.answered_wait IS NOT NULL
  RETURNING seller_id, seconds
), median AS (
  UPDATE users SET response_time_seconds = (
    SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY s.seconds))::int FROM (
      (SELECT r.seconds FROM response_samples r WHERE r.seller_id = users.id AND r.responded_at > now() - interval '30 days'
       ORDER BY r.responded_at DESC LIMIT ${RESPONSE_SAMPLE_LIMIT - 1})
      UNION ALL SELECT sample.seconds FROM sample WHERE sample.seller_id = users.id) s)
  WHERE users.id IN (SELECT seller_id FROM sample)
), a AS (
  UPDATE attachments SET message_id = mi.id, position = array_position(mi.attachment_ids, attachments.id)
  FROM mi
  WHERE attachments.id = ANY(mi.attachment_ids) AND attachments.uploader_id = mi.sender_id AND attachments.message_id IS NULL
  RETURNING attachments.id, attachments.message_id, attachments.kind, attachments.mime_type, attachments.name, attachments.size,
            attachments.width, attachments.height, attachments.thumbnail_key, attachments.position
), flagged AS (
  -- GET /api/admin/flags rows: for stored messages, and for items refused by moderation alone.
  INSERT INTO moderation_flags (rule, action, conversation_id, sender_id, message_id, kinds, spans, reason)
  SELECT (r->>'rule')::flag_rule,
         (CASE WHEN r->>'rule' = 'contact_info' AND NOT ctx.contact_policy_applies THEN 'recorded' ELSE r->>'action' END)::flag_action,
         ctx.cid, ctx.sender_id, mi.id,
         ARRAY(SELECT jsonb_array_elements_text(r->'kinds')), r->'spans', r->>'reason'
  FROM ctx LEFT JOIN mi ON mi.n = ctx.n
  CROSS JOIN LATERAL jsonb_array_elements(COALESCE(ctx.moderation->'flags', '[]'::jsonb)) r
  WHERE ctx.cid IS NOT NULL
    AND (mi.id IS NOT NULL
         OR (ctx.existing IS NULL AND NOT ctx.sender_banned AND NOT ctx.blocked AND ${BLOCKED_BY_EFFECT("ctx")}))
), w AS (
  -- The recipient's message.unread outbox row (see UNREAD_WEBHOOK_CTE in send-sql.ts): commits
  -- with the message or not at all. The team of a support conversation has no device to reach.
  INSERT INTO webhook_deliveries (type, payload, due_at)
  SELECT 'message.unread',
         jsonb_build_object('userId', CASE WHEN mi.buyer_id = mi.actor THEN mi.seller_id ELSE mi.buyer_id END,
                            'conversationId', mi.conversation_id, 'messageId', mi.id, 'seq', mi.seq),
         mi.created_at + $2::int * interval '1 millisecond'
  FROM mi
  WHERE $2::int IS NOT NULL AND (mi.conversation_kind = 'listing' OR mi.buyer_id <> mi.actor)
)
SELECT ctx.n, ctx.stale, ctx.cid AS conversation_id, ctx.buyer_id, ctx.seller_id, ctx.listing_status, ctx.sender_banned, ctx.blocked,
       ctx.existing, ctx.reply_ok, ctx.attachments, ctx.recent, ctx.contact_policy_applies,
       ${BLOCKED_BY_EFFECT("ctx")} AS moderation_blocked,
       mi.previous_at,
       CASE WHEN mi.id IS NOT NULL THEN json_build_object(
         'id', mi.id, 'conversation_id', mi.conversation_id, 'seq', mi.seq, 'sender_id', mi.sender_id,
         'client_id', mi.client_id, 'type', mi.type::text, 'content', mi.content, 'reply_to_id', mi.reply_to_id,
         'created_at', mi.created_at, 'edited_at', mi.edited_at, 'deleted_at', mi.deleted_at,
         'flags', COALESCE(mi.flags, '{}'), 'masked_content', mi.masked_content,
         'attachments', COALESCE((SELECT json_agg(json_build_object(
             'id', a.id, 'kind', a.kind, 'mimeType', a.mime_type, 'name', a.name, 'size', a.size,
             'width', a.width, 'height', a.height, 'hasThumbnail', a.thumbnail_key IS NOT NULL
           ) ORDER BY a.position) FROM a WHERE a.message_id = mi.id), '[]'::json),
         'reactions', '[]'::json) END AS inserted
FROM ctx LEFT JOIN mi ON mi.n = ctx.n
ORDER BY ctx.n`;
