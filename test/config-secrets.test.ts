// Configuration errors name the variable and never print a value that may hold a secret
// (API.md, "Configuration errors name the variable and never print its value when it may hold a
// secret"): checked on loadConfig for every such variable, and on the line a real node process
// prints when it refuses to start.
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config/config.js";
import type { TestEnv } from "./support/app.js";
import { startNode } from "./support/cluster.js";
import { TEST_SECRET } from "./support/tokens.js";

const ok = { DATABASE_URL: "postgresql://postgres@127.0.0.1/x", JWT_SECRET: TEST_SECRET };
const SECRET = "hunter2-Sup3rS3cret";

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("no ConfigError");
}

describe("configuration errors never print secrets", () => {
  it.each([
    ["JWT_SECRET", { ...ok, JWT_SECRET: SECRET }],
    ["JWT_PUBLIC_KEY", { DATABASE_URL: ok.DATABASE_URL, JWT_PUBLIC_KEY: `MIIB${SECRET}` }],
    ["DATABASE_URL", { ...ok, DATABASE_URL: `mysql://chat:${SECRET}@db.internal/chat` }],
    ["DATABASE_URL", { ...ok, DATABASE_URL: SECRET }],
    ["REDIS_URL", { ...ok, REDIS_URL: `http://default:${SECRET}@redis.internal:6379` }],
    ["WEBHOOK_SECRET", { ...ok, WEBHOOK_URL: "https://hooks.example/chat", WEBHOOK_SECRET: "" }],
    ["S3_SECRET_ACCESS_KEY", { ...ok, STORAGE: "s3", S3_BUCKET: "b", S3_ACCESS_KEY_ID: SECRET }],
    ["S3_ACCESS_KEY_ID", { ...ok, STORAGE: "s3", S3_BUCKET: "b", S3_SECRET_ACCESS_KEY: SECRET }],
  ])("%s: named, its value not shown", (variable, env: Record<string, string>) => {
    const err = errorOf(env);
    expect(err.variable).toBe(variable);
    expect(err.message).toMatch(new RegExp(`^Invalid configuration: ${variable} `));
    expect(err.message).not.toContain(SECRET);
    expect(err.message).not.toContain("hunter2");
  });

  it("a password inside another URL is masked; harmless values are still shown", () => {
    const webhook = errorOf({ ...ok, WEBHOOK_URL: `ftp://hook:${SECRET}@hooks.example/x`, WEBHOOK_SECRET: "s" });
    expect(webhook.variable).toBe("WEBHOOK_URL");
    expect(webhook.message).not.toContain(SECRET);
    expect(webhook.message).toContain('(got "ftp://***@hooks.example/x")');
    expect(errorOf({ ...ok, LOG_LEVEL: "loud" }).message).toContain('(got "loud")');
  });

  it("a node refusing to start prints one line naming the variable, without the value", async () => {
    // No database is needed: configuration is checked before anything connects.
    const env: TestEnv = { mode: "postgres", databaseUrl: "postgresql://postgres@127.0.0.1:1/none", redisPrefix: "unused", close: async () => undefined };
    const cases: [string, Record<string, string>][] = [
      ["JWT_SECRET", { JWT_SECRET: SECRET }],
      ["DATABASE_URL", { DATABASE_URL: `mysql://chat:${SECRET}@db.internal/chat` }],
      ["REDIS_URL", { REDIS_URL: `http://default:${SECRET}@redis.internal:6379` }],
    ];
    const outputs = await Promise.all(
      cases.map(([variable, extra]) =>
        startNode(env, `bad-${variable}`, extra).then(
          async (node) => {
            await node.stop();
            return `started: ${variable}`;
          },
          (err: Error) => err.message,
        ),
      ),
    );
    cases.forEach(([variable], i) => {
      const output = outputs[i]!;
      expect(output).toMatch(/exited with 1/);
      expect(output).toMatch(new RegExp(`Invalid configuration: ${variable} [^\\n]+\\n`));
      expect(output).not.toContain(SECRET);
    });
  });
});
