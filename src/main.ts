// Process entry: configuration → buildApp → listen, and a bounded drain on SIGTERM / SIGINT.
import { resolve } from "node:path";
import { ConfigError, loadConfig, type Config } from "./config/config.js";
import { buildApp } from "./app.js";
import { loadOrCreateDevSecret } from "./dev/dev-secret.js";
import { demoAccessText, mintDemoTokens, seedDemo } from "./dev/demo-access.js";

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  // Embedded mode without a key (config.ts allows it only outside production): a development
  // secret kept in DATA_DIR, and demo tokens once the node listens.
  const devSecret = !config.JWT_SECRET && !config.JWT_PUBLIC_KEY && !config.JWT_JWKS_URL ? await loadOrCreateDevSecret(config.DATA_DIR) : null;
  if (devSecret) config = Object.freeze({ ...config, JWT_SECRET: devSecret.secret });
  // Apply pending migrations before serving (PostgreSQL mode; embedded mode migrates its own
  // database as it opens it). Safe with several nodes starting at once: the migration runner takes
  // Prisma's advisory lock, the first node applies, the others find nothing to do.
  // While PostgreSQL is away (a failover, the cluster starting in any order) the node waits and
  // retries, bounded by DATABASE_STARTUP_TIMEOUT_MS, instead of exiting (src/db/startup-retry.ts).
  if (config.DATABASE_URL) {
    const url = config.DATABASE_URL;
    const { migrate, databaseExists } = await import("./db/migration-runner.js");
    const { retryWhileUnavailable } = await import("./db/startup-retry.js");
    const what = config.MIGRATE_ON_START ? "migrations" : "database check";
    const { applied } = await retryWhileUnavailable(
      what,
      () => (config.MIGRATE_ON_START ? migrate(url) : databaseExists(url).then(() => ({ applied: [] as string[] }))),
      { timeoutMs: config.DATABASE_STARTUP_TIMEOUT_MS, log: (line) => process.stderr.write(`${line}\n`) },
    ).catch((err: Error) => {
      process.stderr.write(
        config.MIGRATE_ON_START
          ? `Start-up failed: migrations could not be applied to DATABASE_URL (${err.message})\n`
          : `Start-up failed: DATABASE_URL is not reachable (${err.message})\n`,
      );
      process.exit(1);
    });
    if (applied.length > 0) process.stdout.write(`migrations applied: ${applied.join(", ")}\n`);
  }
  const app = await buildApp(config).catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  });
  await app.listen({ port: config.PORT, host: config.HOST });
  const runMode = runModeWarning(config);
  if (runMode) app.log.warn({ dataDir: resolve(config.DATA_DIR) }, runMode);
  if (devSecret) {
    const tokens = mintDemoTokens(config, devSecret.secret);
    await seedDemo(app, tokens);
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : config.PORT;
    process.stdout.write(await demoAccessText(config, tokens, devSecret.path, `http://localhost:${port}`));
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, "shutting down: draining connections");
    const force = setTimeout(() => {
      app.log.error("shutdown timed out; exiting");
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  // A promise rejected deep inside a library must not take the whole node (and its sockets) down.
  process.on("unhandledRejection", (err) => app.log.error({ err }, "unhandled rejection"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

/** The one warning line of a node that runs without PostgreSQL or without Redis (README, "Embedded mode"). */
function runModeWarning(config: Config): string | null {
  const dataDir = resolve(config.DATA_DIR);
  if (!config.DATABASE_URL && !config.REDIS_URL) {
    return `embedded single-node mode: embedded PostgreSQL (PGlite) with its data in ${dataDir}; fan-out, presence and rate limits in memory. Run one node only, not in production (set DATABASE_URL and REDIS_URL)`;
  }
  if (!config.DATABASE_URL) {
    return `embedded database mode: embedded PostgreSQL (PGlite) with its data in ${dataDir}. Run one node only, not in production (set DATABASE_URL)`;
  }
  if (!config.REDIS_URL) {
    return "single-node mode: no REDIS_URL, so fan-out, presence and rate limits are in memory. Run one node only (set REDIS_URL to run several)";
  }
  return null;
}

main().catch((err: unknown) => {
  process.stderr.write(`Start-up failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
