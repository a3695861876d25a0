// Configuration is read from the environment once, validated with zod (already our validation
// library for request bodies and socket payloads, so one dependency covers both and the error
// messages read the same), then frozen. A bad value stops start-up with one line naming the
// variable.
import { hostname } from "node:os";
import { z } from "zod";
import { DEFAULT_FILE_TYPES, KNOWN_FILE_TYPES } from "../media/file-types.js";
import { parseRateLimit } from "./rate-limit-spec.js";

const bool = z
  .enum(["1", "0", "true", "false", "yes", "no"])
  .transform((v) => v === "1" || v === "true" || v === "yes");
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v));
const url = (protocols: string[]) =>
  optionalString.refine(
    (v) => v === undefined || protocols.some((p) => v.startsWith(`${p}://`)),
    `must be a ${protocols.join(" or ")} URL`,
  );

const rateLimit = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      try {
        return parseRateLimit(v);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
        return z.NEVER;
      }
    });

const schema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default("0.0.0.0"),
  DATABASE_URL: url(["postgres", "postgresql"]),
  DATABASE_POOL_SIZE: int(1, 500).default(20),
  REDIS_URL: url(["redis", "rediss"]),
  REDIS_CLUSTER_NODES: optionalString.transform((v, ctx) => {
    if (v === undefined) return undefined;
    try {
      return parseClusterNodes(v);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
  }),
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/, "letters, digits, : _ - only").default("marketchat"),
  JWT_SECRET: optionalString.refine((v) => v === undefined || v.length >= 32, "must be at least 32 characters"),
  JWT_PUBLIC_KEY: optionalString.refine(
    (v) => v === undefined || v.includes("-----BEGIN"),
    "must be a PEM public key",
  ),
  // Signing keys from the identity provider's JWKS, by `kid` (README, "Identity"): rotation without a restart.
  JWT_JWKS_URL: url(["https", "http"]),
  // The HMAC key of attachment URL signatures; defaults to JWT_SECRET. Required with JWT_JWKS_URL.
  URL_SIGNING_SECRET: optionalString.refine((v) => v === undefined || v.length >= 32, "must be at least 32 characters"),
  JWT_ISSUER: optionalString,
  JWT_AUDIENCE: optionalString,
  CORS_ORIGINS: optionalString.transform((v) =>
    v === undefined ? [] : v.split(",").map((s) => s.trim()).filter(Boolean),
  ),
  NODE_ID: optionalString,
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  DATA_DIR: z.string().min(1).default("./data"),
  UPLOAD_DIR: optionalString,
  // Where attachment bytes live (README, "Object storage"): local disk, or an S3-compatible store.
  STORAGE: z.enum(["local", "s3"]).default("local"),
  S3_BUCKET: optionalString,
  S3_REGION: z.string().min(1).default("us-east-1"),
  S3_ENDPOINT: url(["http", "https"]),
  S3_ACCESS_KEY_ID: optionalString,
  S3_SECRET_ACCESS_KEY: optionalString,
  S3_FORCE_PATH_STYLE: bool.default(false),
  // Uploads (README, "Attachments"). Sizes are of the files as sent, before re-encoding.
  UPLOAD_MAX_FILE_BYTES: int(1024, 1024 * 1024 * 1024).default(20 * 1024 * 1024),
  UPLOAD_MAX_REQUEST_BYTES: int(1024, 4 * 1024 * 1024 * 1024).default(60 * 1024 * 1024),
  UPLOAD_FILE_TYPES: z
    .string()
    .default(DEFAULT_FILE_TYPES.join(","))
    .transform((v) => v.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean))
    .refine((types) => types.every((t) => t in KNOWN_FILE_TYPES), `must list only ${Object.keys(KNOWN_FILE_TYPES).join(", ")}`),
  UPLOAD_MAX_INPUT_PIXELS: int(1, 1_000_000_000).default(50_000_000),
  UPLOAD_IMAGE_MAX_DIMENSION: int(64, 16_384).default(2048),
  UPLOAD_THUMBNAIL_DIMENSION: int(16, 2048).default(400),
  UPLOAD_IMAGE_QUALITY: int(1, 100).default(80),
  UPLOAD_IMAGE_CONCURRENCY: int(1, 64).default(2),
  UPLOAD_ORPHAN_TTL_MS: int(1000, 365 * 24 * 3_600_000).default(24 * 3_600_000),
  UPLOAD_SWEEP_INTERVAL_MS: int(100, 24 * 3_600_000).default(10 * 60_000),
  WEBHOOK_URL: url(["http", "https"]),
  WEBHOOK_SECRET: optionalString,
  METRICS_TOKEN: optionalString,
  BODY_LIMIT_BYTES: int(1024, 10 * 1024 * 1024).default(64 * 1024),
  // Connection limits (README, "Connection limits").
  REQUEST_TIMEOUT_MS: int(1000, 3_600_000).default(120_000),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
  TRUST_PROXY: bool.default(false),
  MIGRATE_ON_START: bool.default(true),
  // How long start-up waits for an unreachable PostgreSQL before giving up (README, "Database outages").
  DATABASE_STARTUP_TIMEOUT_MS: int(0, 3_600_000).default(120_000),
  // Presence and typing (README, "Presence"): a killed node's users show offline within
  // PRESENCE_TTL_MS + 1 s; a closed last socket shows offline after PRESENCE_GRACE_MS.
  PRESENCE_TTL_MS: int(1000, 300_000).default(15_000),
  PRESENCE_GRACE_MS: int(0, 5000).default(3000),
  TYPING_TIMEOUT_MS: int(200, 60_000).default(5000),
  // Rate limits (README, "Rate limits"): "<count>/<window>" token buckets, or "off". Messages are
  // counted per node (no Redis command per message); the others cluster-wide when REDIS_URL is set.
  RATE_LIMIT_MESSAGES: rateLimit("30/10s"),
  RATE_LIMIT_CONVERSATIONS: rateLimit("30/10m"),
  RATE_LIMIT_UPLOADS: rateLimit("20/1m"),
  RATE_LIMIT_REPORTS: rateLimit("20/1h"),
  RATE_LIMIT_BLOCKS: rateLimit("30/1h"),
  RATE_LIMIT_SEARCH: rateLimit("60/1m"),
  // Reactions are counted per node like messages (README, "Reactions").
  RATE_LIMIT_REACTIONS: rateLimit("60/1m"),
  RATE_LIMIT_ANONYMOUS: rateLimit("300/1m"),
  // Connection limits (README, "Connection limits"), counted per node.
  SOCKET_HANDSHAKES_PER_IP: rateLimit("300/1m"),
  SOCKETS_PER_USER: int(0, 100_000).default(50),
  SOCKETS_PER_IP: int(0, 1_000_000).default(1000),
  SOCKET_EVENTS_PER_SOCKET: rateLimit("300/10s"),
  UPLOADS_IN_FLIGHT_PER_USER: int(0, 1000).default(3),
  // Webhooks (README, "Webhooks"): delivery timing and retries.
  WEBHOOK_DELAY_MS: int(0, 24 * 3_600_000).default(30_000),
  // Group commit (README, "Sending: group commit"): most sends in one batch statement, most sends
  // waiting on a node before it answers `unavailable`.
  SEND_BATCH_MAX: int(1, 1000).default(256),
  SEND_QUEUE_LIMIT: int(1, 1_000_000).default(10_000),
  // Stored messages whose publish Redis has not taken yet, beyond which sends answer `unavailable`.
  PUBLISH_BACKLOG_LIMIT: int(1, 1_000_000).default(5_000),
  // Delivery in seq order (README, "Ordering"): how long a message after a gap waits for the
  // missing one before the node fetches it.
  DELIVERY_GAP_WAIT_MS: int(1, 60_000).default(250),
  WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),
  WEBHOOK_MAX_ATTEMPTS: int(1, 100).default(10),
  WEBHOOK_RETRY_BASE_MS: int(10, 24 * 3_600_000).default(30_000),
  WEBHOOK_RETRY_MAX_MS: int(10, 7 * 24 * 3_600_000).default(3_600_000),
  WEBHOOK_POLL_INTERVAL_MS: int(10, 60_000).default(1000),
  WEBHOOK_BATCH_SIZE: int(1, 500).default(20),
  WEBHOOK_RETENTION_MS: int(60_000, 365 * 24 * 3_600_000).default(7 * 24 * 3_600_000),
  // The /demo page (README, "Demo page"): on unless NODE_ENV=production; DEMO=true turns it on there.
  DEMO: bool.optional(),
  // Trust and safety (README, "Off-platform contact details"): the contact-detail policy, the
  // pre-send moderation hook and the duplicate-content (spam) rule.
  CONTACT_INFO_POLICY: z.enum(["mask", "flag", "block", "off"]).default("mask"),
  CONTACT_INFO_ALLOWED_DOMAINS: optionalString.transform((v) =>
    v === undefined ? [] : v.split(",").map((s) => s.trim().toLowerCase().replace(/^\*?\./, "")).filter(Boolean),
  ),
  MODERATION_URL: url(["http", "https"]),
  MODERATION_SECRET: optionalString,
  MODERATION_TIMEOUT_MS: int(10, 60_000).default(300),
  MODERATION_FAIL: z.enum(["open", "closed"]).default("open"),
  SPAM_DUPLICATE_LIMIT: z
    .string()
    .default("5")
    .transform((v, ctx) => {
      const s = v.trim().toLowerCase();
      if (s === "off" || s === "0") return null;
      if (!/^\d+$/.test(s) || Number(s) > 10_000) {
        ctx.addIssue({ code: "custom", message: "must be a number of conversations (1-10000), or off / 0" });
        return z.NEVER;
      }
      return Number(s);
    }),
  SPAM_DUPLICATE_WINDOW_MS: int(1000, 24 * 3_600_000).default(10 * 60_000),
  SPAM_MIN_CHARS: int(1, 4000).default(12),
  // The marketplace team's name as the seller of support conversations (README, "Support conversations").
  SUPPORT_NAME: z.string().trim().min(1).max(200).default("Support"),
  // Offers (README, "Offers"): a pending offer expires OFFER_TTL_MS after it is made; every node
  // sweeps for due offers every OFFER_SWEEP_INTERVAL_MS (each offer is expired once, by one node).
  OFFER_TTL_MS: int(1000, 365 * 24 * 3_600_000).default(48 * 3_600_000),
  OFFER_SWEEP_INTERVAL_MS: int(50, 3_600_000).default(10_000),
  OFFER_MAX_AMOUNT_CENTS: int(1, 2_147_483_647).default(1_000_000_000),
  // Listing changes in the thread (README): background batches of system messages.
  LISTING_CHANGE_BATCH_SIZE: int(1, 2000).default(50),
  LISTING_CHANGE_LEASE_MS: int(500, 3_600_000).default(30_000),
  LISTING_CHANGE_POLL_INTERVAL_MS: int(50, 600_000).default(2000),
  LISTING_CHANGE_BATCH_PAUSE_MS: int(0, 60_000).default(0),
  // Response time (README): how often samples older than 30 days are swept and medians redone.
  RESPONSE_SAMPLE_SWEEP_INTERVAL_MS: int(1000, 24 * 3_600_000).default(3_600_000),
});

