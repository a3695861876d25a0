// Database migrations CLI (npm run db:migrate | db:status | db:diff | db:create <name>).
// Prisma's own `migrate` commands need a native engine we cannot download here; this applies
// migrations with src/db/migration-runner.ts (plain pg) and drives the wasm engine through
// scripts/migration-engine.ts with the same migrations layout and bookkeeping.
//
//   tsx scripts/db.ts migrate           apply pending migrations (creates the database if missing)
//   tsx scripts/db.ts status            exit 1 on pending/failed migrations or history drift
//   tsx scripts/db.ts diff              exit 2 and print the SQL when schema.prisma has changes
//                                       that no migration holds, exit 0 when in sync
//   tsx scripts/db.ts create <name>     write prisma/migrations/<timestamp>_<name>/migration.sql
//
// Options: --schema <file> (use another schema.prisma, migrations stay in prisma/migrations),
//          --verbose (log progress and engine output to stderr).
// DATABASE_URL defaults to postgresql://postgres@127.0.0.1:5432/marketchat.
import { parseArgs } from "node:util";

import { migrate } from "../src/db/migration-runner.js";
import { createMigration, diff, status, type MigratorOptions } from "./migration-engine.js";

const USAGE = "usage: tsx scripts/db.ts migrate|status|diff|create <name> [--schema <file>] [--verbose]";

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      schema: { type: "string" },
      verbose: { type: "boolean", short: "v" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.error(USAGE);
    return values.help ? 0 : 64;
  }

  const databaseUrl = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/marketchat";
  const opts: MigratorOptions = {
    schemaPath: values.schema,
    log: values.verbose ? (line) => console.error(`[migrator] ${line}`) : undefined,
  };
  const started = performance.now();
  const elapsed = () => `${Math.round(performance.now() - started)} ms`;

  switch (command) {
    case "migrate": {
      const { applied } = await migrate(databaseUrl, opts);
      console.log(
        applied.length === 0
          ? `No pending migrations (${elapsed()}).`
          : `Applied ${applied.length} migration(s) in ${elapsed()}:\n${applied.map((n) => `  ${n}`).join("\n")}`,
      );
      return 0;
    }

    case "status": {
      const s = await status(databaseUrl, opts);
      const list = (names: string[]) => (names.length ? names.join(", ") : "none");
      console.log(`Migrations on disk: ${s.local.length}; applied: ${s.applied.length}`);
      if (!s.hasMigrationsTable) console.log("The database has no _prisma_migrations table (never migrated).");
      if (s.pending.length) console.log(`Pending: ${list(s.pending)}`);
      if (s.failed.length) console.log(`FAILED: ${list(s.failed)} (fix, then mark rolled back or resolve by hand)`);
      if (s.edited.length) console.log(`Edited after being applied (checksum mismatch): ${list(s.edited)}`);
      if (s.missingLocally.length) console.log(`Applied but missing from prisma/migrations: ${list(s.missingLocally)}`);
      if (s.drift && !s.edited.length && !s.missingLocally.length) {
        console.log("The database's migration history and prisma/migrations have diverged.");
      }
      console.log(s.upToDate ? "Database schema is up to date." : "Database is NOT up to date.");
      return s.upToDate ? 0 : 1;
    }

    case "diff": {
      const { changed, sql } = await diff(databaseUrl, opts);
      if (!changed) {
        console.error("schema.prisma matches prisma/migrations.");
        return 0;
      }
      process.stdout.write(sql.endsWith("\n") ? sql : `${sql}\n`);
      console.error("schema.prisma has changes that no migration holds: run `npm run db:create -- <name>`.");
      return 2;
    }

    case "create": {
      const [name] = rest;
      if (!name || rest.length > 1) {
        console.error("usage: tsx scripts/db.ts create <name>");
        return 64;
      }
      const created = await createMigration(databaseUrl, name, opts);
      if (!created.path) {
        console.log("schema.prisma matches prisma/migrations: no migration created.");
      } else {
        console.log(`Created ${created.path}\nReview it (no data-loss warnings are generated), then run npm run db:migrate.`);
      }
      return 0;
    }

    default:
      console.error(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
      return 64;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
