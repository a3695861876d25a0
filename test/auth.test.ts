import { createHmac, generateKeyPairSync } from "node:crypto";
import jwt from "jsonwebtoken";
import { beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { loadConfig } from "../src/config/config.js";
import { createTokenVerifier } from "../src/auth/token-verifier.js";
import { auth, connectSocket, useTestApp } from "./support/app.js";
import { TEST_SECRET, adminToken, token } from "./support/tokens.js";

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256", publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });
const base = { DATABASE_URL: "postgresql://x@127.0.0.1/x", NODE_ENV: "test" };
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

/** A token with a hand-made header, for attacks the jsonwebtoken library will not sign. */
function rawToken(header: object, payload: object, sign: (input: string) => string = () => ""): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const input = `${enc(header)}.${enc(payload)}`;
  return `${input}.${sign(input)}`;
}

describe("token verification", () => {
  const hs = createTokenVerifier(loadConfig({ ...base, JWT_SECRET: TEST_SECRET }));

  it("accepts a good HS256 token and reads sub, name and role", () => {
    expect(hs(jwt.sign({ sub: "u1", name: "Ann", exp: inAnHour() }, TEST_SECRET))).toEqual({ userId: "u1", name: "Ann", role: "user" });
    expect(hs(jwt.sign({ sub: "a1", role: "admin", exp: inAnHour() }, TEST_SECRET)).role).toBe("admin");
  });

  it.each([
    ["alg none", rawToken({ alg: "none", typ: "JWT" }, { sub: "u1", exp: inAnHour() })],
    ["expired", jwt.sign({ sub: "u1", exp: Math.floor(Date.now() / 1000) - 10 }, TEST_SECRET)],
    ["no exp", jwt.sign({ sub: "u1" }, TEST_SECRET)],
    ["no sub", jwt.sign({ exp: inAnHour() }, TEST_SECRET)],
    ["wrong key", jwt.sign({ sub: "u1", exp: inAnHour() }, "another-secret-that-is-also-long-enough-000")],
    ["unknown role", jwt.sign({ sub: "u1", role: "root", exp: inAnHour() }, TEST_SECRET)],
    ["HS512 with the right secret", jwt.sign({ sub: "u1", exp: inAnHour() }, TEST_SECRET, { algorithm: "HS512" })],
    ["garbage", "not.a.token"],
    ["empty", ""],
  ])("refuses %s", (_name, t) => {
    expect(() => hs(t)).toThrowError(expect.objectContaining({ code: "unauthorized" }));
  });

  it("enforces iss and aud when configured", () => {
    const v = createTokenVerifier(loadConfig({ ...base, JWT_SECRET: TEST_SECRET, JWT_ISSUER: "market", JWT_AUDIENCE: "chat" }));
    const sign = (claims: object) => jwt.sign({ sub: "u1", exp: inAnHour(), ...claims }, TEST_SECRET);
    expect(v(sign({ iss: "market", aud: "chat" })).userId).toBe("u1");
    expect(() => v(sign({ iss: "evil", aud: "chat" }))).toThrow();
    expect(() => v(sign({ iss: "market", aud: "other" }))).toThrow();
    expect(() => v(sign({}))).toThrow();
  });

  it("RS256: accepts RS256, refuses HS256 signed with the public key (algorithm confusion) and alg none", () => {
    const v = createTokenVerifier(loadConfig({ ...base, JWT_PUBLIC_KEY: rsa.publicKey }));
    expect(v(jwt.sign({ sub: "u1", exp: inAnHour() }, rsa.privateKey, { algorithm: "RS256" })).userId).toBe("u1");
    const confused = rawToken({ alg: "HS256", typ: "JWT" }, { sub: "u1", exp: inAnHour() }, (input) =>
      createHmac("sha256", rsa.publicKey).update(input).digest("base64url"),
    );
    expect(() => v(confused)).toThrowError(expect.objectContaining({ code: "unauthorized" }));
    expect(() => v(rawToken({ alg: "none" }, { sub: "u1", exp: inAnHour() }))).toThrow();
    expect(() => v(jwt.sign({ sub: "u1", exp: inAnHour() }, ec.privateKey, { algorithm: "ES256" }))).toThrow();
  });

  it("ES256: accepts ES256 only", () => {
    const v = createTokenVerifier(loadConfig({ ...base, JWT_PUBLIC_KEY: ec.publicKey }));
    expect(v(jwt.sign({ sub: "u1", exp: inAnHour() }, ec.privateKey, { algorithm: "ES256" })).userId).toBe("u1");
    expect(() => v(jwt.sign({ sub: "u1", exp: inAnHour() }, rsa.privateKey, { algorithm: "RS256" }))).toThrow();
  });
});

describe("authentication at the edges", () => {
  const fixture = useTestApp();
  let app: FastifyInstance;
  let url: string;
  beforeAll(() => {
    ({ app, url } = fixture);
  });

  it("HTTP: a missing or bad token is 401 in the contract's shape", async () => {
    for (const headers of [{}, auth("garbage"), { authorization: "Basic abc" }, auth(token("u", {}, "wrong-secret-wrong-secret-wrong-secret"))]) {
      const res = await app.inject({ method: "GET", url: "/api/conversations", headers });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ error: { code: "unauthorized", message: expect.any(String), requestId: expect.any(String) } });
    }
  });

  it("upserts a user from claims once, not on every request", async () => {
    const before = app.chat.db.statementCount();
    await app.inject({ method: "GET", url: "/api/unread", headers: auth(token("claims-user", { name: "Cleo" })) });
    const first = app.chat.db.statementCount() - before;
    const mid = app.chat.db.statementCount();
    await app.inject({ method: "GET", url: "/api/unread", headers: auth(token("claims-user", { name: "Cleo" })) });
    const second = app.chat.db.statementCount() - mid;
    expect(second).toBe(first - 1);
    const { rows } = await app.chat.db.pool.query(`SELECT name FROM users WHERE id = 'claims-user'`);
    expect(rows[0].name).toBe("Cleo");
  });

  it("Socket.IO: a missing, bad or expired token fails with connect_error 'unauthorized'", async () => {
    const expired = jwt.sign({ sub: "u1", exp: Math.floor(Date.now() / 1000) - 5 }, TEST_SECRET);
    for (const t of ["", "garbage", expired]) {
      await expect(connectSocket(url, t)).rejects.toMatchObject({ message: "unauthorized" });
    }
    const ok = await connectSocket(url, adminToken());
    expect(ok.connected).toBe(true);
    ok.close();
  });

  it("a banned user gets forbidden over HTTP and on connect", async () => {
    await app.inject({ method: "GET", url: "/api/unread", headers: auth(token("to-ban")) });
    await app.chat.db.pool.query(`UPDATE users SET banned_at = now() WHERE id = 'to-ban'`);
    app.chat.users.forget("to-ban");
    const res = await app.inject({ method: "GET", url: "/api/unread", headers: auth(token("to-ban")) });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe("forbidden");
    await expect(connectSocket(url, token("to-ban"))).rejects.toMatchObject({ message: "forbidden" });
  });
});