export type Config = Readonly<
  Omit<z.infer<typeof schema>, "NODE_ID" | "UPLOAD_DIR" | "DEMO"> & {
    NODE_ID: string;
    UPLOAD_DIR: string;
    DEMO: boolean;
  }
>;

export class ConfigError extends Error {
  constructor(readonly variable: string, detail: string) {
    super(`Invalid configuration: ${variable} ${detail}`);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? "environment");
    throw new ConfigError(variable, `${issue.message}${shownValue(variable, env[variable])}`);
  }
  const c = parsed.data;
  // Embedded mode (no DATABASE_URL) outside production may start without a key: main.ts then
  // keeps a development secret under DATA_DIR (src/dev/dev-secret.ts), so `npm start` just works.
  const devSecretAllowed = !c.DATABASE_URL && c.NODE_ENV !== "production";
  if (!c.JWT_SECRET && !c.JWT_PUBLIC_KEY && !c.JWT_JWKS_URL && !devSecretAllowed) {
    throw new ConfigError("JWT_SECRET", "is required (or JWT_PUBLIC_KEY or JWT_JWKS_URL for RS256/ES256)");
  }
  if (c.JWT_SECRET && c.JWT_PUBLIC_KEY) {
    throw new ConfigError("JWT_PUBLIC_KEY", "must not be set together with JWT_SECRET: choose one");
  }
  if (c.JWT_JWKS_URL && (c.JWT_SECRET || c.JWT_PUBLIC_KEY)) {
    throw new ConfigError("JWT_JWKS_URL", "must not be set together with JWT_SECRET or JWT_PUBLIC_KEY: choose one");
  }
  // Attachment URLs are signed with HMAC: with JWT_PUBLIC_KEY and no URL_SIGNING_SECRET the key
  // would be the public key, and anyone holding it could sign URLs. Development keeps the fallback.
  if (c.JWT_PUBLIC_KEY && !c.URL_SIGNING_SECRET && c.NODE_ENV === "production") {
    throw new ConfigError("URL_SIGNING_SECRET", "is required with JWT_PUBLIC_KEY when NODE_ENV=production (the key of attachment URL signatures, shared by every node)");
  }
  if (c.JWT_JWKS_URL && !c.URL_SIGNING_SECRET) {
    throw new ConfigError("URL_SIGNING_SECRET", "is required with JWT_JWKS_URL (the key of attachment URL signatures, shared by every node)");
  }
  // Without DATABASE_URL the node runs on an embedded database (PGlite under DATA_DIR): one node only.
  if (c.NODE_ENV === "production" && !c.DATABASE_URL) {
    throw new ConfigError("DATABASE_URL", "is required when NODE_ENV=production");
  }
  if (c.NODE_ENV === "production" && !c.REDIS_URL && !c.REDIS_CLUSTER_NODES) {
    // (REDIS_CLUSTER_NODES, for a Redis Cluster, does instead.)
    throw new ConfigError("REDIS_URL", "is required when NODE_ENV=production");
  }
  if (c.REDIS_URL && c.REDIS_CLUSTER_NODES) {
    throw new ConfigError("REDIS_CLUSTER_NODES", "must not be set together with REDIS_URL: choose one");
  }
  if (c.MODERATION_URL && !c.MODERATION_SECRET && !c.WEBHOOK_SECRET) {
    throw new ConfigError("MODERATION_SECRET", "is required when MODERATION_URL is set (or WEBHOOK_SECRET, which it defaults to)");
  }
  if (c.STORAGE === "s3" && !c.S3_BUCKET) {
    throw new ConfigError("S3_BUCKET", "is required when STORAGE=s3");
  }
  if (!c.S3_ACCESS_KEY_ID !== !c.S3_SECRET_ACCESS_KEY) {
    throw new ConfigError(c.S3_ACCESS_KEY_ID ? "S3_SECRET_ACCESS_KEY" : "S3_ACCESS_KEY_ID", "must be set together with the other S3 key (or neither, for the SDK's default credentials)");
  }
  if (c.WEBHOOK_URL && !c.WEBHOOK_SECRET) {
    throw new ConfigError("WEBHOOK_SECRET", "is required when WEBHOOK_URL is set");
  }
  return Object.freeze({
    ...c,
    CORS_ORIGINS: Object.freeze(c.CORS_ORIGINS) as string[],
    NODE_ID: c.NODE_ID ?? `${hostname()}-${process.pid}`,
    UPLOAD_DIR: c.UPLOAD_DIR ?? `${c.DATA_DIR}/uploads`,
    DEMO: c.DEMO ?? c.NODE_ENV !== "production",
  });
}

