// The redis-cluster project's global setup: a real 3-master Redis Cluster from the redis-server
// binary on free loopback ports, for the whole run. Test files learn its nodes from the file
// named by TEST_REDIS_CLUSTER_FILE (env.ts reads it), and run on REDIS_CLUSTER_NODES. The
// project's template database is migrated by a child process: two copies of the wasm migrator in
// one process clash (see vitest.config.ts), and the postgres project's setup has one already.
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { PG_ADMIN_URL, databaseUrl, uniqueName } from "./env.js";
import { startRedisCluster } from "./redis-server.js";

export default async function setup(project: TestProject) {
  const file = project.config.env?.TEST_REDIS_CLUSTER_FILE;
  if (!file) throw new Error("TEST_REDIS_CLUSTER_FILE is not set for this project");
  const template = uniqueName("mc_tmpl_cluster");
  execFileSync(process.execPath, ["--import", "tsx", "scripts/db.ts", "migrate"], {
    env: { ...process.env, DATABASE_URL: databaseUrl(template) },
    stdio: "inherit",
  });
  project.provide("templateDatabase", template);
  const cluster = await startRedisCluster(3);
  writeFileSync(file, cluster.nodes);
  return async () => {
    rmSync(file, { force: true });
    await cluster.stop();
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
    await admin.end();
  };
}
