// What a first `npm start` gives a newcomer in embedded mode with the development secret: a
// demo buyer, a demo seller and a listing to talk about, ready-to-use tokens (printed and kept
// in DATA_DIR/demo-tokens.env), and the next command to try. Goes through the public HTTP API,
// as the marketplace's backend would.
import { rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import jwt from "jsonwebtoken";
import type { Config } from "../config/config.js";

const DEMO_LISTINGS = [
  { id: "demo-listing", title: "Demo listing: vintage road bike", priceCents: 25_000, currency: "EUR" },
  { id: "demo-listing-2", title: "Demo listing: oak dining table", priceCents: 18_000, currency: "EUR" },
] as const;

export const DEMO = {
  buyer: { id: "demo-buyer", name: "Demo Buyer" },
  seller: { id: "demo-seller", name: "Demo Seller" },
  service: { id: "marketplace-backend" },
  /** The one the quick start talks about. */
  listing: DEMO_LISTINGS[0],
  /** All of the demo seller's listings (the /demo page offers each to the buyer). */
  listings: DEMO_LISTINGS,
} as const;

export const DEMO_TOKENS_FILE = "demo-tokens.env";
const DEMO_TOKEN_TTL = "7d";

export interface DemoTokens {
  buyer: string;
  seller: string;
  service: string;
}

export function mintDemoTokens(config: Config, secret: string): DemoTokens {
  const sign = (sub: string, claims: Record<string, unknown>) =>
    jwt.sign({ sub, ...claims }, secret, {
      algorithm: "HS256",
      expiresIn: DEMO_TOKEN_TTL,
      ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
      ...(config.JWT_AUDIENCE ? { audience: config.JWT_AUDIENCE } : {}),
    });
  return {
    buyer: sign(DEMO.buyer.id, { name: DEMO.buyer.name }),
    seller: sign(DEMO.seller.id, { name: DEMO.seller.name }),
    service: sign(DEMO.service.id, { role: "service" }),
  };
}

/** Pushes the demo users and listing unless they exist (a listing changed since stays as it is). */
export async function seedDemo(app: FastifyInstance, tokens: DemoTokens): Promise<string[]> {
  const pool = app.chat.db.pool;
  const { rows: users } = await pool.query<{ id: string }>("SELECT id FROM users WHERE id = ANY($1)", [
    [DEMO.buyer.id, DEMO.seller.id],
  ]);
  const { rows: listings } = await pool.query<{ id: string }>("SELECT id FROM listings WHERE id = ANY($1)", [DEMO.listings.map((l) => l.id)]);
  const present = new Set([...users, ...listings].map((r) => r.id));
  const pushed: string[] = [];
  const put = async (path: string, payload: Record<string, unknown>) => {
    const res = await app.inject({ method: "PUT", url: path, headers: { authorization: `Bearer ${tokens.service}` }, payload });
    if (res.statusCode >= 300) throw new Error(`demo data: PUT ${path} answered ${res.statusCode} ${res.body}`);
    pushed.push(path);
  };
  for (const user of [DEMO.buyer, DEMO.seller]) {
    if (!present.has(user.id)) await put(`/api/internal/users/${user.id}`, { name: user.name });
  }
  for (const { id, ...listing } of DEMO.listings) {
    if (!present.has(id)) await put(`/api/internal/listings/${id}`, { sellerId: DEMO.seller.id, ...listing });
  }
  return pushed;
}

/** Writes DATA_DIR/demo-tokens.env (0600, sourceable by a shell) and returns the text to print. */
export async function demoAccessText(config: Config, tokens: DemoTokens, secretPath: string, baseUrl: string): Promise<string> {
  const envPath = join(resolve(config.DATA_DIR), DEMO_TOKENS_FILE);
  const env = [
    `CHAT_URL=${baseUrl}`,
    `BUYER_TOKEN=${tokens.buyer}`,
    `SELLER_TOKEN=${tokens.seller}`,
    `SERVICE_TOKEN=${tokens.service}`,
    "",
  ].join("\n");
  // Written aside and renamed: whoever reads the file as soon as it exists (a script, a test)
  // never sees half of it.
  await writeFile(`${envPath}.tmp`, env, { mode: 0o600 });
  await rename(`${envPath}.tmp`, envPath);
  return [
    "",
    `Demo access (tokens valid ${DEMO_TOKEN_TTL}, signed with the development secret in ${secretPath}):`,
    `  BUYER_TOKEN    ${DEMO.buyer.id} (user)       ${tokens.buyer}`,
    `  SELLER_TOKEN   ${DEMO.seller.id} (user)      ${tokens.seller}`,
    `  SERVICE_TOKEN  ${DEMO.service.id} (service)  ${tokens.service}`,
    `Listing "${DEMO.listing.id}" is sold by ${DEMO.seller.id}. Next, in another terminal:`,
    `  . ${envPath}`,
    `  curl -s -X POST "$CHAT_URL/api/conversations" -H "authorization: Bearer $BUYER_TOKEN" -H 'content-type: application/json' -d '{"listingId":"${DEMO.listing.id}"}'`,
    "",
  ].join("\n");
}
