import type pg from "pg";
import type { ListingStatus, ListingView } from "../contract/shapes.js";
import { recordChanges, type ListingBefore } from "./listing-change-repository.js";

export interface ListingInput {
  id: string;
  sellerId: string;
  title: string;
  imageUrl: string | null;
  priceCents: number | null;
  currency: string | null;
  /** Omitted on update keeps the stored status; a new listing starts `active`. */
  status: ListingStatus | undefined;
}

export class ListingRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Upserts the listing; its seller gets a placeholder user row if the marketplace has not pushed
   * one yet. A price or status change is recorded as listing_changes rows in the same transaction
   * (db/listing-change-repository.ts), read against the row locked before the update.
   * `changes`: how many were recorded (the caller wakes its worker).
   */
  async upsert(input: ListingInput): Promise<{ listing: ListingView & { sellerId: string }; created: boolean; changes: number }> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const result = await this.upsertOn(client, input);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  private async upsertOn(client: pg.PoolClient, input: ListingInput): Promise<{ listing: ListingView & { sellerId: string }; created: boolean; changes: number }> {
    const { rows: prior } = await client.query<{ price_cents: number | null; currency: string | null; status: ListingStatus }>(
      `SELECT price_cents, currency, status::text AS status FROM listings WHERE id = $1 FOR UPDATE`,
      [input.id],
    );
    const { rows } = await client.query<{
      id: string;
      seller_id: string;
      title: string;
      image_url: string | null;
      price_cents: number | null;
      currency: string | null;
      status: ListingStatus;
      created: boolean;
    }>(
      `WITH seller AS (
         INSERT INTO users (id) VALUES ($2) ON CONFLICT (id) DO NOTHING
       )
       INSERT INTO listings (id, seller_id, title, image_url, price_cents, currency, status)
       VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7::listing_status, 'active'))
       ON CONFLICT (id) DO UPDATE SET
         seller_id = EXCLUDED.seller_id, title = EXCLUDED.title, image_url = EXCLUDED.image_url,
         price_cents = EXCLUDED.price_cents, currency = EXCLUDED.currency,
         status = COALESCE($7::listing_status, listings.status), updated_at = now()
       RETURNING id, seller_id, title, image_url, price_cents, currency, status::text AS status, (xmax = 0) AS created`,
      [input.id, input.sellerId, input.title, input.imageUrl, input.priceCents, input.currency, input.status ?? null],
    );
    const r = rows[0]!;
    const before: ListingBefore | undefined = prior[0] && { priceCents: prior[0].price_cents, currency: prior[0].currency, status: prior[0].status };
    const changes = before
      ? await recordChanges(client, r.id, before, { priceCents: r.price_cents, currency: r.currency, status: r.status })
      : 0;
    return {
      listing: {
        id: r.id,
        sellerId: r.seller_id,
        title: r.title,
        imageUrl: r.image_url,
        priceCents: r.price_cents,
        currency: r.currency,
        status: r.status,
      },
      created: r.created,
      changes,
    };
  }
}
