// Configuration is read from the environment once, validated with zod (already our validation
// library for request bodies and socket payloads, so one dependency covers both and the error
// messages read the same), then frozen. A bad value stops start-up with one line naming the
// variable.
import { hostname } from "node:os";
import { z } from "zod";

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

const schema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default("0.0.0.0"),
  DATABASE_URL: url(["postgres", "postgresql"]),
  DATABASE_POOL_SIZE: int(1, 500).default(20),
  REDIS_URL: url(["redis", "rediss"]),
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/, "letters, digits, : _ - only").default("marketchat"),
  JWT_SECRET: optionalString.refine((v) => v === undefined || v.length >= 32, "must be at least 32 characters"),
  JWT_PUBLIC_KEY: optionalString.refine(
    (v) => v === undefined || v.includes("-----BEGIN"),
    "must be a PEM public key",
  ),
  JWT_ISSUER: optionalString,
  JWT_AUDIENCE: optionalString,
  CORS_ORIGINS: optionalString.transform((v) =>
    v === undefined ? [] : v.split(",").map((s) => s.trim()).filter(Boolean),
  ),
  NODE_ID: optionalString,
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  DATA_DIR: z.string().min(1).default("./data"),
  UPLOAD_DIR: optionalString,
  WEBHOOK_URL: url(["http", "https"]),
  WEBHOOK_SECRET: optionalString,
  METRICS_TOKEN: optionalString,
  BODY_LIMIT_BYTES: int(1024, 10 * 1024 * 1024).default(64 * 1024),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
  TRUST_PROXY: bool.default(false),
});

export type Config = Readonly<
  Omit<z.infer<typeof schema>, "NODE_ID" | "UPLOAD_DIR"> & {
    NODE_ID: string;
    UPLOAD_DIR: string;
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
    const given = env[variable];
    throw new ConfigError(variable, `${issue.message}${given === undefined ? "" : ` (got "${truncate(given)}")`}`);
  }
  const c = parsed.data;
  if (!c.JWT_SECRET && !c.JWT_PUBLIC_KEY) {
    throw new ConfigError("JWT_SECRET", "is required (or JWT_PUBLIC_KEY for RS256/ES256)");
  }
  if (c.JWT_SECRET && c.JWT_PUBLIC_KEY) {
    throw new ConfigError("JWT_PUBLIC_KEY", "must not be set together with JWT_SECRET: choose one");
  }
  if (!c.DATABASE_URL) throw new ConfigError("DATABASE_URL", "is required");
  if (c.NODE_ENV === "production" && !c.REDIS_URL) {
    throw new ConfigError("REDIS_URL", "is required when NODE_ENV=production");
  }
  if (c.WEBHOOK_URL && !c.WEBHOOK_SECRET) {
    throw new ConfigError("WEBHOOK_SECRET", "is required when WEBHOOK_URL is set");
  }
  return Object.freeze({
    ...c,
    CORS_ORIGINS: Object.freeze(c.CORS_ORIGINS) as string[],
    NODE_ID: c.NODE_ID ?? `${hostname()}-${process.pid}`,
    UPLOAD_DIR: c.UPLOAD_DIR ?? `${c.DATA_DIR}/uploads`,
  });
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
