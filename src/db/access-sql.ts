// Who may see a conversation, and as which participant, in SQL over a conversation alias `c`.
// One place for the rule every query shares (API.md, "Support conversations"): the buyer sees a
// conversation at once; the seller from its first message on; in a support conversation every
// admin acts as the team, the pseudo-user `support` that is its seller (they see it at once, read
// and move the team's read pointer), while a message they send still carries their own id.
//
// `user` and `admin` are SQL expressions (parameters like "$2", "$4", or literals): the caller's
// id, and whether the caller's token has the admin role.

/** The participant the caller acts as: themselves, or the team for an admin in someone else's support conversation. */
export const ACTOR_SQL = (user: string, admin: string) =>
  `(CASE WHEN ${admin}::boolean AND c.kind = 'support' AND c.buyer_id <> ${user} THEN c.seller_id ELSE ${user} END)`;

/** Whether the caller may see conversation `c` (and so read, write and react in it). */
export const VISIBLE_SQL = (user: string, admin: string) =>
  `(c.buyer_id = ${user} OR (c.seller_id = ${user} AND c.last_seq > 0) OR (${admin}::boolean AND c.kind = 'support'))`;

/**
 * Whether conversation `c`'s two people blocked each other. Support conversations are never
 * blocked: the team is not a person one can block, and a user must always reach it.
 */
export const BLOCKED_SQL = `(c.kind = 'listing' AND EXISTS (SELECT 1 FROM blocks k
   WHERE (k.blocker_id = c.buyer_id AND k.blocked_id = c.seller_id) OR (k.blocker_id = c.seller_id AND k.blocked_id = c.buyer_id)))`;
