// The s3 project's global setup: the attachment and upload suites run again with STORAGE=s3
// against one S3 protocol server (s3rver) for the whole run; each test file gets a bucket of its
// own (createTestEnv). Test files learn the endpoint from the file named by TEST_S3_FILE. The
// template database is migrated by a child process, as in redis-cluster-setup.ts (two copies of
// the wasm migrator in one process clash).
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { PG_ADMIN_URL, databaseUrl, uniqueName } from "./env.js";
import { startS3Server } from "./s3-server.js";

export default async function setup(project: TestProject) {
  const file = project.config.env?.TEST_S3_FILE;
  if (!file) throw new Error("TEST_S3_FILE is not set for this project");
  const template = uniqueName("mc_tmpl_s3");
  execFileSync(process.execPath, ["--import", "tsx", "scripts/db.ts", "migrate"], {
    env: { ...process.env, DATABASE_URL: databaseUrl(template) },
    stdio: "inherit",
  });
  project.provide("templateDatabase", template);
  const s3 = await startS3Server();
  writeFileSync(file, s3.endpoint);
  return async () => {
    rmSync(file, { force: true });
    await s3.close();
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
    await admin.end();
  };
}
