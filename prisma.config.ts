// Prisma CLI configuration. Prisma 7's CLI wants a native schema-engine binary before generate /
// validate / format and downloads it when absent; our machines and CI reach only the npm registry,
// so we point it at a stub (scripts/schema-engine-stub.sh) that explains to use `npm run db:*`.
// `generate` never runs the engine. Set PRISMA_USE_NATIVE_ENGINE=1 to let Prisma fetch its own.
import { defineConfig } from "prisma/config";
import { fileURLToPath } from "node:url";

if (!process.env.PRISMA_USE_NATIVE_ENGINE) {
  process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(
    new URL("./scripts/schema-engine-stub.sh", import.meta.url),
  );
}

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/marketchat" },
});
