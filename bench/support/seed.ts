// Marketplace fixtures over the public HTTP API, as the marketplace's backend would push them:
// users and listings with a service token, then the conversation opened by the buyer.
import { serviceToken, token } from "../../test/support/tokens.js";
import type { BenchPair } from "../load/chat-load-worker.js";

const ATTEMPTS = 4;

/** One request; a 5xx or 429 (a machine too busy for a pool checkout in time) is tried again. */
async function call(url: string, method: string, jwt: string, body: unknown): Promise<{ id?: string }> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${jwt}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (res.status < 300) return (await res.json()) as { id?: string };
    const text = await res.text();
    if (attempt >= ATTEMPTS || (res.status < 500 && res.status !== 429)) {
      throw new Error(`${method} ${new URL(url).pathname}: ${res.status} ${text}`);
    }
    await new Promise((r) => setTimeout(r, 250 * attempt));
  }
}

/**
 * `count` buyer/seller pairs, each with a listing and an open conversation, named after `tag`;
 * the requests are spread over the given nodes.
 */
export async function seedPairs(baseUrls: string[], tag: string, count: number, concurrency = 12): Promise<BenchPair[]> {
  const service = serviceToken();
  const pairs: BenchPair[] = new Array(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const baseUrl = baseUrls[i % baseUrls.length]!;
      const buyer = `${tag}-b${i}`;
      const seller = `${tag}-s${i}`;
      const listing = `${tag}-l${i}`;
      await call(`${baseUrl}/api/internal/users/${buyer}`, "PUT", service, { name: `Buyer ${i}` });
      await call(`${baseUrl}/api/internal/users/${seller}`, "PUT", service, { name: `Seller ${i}` });
      await call(`${baseUrl}/api/internal/listings/${listing}`, "PUT", service, { sellerId: seller, title: `Bench listing ${i}` });
      const buyerToken = token(buyer);
      const conversation = await call(`${baseUrl}/api/conversations`, "POST", buyerToken, { listingId: listing });
      pairs[i] = {
        conversationId: conversation.id!,
        buyer: { id: buyer, token: buyerToken },
        seller: { id: seller, token: token(seller) },
      };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return pairs;
}
