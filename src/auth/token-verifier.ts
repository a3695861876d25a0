// One verify function for HTTP and the Socket.IO handshake. The accepted algorithm is pinned by
// the key that is configured (HS256 for JWT_SECRET; RS256 or ES256 for JWT_PUBLIC_KEY, decided by
// the key's type), so `alg: none` and HS256-signed-with-the-public-key tokens are refused.
import { createPublicKey, createSecretKey, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import { createRemoteJWKSet, jwtVerify } from "jose";
import type { Config } from "../config/config.js";
import { AppError } from "../errors/errors.js";
import { isUnavailableError } from "../errors/unavailable-errors.js";
import { SUPPORT_USER_ID } from "../contract/shapes.js";

export type Role = "user" | "admin" | "service";

export interface Principal {
  userId: string;
  name: string | null;
  role: Role;
}

export const MAX_ID_LENGTH = 128;
/** The characters of ids chosen outside the chat (user and listing ids, a token's `sub`). */
export const EXTERNAL_ID_CHARS = /^[^\s\u0000-\u001f\u007f]+$/;

/**
 * An id the chat may store: printable, no whitespace, and well-formed Unicode. PostgreSQL text
 * cannot hold U+0000 (the insert fails: 500 with a stack), and a lone surrogate is stored as
 * U+FFFD, so two different ids would become one user.
 */
export function isExternalId(s: string): boolean {
  return s.length > 0 && s.length <= MAX_ID_LENGTH && EXTERNAL_ID_CHARS.test(s) && isWellFormed(s);
}

/** No lone surrogate (String.prototype.isWellFormed, which the ES2023 typings lack). */
export function isWellFormed(s: string): boolean {
  // With the u flag a pair is one code point: \p{Surrogate} matches only unpaired halves.
  return !/\p{Surrogate}/u.test(s);
}
const MAX_TOKEN_LENGTH = 8192;
const ROLES: readonly Role[] = ["user", "admin", "service"];

/** Synchronous for a configured key (the hot path of connection storms); a JWKS may need a fetch. */
export type TokenVerifier = (token: string | undefined | null) => Principal | Promise<Principal>;
export type SyncTokenVerifier = (token: string | undefined | null) => Principal;

export function createTokenVerifier(config: Config): SyncTokenVerifier {
  const { key, algorithm } = pickKey(config);
  const options: jwt.VerifyOptions = {
    algorithms: [algorithm],
    ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
    ...(config.JWT_AUDIENCE ? { audience: config.JWT_AUDIENCE } : {}),
  };

  return (token) => {
    checkShape(token);
    let claims: jwt.JwtPayload | string;
    try {
      claims = jwt.verify(token, key, options);
    } catch {
      // The reason (expired, bad signature, wrong audience…) is not told to the caller.
      throw new AppError("unauthorized");
    }
    if (typeof claims === "string") throw new AppError("unauthorized");
    return principalOf(claims);
  };
}

/**
 * JWT_JWKS_URL: the signing keys are the identity provider's JSON Web Key Set, chosen by the
 * token's `kid`, so keys rotate without a restart. The set is cached (jose's createRemoteJWKSet);
 * a token with a `kid` not in the cache makes it fetch the set again (at most once per
 * JWKS_COOLDOWN_MS), which is how a new key is picked up. RS256 and ES256 only.
 */
export function createJwksVerifier(config: Config & { JWT_JWKS_URL: string }): TokenVerifier {
  const keys = createRemoteJWKSet(new URL(config.JWT_JWKS_URL), {
    cooldownDuration: JWKS_COOLDOWN_MS,
    cacheMaxAge: JWKS_MAX_AGE_MS,
    timeoutDuration: JWKS_TIMEOUT_MS,
  });
  const options = {
    algorithms: ["RS256", "ES256"],
    ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
    ...(config.JWT_AUDIENCE ? { audience: config.JWT_AUDIENCE } : {}),
  };
  return async (token) => {
    checkShape(token);
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, keys, options));
    } catch (err) {
      // The key set could not be fetched: the token may well be good, so retry later (503).
      const code = (err as { code?: unknown }).code;
      if (code === "ERR_JWKS_TIMEOUT" || isUnavailableError(err)) {
        throw new AppError("unavailable", "The signing keys could not be fetched; retry shortly", 2_000);
      }
      throw new AppError("unauthorized");
    }
    return principalOf(payload);
  };
}

const JWKS_COOLDOWN_MS = 5_000;
const JWKS_MAX_AGE_MS = 10 * 60_000;
const JWKS_TIMEOUT_MS = 5_000;

function checkShape(token: string | undefined | null): asserts token is string {
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    throw new AppError("unauthorized");
  }
}

/** The claims every token must carry, however it was signed. */
function principalOf(claims: { exp?: unknown; sub?: unknown; name?: unknown; role?: unknown }): Principal {
  if (typeof claims.exp !== "number") throw new AppError("unauthorized");
  const { sub, name, role = "user" } = claims;
  // "support" is the team of support conversations, never a person who signs in.
  if (typeof sub !== "string" || !isExternalId(sub) || sub === SUPPORT_USER_ID) {
    throw new AppError("unauthorized");
  }
  // The display name is stored as the user's name: same reasons as for `sub`.
  if (typeof name === "string" && (name.includes("\u0000") || !isWellFormed(name))) throw new AppError("unauthorized");
  if (typeof role !== "string" || !ROLES.includes(role as Role)) throw new AppError("unauthorized");
  return {
    userId: sub,
    name: typeof name === "string" && name.length > 0 ? name.slice(0, 200) : null,
    role: role as Role,
  };
}

function pickKey(config: Config): { key: string | KeyObject; algorithm: jwt.Algorithm } {
  // A KeyObject, not the string: given a string, jsonwebtoken first tries to parse it as a PEM
  // public key on every verify (~1 ms, the top frame of connection storms); a key object ~26 µs.
  if (config.JWT_SECRET) return { key: createSecretKey(Buffer.from(config.JWT_SECRET)), algorithm: "HS256" };
  const pem = config.JWT_PUBLIC_KEY!.replace(/\\n/g, "\n");
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType === "rsa") return { key, algorithm: "RS256" };
  if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") {
    return { key, algorithm: "ES256" };
  }
  throw new Error("JWT_PUBLIC_KEY must be an RSA or P-256 EC public key");
}

/** The bearer token of an Authorization header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}
