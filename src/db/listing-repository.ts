import type pg from "pg";
import type { ListingStatus, ListingView } from "../contract/shapes.js";

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

  /** Upserts the listing; its seller gets a placeholder user row if the marketplace has not pushed one yet. */
  async upsert(input: ListingInput): Promise<{ listing: ListingView & { sellerId: string }; created: boolean }> {
    const { rows } = await this.pool.query<{
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
    };
  }
}
