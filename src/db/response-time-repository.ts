// Sellers' response time (README, "Response time"). Samples are written by the send statement
// (message-repository.ts: the seller's reply that ends a buyer's wait), which also recomputes that
// seller's median. What the send path cannot see is time passing: a sample leaving the 30-day
// window. The sweep deletes those and recomputes the median of each seller who lost one, so
// `users.response_time_seconds` never reads samples older than 30 days for longer than the sweep
// interval, and becomes null when a seller has none left.
import type pg from "pg";
import { RESPONSE_SAMPLE_LIMIT } from "./send-sql.js";

/** Samples deleted per sweep statement; a sweep repeats until fewer are left. */
const SWEEP_BATCH = 5000;

export class ResponseTimeRepository {
  constructor(private readonly pool: pg.Pool) {}

  /** One sweep: returns how many samples were deleted. SKIP LOCKED: nodes sweeping at once split the rows. */
  async sweep(): Promise<number> {
    let total = 0;
    for (;;) {
      const { rows } = await this.pool.query<{ n: number }>(
        `WITH gone AS (
           DELETE FROM response_samples WHERE id IN (
             SELECT id FROM response_samples WHERE responded_at <= now() - interval '30 days'
             ORDER BY responded_at LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED)
           RETURNING seller_id
         ), sellers AS (SELECT DISTINCT seller_id FROM gone), redone AS (
           UPDATE users u SET response_time_seconds = (
             SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY s.seconds))::int FROM (
               SELECT r.seconds FROM response_samples r WHERE r.seller_id = u.id AND r.responded_at > now() - interval '30 days'
               ORDER BY r.responded_at DESC LIMIT ${RESPONSE_SAMPLE_LIMIT}) s)
           FROM sellers WHERE u.id = sellers.seller_id
         )
         SELECT count(*)::int AS n FROM gone`,
      );
      const n = rows[0]!.n;
      total += n;
      if (n < SWEEP_BATCH) return total;
    }
  }
}
