// The marketplace backend owns users and listings and pushes them here (service role).
//
// What listing changes mean for conversations (README, "Marketplace sync"):
// - a new sellerId: existing conversations stay between the buyer and the seller they talked
//   with; a buyer who opens the listing again gets a new conversation with the new seller.
// - status sold/reserved: conversations stay open (pick-up, payment and feedback still happen);
//   the status travels in every Conversation so the app can show it.
// - status deleted: conversations become read-only (sending is `conflict`), history stays.
import type { ListingRepository } from "../db/listing-repository.js";
import type { UserRepository } from "../db/user-repository.js";
import { listingInput, parse, userInput, externalId } from "./schemas.js";
import type { ListingView, UserView } from "../contract/shapes.js";
import { notFound } from "../errors/errors.js";

export class MarketplaceService {
  constructor(
    private readonly users: UserRepository,
    private readonly listings: ListingRepository,
  ) {}

  async putUser(id: string, body: unknown): Promise<{ user: UserView; created: boolean }> {
    if (!externalId.safeParse(id).success) throw notFound("User not found");
    const input = parse(userInput, body);
    return this.users.upsert(id, input.name, input.avatarUrl ?? null);
  }

  async putListing(id: string, body: unknown): Promise<{ listing: ListingView & { sellerId: string }; created: boolean }> {
    if (!externalId.safeParse(id).success) throw notFound("Listing not found");
    const input = parse(listingInput, body);
    return this.listings.upsert({
      id,
      sellerId: input.sellerId,
      title: input.title,
      imageUrl: input.imageUrl ?? null,
      priceCents: input.priceCents ?? null,
      currency: input.currency ?? null,
      status: input.status,
    });
  }
}
