// JWT_JWKS_URL (README, "Identity"): signing keys from a JSON Web Key Set served by a local
// identity provider stand-in, chosen by `kid`; a key added to the set later is picked up without
// a restart (an unknown kid makes the node fetch the set again), unknown keys and other
// algorithms are refused, and a key set that cannot be fetched answers unavailable, not 401.
import { createServer, type Server } from "node:http";
import { once } from "node:events";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { ConfigError, loadConfig } from "../src/config/config.js";
import { auth, connectSocket, createTestEnv, startApp, type TestEnv } from "./support/app.js";
import { uniqueName } from "./support/env.js";

const URL_SECRET = "url-signing-secret-for-the-jwks-test-0123456789";
let env: TestEnv;
let app: FastifyInstance;
let url: string;
let idp: Server;
let jwksUrl: string;
let published: JWK[] = [];
let fetches = 0;

async function newKey(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" };
  const sign = (sub: string, claims: Record<string, unknown> = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid }).setSubject(sub).setExpirationTime("1h").sign(privateKey);
  return { jwk, sign };
}

beforeAll(async () => {
  idp = createServer((_req, res) => {
    fetches++;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: published }));
  });
  idp.listen(0, "127.0.0.1");
  await once(idp, "listening");
  jwksUrl = `http://127.0.0.1:${(idp.address() as { port: number }).port}/.well-known/jwks.json`;
  env = await createTestEnv();
  ({ app, url } = await startApp(env, { JWT_SECRET: undefined, JWT_JWKS_URL: jwksUrl, URL_SIGNING_SECRET: URL_SECRET }));
});
afterAll(async () => {
  await app?.close();
  await env?.close();
  if (idp.listening) idp.close();
});

const whoAmI = (jwtToken: string) => app.inject({ method: "GET", url: "/api/conversations", headers: auth(jwtToken) });

describe("JWT_JWKS_URL", () => {
  it("accepts tokens by kid, picks up a key added later without a restart, refuses unknown keys and other algorithms", async () => {
    const first = await newKey("key-1");
    published = [first.jwk];
    const user = uniqueName("jwks");
    expect((await whoAmI(await first.sign(user))).statusCode).toBe(200);
    const socket = await connectSocket(url, await first.sign(user));
    socket.close();
    const fetchesBefore = fetches;
    // Cached: more tokens with a known kid fetch nothing.
    for (let i = 0; i < 3; i++) expect((await whoAmI(await first.sign(user))).statusCode).toBe(200);
    expect(fetches).toBe(fetchesBefore);

    // Rotation: the provider publishes a second key; a token signed with it is accepted once the
    // node has fetched the set again (at most once per cooldown).
    const second = await newKey("key-2");
    published = [first.jwk, second.jwk];
    const rotated = await second.sign(user);
    await expect.poll(async () => (await whoAmI(rotated)).statusCode).toBe(200);
    expect((await whoAmI(await first.sign(user))).statusCode).toBe(200);

    // Never published, HS256 with some secret, and alg none: unauthorized.
    const stranger = await newKey("key-x");
    const hs = jwt.sign({ sub: user, exp: Math.floor(Date.now() / 1000) + 600 }, URL_SECRET, { keyid: "key-1" });
    for (const bad of [await stranger.sign(user), hs, "garbage"]) {
      const res = await whoAmI(bad);
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe("unauthorized");
    }
    // The same claim rules as with a static key.
    expect((await whoAmI(await first.sign("two words"))).statusCode).toBe(401);
  });

  it("a key set that cannot be fetched answers unavailable (503) for an unknown kid; known keys keep working", async () => {
    const known = await newKey("key-known");
    published = [known.jwk];
    const user = uniqueName("jwks-down");
    await expect.poll(async () => (await whoAmI(await known.sign(user))).statusCode).toBe(200);
    idp.close();
    idp.closeAllConnections();
    const unknown = await newKey("key-new");
    await expect.poll(async () => (await whoAmI(await unknown.sign(user))).statusCode).toBe(503);
    expect((await whoAmI(await known.sign(user))).statusCode).toBe(200);
  });

  it("needs URL_SIGNING_SECRET (as JWT_PUBLIC_KEY does in production), and excludes JWT_SECRET and JWT_PUBLIC_KEY", () => {
    const base = { DATABASE_URL: "postgresql://x@127.0.0.1/x", JWT_JWKS_URL: "https://idp.example/jwks.json" };
    const variableOf = (e: Record<string, string>) => {
      try {
        loadConfig(e);
        return null;
      } catch (err) {
        return (err as ConfigError).variable;
      }
    };
    expect(variableOf(base)).toBe("URL_SIGNING_SECRET");
    expect(variableOf({ ...base, URL_SIGNING_SECRET: URL_SECRET, JWT_SECRET: URL_SECRET })).toBe("JWT_JWKS_URL");
    expect(variableOf({ ...base, URL_SIGNING_SECRET: URL_SECRET })).toBeNull();
    // With a public key, production needs a URL signing secret too (the public key is no secret).
    const pem = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----";
    const prod = { DATABASE_URL: base.DATABASE_URL, REDIS_URL: "redis://r:6379", NODE_ENV: "production", JWT_PUBLIC_KEY: pem };
    expect(variableOf(prod)).toBe("URL_SIGNING_SECRET");
    expect(variableOf({ ...prod, URL_SIGNING_SECRET: URL_SECRET })).toBeNull();
  });
});
