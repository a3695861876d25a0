// Once per run of the embedded project: build (or find cached) the migrated PGlite template, so
// that no test file's beforeAll pays for initdb within its hook timeout. Built in a child process:
// vitest loads each project's global setup in a module graph of its own, and two copies of
// src/db/migrator.ts in one process clash over the wasm schema engine's shared glue module.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export default async function setup(): Promise<void> {
  await promisify(execFile)(process.execPath, ["--import", "tsx", "test/support/embedded-template.ts"], { cwd: ROOT });
}
