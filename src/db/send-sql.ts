// The single-send statement and its parts (README, "Offers", "Response time"): one SQL statement
// takes the conversation's advisory lock, checks everything the rules need and, when all is well,
// writes an offer's message with everything that goes with it; MessageRepository.append runs it.
// Messages go in batches (send-batch-sql.ts), which share the policy and response-time parts here.
import { ACTOR_SQL, BLOCKED_SQL, VISIBLE_SQL } from "./access-sql.js";
import { MESSAGE_COLUMNS } from "./message-sql.js";
import { OFFER_VIEW_SQL, OFFER_WEBHOOK_DATA_SQL, PENDING_OFFER_SQL } from "./offer-sql.js";

/** The advisory lock key of a conversation (any two conversations colliding just share a queue). */
export const LOCK_KEY = (conversationIdSql: string) => `hashtextextended(${conversationIdSql}::text, 0)`;

/**
 * The webhook outbox row for the recipient, in the send's one write statement, so it
 * commits with the message or not at all. It holds a reference only: the delivery worker checks,
 * when it is due, that the message is still unread and the recipient offline, and renders the
 * conversation and message as they are then (src/db/webhook-repository.ts).
 */
export const UNREAD_WEBHOOK_CTE = `, w AS (
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
export const OFFER_ACCEPTED_SQL = (conversation: string) => `${conversation}.offer_accepted_at IS NOT NULL`;

/**
 * Whether the contact-detail policy applies to a message in conversation `c` about listing `l`:
 * while the listing is active and no offer was accepted. The send statement decides it under the
 * conversation's lock; edits read it with the message (lockMessage).
 */
export const CONTACT_POLICY_APPLIES_SQL = `COALESCE(l.status = 'active' AND NOT ${OFFER_ACCEPTED_SQL("c")}, false)`;

/**
 * The moderation effect ($7, a SendModeration as JSON, or null) that holds for this message:
 * `applied` while the contact policy applies, `otherwise` when it does not.
 */
export const EFFECT_SQL = `($7::jsonb -> (CASE WHEN ctx.contact_policy_applies THEN 'applied' ELSE 'otherwise' END))`;

/**
 * Rows for GET /api/admin/flags, written when the message is stored or refused by moderation
 * (nothing else stored): a contact detail found while the policy does not apply is "recorded".
 */
export const FLAGS_CTE = `, flagged AS (
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
export const INSERT_FLAGS_SQL = (conversation: string, sender: string, message: string, records: string) => `
  INSERT INTO moderation_flags (rule, action, conversation_id, sender_id, message_id, kinds, spans, reason)
  SELECT (r->>'rule')::flag_rule, (r->>'action')::flag_action, ${conversation}::uuid, ${sender}, ${message}::uuid,
         ARRAY(SELECT jsonb_array_elements_text(r->'kinds')), r->'spans', r->>'reason'
  FROM jsonb_array_elements(${records}::jsonb) r`;

// ---- The offer parts of the single-send statement (README, "Offers") --------------------------

/** The offer's parameter (an OfferDraft as JSON): after the webhook delay when there is one. */
export const offerParam = (webhook: boolean) => (webhook ? "$10::jsonb" : "$9::jsonb");

/** What the offer rules read, under the same lock and snapshot as the rest of ctx. */
export const OFFER_CTX_COLUMNS = `,
         l.currency AS listing_currency, c.listing_id, ${PENDING_OFFER_SQL("c")} AS pending_offer`;

/**
 * The offer rules, checked with the others: the listing active, the offer in its currency, and for
 * a counter the pending offer the other participant's and live. Whether another offer is pending
 * is not read here but left to the insert (o below): ctx's snapshot was taken before the lock was
 * granted, and an offer declined meanwhile must not refuse a new one.
 */
export const OFFER_CHECKS = (p: string) => `
    AND ctx.listing_status = 'active' AND ctx.listing_currency IS NOT DISTINCT FROM (${p}->>'currency')
    AND (${p}->>'respondsToOfferId' IS NULL
         OR (ctx.pending_offer->>'id' = ${p}->>'respondsToOfferId' AND ctx.pending_offer->>'byUserId' <> $2
             AND (ctx.pending_offer->>'live')::boolean))`;

/**
 * prev: a counter moves the offer it answers to countered, re-checked under the row lock (an
 * accept committed meanwhile on another node wins; then nothing is written). o: the new offer,
 * inserted before its message (the foreign key is checked at the end of the statement): another
 * pending offer in the conversation is a conflict on the one-pending-offer index, judged on the
 * latest committed rows (waiting for a decision in flight), that writes nothing (ON CONFLICT DO
 * NOTHING) rather than failing. ok: the checks passed and the offer is in, so the conversation's
 * next seq is taken.
 */
export const OFFER_CTES = (p: string) => `, prev AS (
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
export const OFFER_WEBHOOK_CTE = (p: string) => `, ow AS (
  INSERT INTO webhook_deliveries (type, payload)
  SELECT 'offer.countered', ${OFFER_WEBHOOK_DATA_SQL("prev", "ctx", "$2")} || jsonb_build_object('counterOffer', ${OFFER_VIEW_SQL("o")})
  FROM prev, o, ctx WHERE (${p}->>'webhooks')::boolean
  UNION ALL
  SELECT 'offer.created', ${OFFER_WEBHOOK_DATA_SQL("o", "ctx", "$2")}
  FROM o, ctx WHERE (${p}->>'webhooks')::boolean
)`;

export const OFFER_RESULT_COLUMNS = `
       ctx.listing_currency, ctx.pending_offer, (EXISTS (SELECT 1 FROM ok0) AND NOT EXISTS (SELECT 1 FROM o)) AS offer_raced,`;

/**
 * The seller's reply that ends a buyer's wait (c.answered_wait set: at most once per wait) records
 * a response sample and recomputes the seller's median over their latest RESPONSE_SAMPLE_LIMIT
 * samples of the last 30 days (an index range on response_samples (seller_id, responded_at)).
 * Nothing runs for any other message (README, "Response time").
 */
export const RESPONSE_SAMPLE_LIMIT = 1000;
export const RESPONSE_TIME_CTES = `, sample AS (
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
 * The single-send statement, used for offers (messages go in batches: send-batch-sql.ts). \`ctx\` reads what the rules check and takes the advisory lock: it is
 * evaluated before the UPDATE can lock the conversation row (the UPDATE joins it), so every send
 * takes the advisory lock first and the row lock second, and two sends cannot deadlock. The
 * checks read the statement's snapshot, taken before the lock was granted; the seq does not
 * depend on it (an UPDATE re-reads a row changed meanwhile), and a clientId stored meanwhile
 * makes the INSERT fail on its unique key (handled in append()). The message type follows
 * messageType() in chat/message-service.ts, here because the attachment kinds are only known here.
 */
export const SEND_SQL = (webhook: boolean) => `
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
         ${CONTACT_POLICY_APPLIES_SQL} AS contact_policy_applies${OFFER_CTX_COLUMNS}
  FROM conversations c LEFT JOIN listings l ON l.id = c.listing_id
  WHERE c.id = $1 AND ${VISIBLE_SQL("$2", "$8")}
), claimable AS (
  SELECT count(*) AS n, bool_and(a.kind = 'image') AS images, bool_and(a.kind = 'file') AS files
  FROM attachments a WHERE a.id = ANY($6::uuid[]) AND a.uploader_id = $2 AND a.message_id IS NULL
), ok0 AS (
  SELECT ctx.*, claimable.* FROM ctx, claimable
  WHERE NOT ctx.sender_banned AND NOT ctx.blocked AND ctx.listing_status IS DISTINCT FROM 'deleted' AND ctx.reply_ok
    AND ctx.existing IS NULL AND claimable.n = cardinality($6::uuid[])
    AND NOT COALESCE((${EFFECT_SQL}->>'block')::boolean, false)${OFFER_CHECKS(offerParam(webhook))}
)${OFFER_CTES(offerParam(webhook))}, c AS (
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
  INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, type, content, reply_to_id, created_at, flags, masked_content)
  SELECT ok.offer_message_id, c.id, c.last_seq, $2, $3,
         'offer'::message_type,
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
)${FLAGS_CTE}${webhook ? UNREAD_WEBHOOK_CTE : ""}${OFFER_WEBHOOK_CTE(offerParam(webhook))}
SELECT ctx.id AS conversation_id, ctx.buyer_id, ctx.seller_id, ctx.listing_status, ctx.sender_banned, ctx.blocked,
       ctx.existing, ctx.reply_ok, ctx.attachments, ctx.recent, ctx.contact_policy_applies,${OFFER_RESULT_COLUMNS}
       COALESCE((${EFFECT_SQL}->>'block')::boolean, false) AS moderation_blocked,
       (SELECT row_to_json(x) FROM (
          SELECT m.id, m.conversation_id, m.seq, m.sender_id, m.client_id, m.type::text AS type, m.content,
                 m.reply_to_id, m.created_at, m.edited_at, m.deleted_at, COALESCE(m.flags, '{}') AS flags, m.masked_content,
                 COALESCE((SELECT json_agg(json_build_object(
                   'id', a.id, 'kind', a.kind, 'mimeType', a.mime_type, 'name', a.name, 'size', a.size,
                   'width', a.width, 'height', a.height, 'hasThumbnail', a.thumbnail_key IS NOT NULL
                 ) ORDER BY a.position) FROM a), '[]'::json) AS attachments,
                 '[]'::json AS reactions, (SELECT ${OFFER_VIEW_SQL("o")} FROM o) AS offer
          FROM m) x) AS inserted
FROM ctx`;
export const SEND_SQL_OFFER = SEND_SQL(false);
export const SEND_SQL_OFFER_WEBHOOK = SEND_SQL(true);

export const UNLOCK_SQL = `SELECT pg_advisory_unlock(${LOCK_KEY("$1::uuid")})`;
