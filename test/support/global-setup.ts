// Once per test run: migrate a template database. Each test file then clones it
// (CREATE DATABASE … TEMPLATE), which takes milliseconds instead of a migration per file.
import pg from "pg";
import type { TestProject } from "vitest/node";
import { migrate } from "../../src/db/migration-runner.js";
import { PG_ADMIN_URL, databaseUrl, uniqueName } from "./env.js";

declare module "vitest" {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}

export default async function setup(project: TestProject) {
  const name = uniqueName("mc_tmpl");
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  await migrate(databaseUrl(name));
  project.provide("templateDatabase", name);
  return async () => {
    const c = new pg.Client({ connectionString: PG_ADMIN_URL });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await c.end();
  };
}
