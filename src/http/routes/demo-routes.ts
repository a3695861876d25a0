// GET /demo: the chat page for trying the service in a browser (packages/demo, built by
// `npm ci`), served as static files. On unless NODE_ENV=production (DEMO=true turns it on there).
// Outside production, GET /demo/session also hands the page a token for the demo buyer or seller
// (signed with the node's HS256 secret, demo users and listings pushed on first use), so a person
// can sign in with one click; in production the page asks for a token instead.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import type { Config } from "../../config/config.js";
import { DEMO, mintDemoTokens, seedDemo } from "../../dev/demo-access.js";
import { AppError, invalid } from "../../errors/errors.js";

/** The page's built files: packages/demo/dist, three levels up from src/http/routes (or dist/http/routes). */
export const DEMO_DIST = resolve(dirname(fileURLToPath(import.meta.url)), "../../../packages/demo/dist");

export interface DemoSession {
  token: string;
  user: { id: string; name: string; role: "buyer" | "seller" };
  /** The demo listings (sold by the demo seller): a buyer opens conversations about these. */
  listings: { id: string; title: string; priceCents: number; currency: string }[];
}

export async function demoRoutes(app: FastifyInstance, deps: { config: Config; root?: string }): Promise<void> {
  const { config } = deps;
  if (!config.DEMO) return;
  const root = deps.root ?? DEMO_DIST;
  const hidden = { schema: { hide: true } };

  const indexFile = resolve(root, "index.html");
  if (existsSync(indexFile)) {
    // The page refers to its assets by absolute /demo/assets/… paths, so /demo serves it too.
    const index = await readFile(indexFile);
    app.get("/demo", hidden, async (_request, reply) => reply.type("text/html; charset=utf-8").send(index));
    await app.register(fastifyStatic, { root, prefix: "/demo/", decorateReply: false, schemaHide: true });
  } else {
    const notBuilt = async () => {
      throw new AppError("unavailable", "The demo page is not built: run `npm run build:packages` (npm ci does it)");
    };
    app.get("/demo", hidden, notBuilt);
    app.get("/demo/*", hidden, notBuilt);
  }

  // Tokens for the demo users: never in production, and only with a shared secret to sign them.
  const secret = config.NODE_ENV === "production" ? undefined : config.JWT_SECRET;
  let seeded: Promise<unknown> | null = null;
  app.get<{ Querystring: { as?: string } }>("/demo/session", hidden, async (request): Promise<DemoSession> => {
    if (!secret) throw new AppError("not_found", "No demo sign-in here: paste a token issued by the marketplace");
    const as = request.query.as;
    if (as !== "buyer" && as !== "seller") throw invalid("as must be buyer or seller");
    const tokens = mintDemoTokens(config, secret);
    // Pushed once per process through the public API (idempotent: a second node finds them there).
    seeded ??= seedDemo(app, tokens).catch((err: unknown) => {
      seeded = null;
      throw err;
    });
    await seeded;
    const user = DEMO[as];
    return {
      token: tokens[as],
      user: { id: user.id, name: user.name, role: as },
      listings: DEMO.listings.map(({ id, title, priceCents, currency }) => ({ id, title, priceCents, currency })),
    };
  });
}
