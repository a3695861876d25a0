// Embedded-mode test databases: a migrated PGlite data directory, made once per set of migrations
// (and PGlite version) and cached under the OS temp directory, then copied per test file — the
// embedded twin of the PostgreSQL template database (global-setup.ts). A fresh initdb costs 5–20 s
// on a busy machine; a copy costs a fraction of a second. test/embedded.test.ts covers a truly
// fresh DATA_DIR through `npm start`'s code path.
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startEmbeddedPostgres } from "../../src/db/embedded-postgres.js";

const MIGRATIONS = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));
const READY = "template-ready";

/** A new DATA_DIR (temporary) holding a copy of the migrated template database. */
export async function createEmbeddedDataDir(): Promise<string> {
  const template = await embeddedTemplate();
  const dataDir = await mkdtemp(join(tmpdir(), "mc-embedded-test-"));
  await cp(join(template, "pgdata"), join(dataDir, "pgdata"), { recursive: true });
  return dataDir;
}

/** The migrated template DATA_DIR, built on first use (also by the embedded project's globalSetup). */
export async function embeddedTemplate(): Promise<string> {
  const dir = join(tmpdir(), `marketchat-pglite-template-${await templateKey()}`);
  if (existsSync(join(dir, READY))) return dir;
  // Built aside and renamed into place: test files starting in parallel may race to build it,
  // and a half-built template must never be copied.
  const build = `${dir}.build-${process.pid}-${randomBytes(4).toString("hex")}`;
  const embedded = await startEmbeddedPostgres({ dataDir: build });
  await embedded.close();
  await writeFile(join(build, READY), new Date().toISOString());
  try {
    await rename(build, dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
    // Another worker won the race: use its template.
    await rm(build, { recursive: true, force: true });
  }
  return dir;
}

async function templateKey(): Promise<string> {
  const hash = createHash("sha256");
  // The package does not export its package.json: read it next to its entry point (dist/).
  const entry = createRequire(import.meta.url).resolve("@electric-sql/pglite");
  hash.update(await readFile(join(dirname(entry), "..", "package.json")));
  for (const name of (await readdir(MIGRATIONS)).sort()) {
    const file = join(MIGRATIONS, name, "migration.sql");
    if (!existsSync(file)) continue;
    hash.update(name).update(await readFile(file));
  }
  return hash.digest("hex").slice(0, 16);
}

// `node --import tsx test/support/embedded-template.ts`: build the template (embedded-global-setup.ts).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  embeddedTemplate().then(
    (dir) => console.log(dir),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
