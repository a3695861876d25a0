// The marketplace backend owns users and listings and pushes them here (service role).
//
// What listing changes mean for conversations (README, "Marketplace sync"):
// - a new sellerId: existing conversations stay between the buyer and the seller they talked
//   with; a buyer who opens the listing again gets a new conversation with the new seller.
// - status sold/reserved: conversations stay open (pick-up, payment and feedback still happen);
//   the status travels in every Conversation so the app can show it.
// - status deleted: conversations become read-only (sending is `conflict`), history stays.
// - a price or status change is announced in each conversation that has a message, as a system
//   message written in the background (chat/listing-change-worker.ts).
import type { ListingRepository } from "../db/listing-repository.js";
import type { UserRepository } from "../db/user-repository.js";
import { listingInput, parse, userInput, externalId } from "./schemas.js";
import { SUPPORT_USER_ID, type ListingView, type UserView } from "../contract/shapes.js";
import { notFound, invalid } from "../errors/errors.js";

export class MarketplaceService {
  constructor(
    private readonly users: UserRepository,
    private readonly listings: ListingRepository,
    /** Wakes this node's listing-change worker when a PUT recorded a price or status change. */
    private readonly onListingChanged: () => void = () => undefined,
  ) {}

  async putUser(id: string, body: unknown): Promise<{ user: UserView; created: boolean }> {
    if (!externalId.safeParse(id).success) throw notFound("user");
    const input = parse(userInput, body);
    // The team of support conversations: its name is SUPPORT_NAME, not the marketplace's.
    if (id === SUPPORT_USER_ID) throw invalid(`id: "${SUPPORT_USER_ID}" is reserved for the support team`);
    return this.users.upsert(id, input.name, input.avatarUrl ?? null);
  }

  async putListing(id: string, body: unknown): Promise<{ listing: ListingView & { sellerId: string }; created: boolean }> {
    if (!externalId.safeParse(id).success) throw notFound("listing");
    const input = parse(listingInput, body);
    if (input.sellerId === SUPPORT_USER_ID) throw invalid(`sellerId: "${SUPPORT_USER_ID}" is reserved for the support team`);
    const { listing, created, changes } = await this.listings.upsert({
      id,
      sellerId: input.sellerId,
      title: input.title,
      imageUrl: input.imageUrl ?? null,
      priceCents: input.priceCents ?? null,
      currency: input.currency ?? null,
      status: input.status,
    });
    // The PUT answers now; the system messages are written in the background (README, "Listing changes in the thread").
    if (changes > 0) this.onListingChanged();
    return { listing, created };
  }
}
