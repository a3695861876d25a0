// SQL pieces of offers (API.md, "Offers"; README, "Offers"), shared by the send statement's offer
// variant (message-repository.ts: making and countering an offer are sends) and the transitions
// and the expiry sweep (offer-repository.ts).
//
// Every state change is a conditional UPDATE (… WHERE status = 'pending' AND expires_at > now()):
// two nodes racing (accept against withdraw, a counter against the sweeper) each re-check the row
// under its row lock, so exactly one of them changes it and the other finds nothing to update.
// The webhook outbox row of a change is written by the same statement, so it exists if and only
// if the change committed.

/** A timestamptz as the ISO 8601 string the API uses everywhere (…T…Z, milliseconds). */
export const ISO_SQL = (expr: string) => `to_char(${expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** An offers row of alias `o` as the contract's Offer (jsonb). */
export const OFFER_VIEW_SQL = (o: string) => `jsonb_build_object(
  'id', ${o}.id, 'amountCents', ${o}.amount_cents, 'currency', ${o}.currency, 'status', ${o}.status,
  'byUserId', ${o}.by_user_id, 'respondsToOfferId', ${o}.responds_to_offer_id, 'expiresAt', ${ISO_SQL(`${o}.expires_at`)})`;

/**
 * The `data` of an offer.* webhook: the offer as it is after the change, where it lives and who
 * did it (null: the service itself, for offer.expired). `conv` is a conversations row.
 */
export const OFFER_WEBHOOK_DATA_SQL = (o: string, conv: string, actor: string) => `jsonb_build_object(
  'offer', ${OFFER_VIEW_SQL(o)}, 'messageId', ${o}.message_id, 'conversationId', ${o}.conversation_id,
  'listingId', ${conv}.listing_id, 'buyerId', ${conv}.buyer_id, 'sellerId', ${conv}.seller_id, 'actorId', ${actor})`;

/** The pending offer of conversation `c` (at most one: a partial unique index), as JSON, or null. */
export const PENDING_OFFER_SQL = (c: string) => `(SELECT json_build_object('id', p.id, 'byUserId', p.by_user_id, 'live', p.expires_at > now())
   FROM offers p WHERE p.conversation_id = ${c}.id AND p.status = 'pending')`;

/** The statuses a person can move a pending offer to (expired is the sweeper's, countered the counter's). */
export type OfferDecision = "accepted" | "declined" | "withdrawn";