/** REDIS_CLUSTER_NODES: "host:port,host:port" → seed nodes (ioredis discovers the others). */
function parseClusterNodes(spec: string): { host: string; port: number }[] {
  const nodes = spec
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => {
      const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(s);
      const port = match ? Number(match[2]) : NaN;
      if (!match || port < 1 || port > 65535) throw new Error(`must be host:port,host:port,… ("${truncate(s)}" is not host:port)`);
      return { host: match[1]!.replace(/^\[|\]$/g, ""), port };
    });
  if (nodes.length === 0) throw new Error("must list at least one host:port");
  return nodes;
}

// Variables that are secrets, or may hold one (a password inside DATABASE_URL or REDIS_URL): a
// configuration error names them but never prints their value, since start-up output ends up in
// log collectors that many more people read. Names that look like secrets count too, so a
// variable added later is covered without touching this list.
const SECRET_VARIABLES = new Set([
  "JWT_SECRET", "JWT_PUBLIC_KEY", "DATABASE_URL", "REDIS_URL", "WEBHOOK_SECRET", "MODERATION_SECRET",
  "METRICS_TOKEN", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY",
]);
const SECRET_NAME = /(SECRET|TOKEN|PASSWORD|PASSWD|KEY|KEY_ID|CREDENTIALS?)$/;

/** ` (got "…")` for a bad value that may be shown: never a secret, never a password in a URL. */
function shownValue(variable: string, given: string | undefined): string {
  if (given === undefined || SECRET_VARIABLES.has(variable) || SECRET_NAME.test(variable)) return "";
  // Other URLs (WEBHOOK_URL, MODERATION_URL, S3_ENDPOINT) may carry user:password@ too.
  const redacted = given.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/@\s]*@/, "$1***@");
  return ` (got "${truncate(redacted)}")`;
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
