// The fixture of the suites about files (uploads, attachments): the usual app on a database of the
// file's own, with an UPLOAD_DIR of its own (also the staging area when STORAGE=s3) and a small pg
// pool for looking at what was stored. Call at the top of a file.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { createTestEnv, startApp, type TestEnv } from "./app.js";

export function useUploadApp(name: string, overrides: Record<string, string> = {}) {
  let env: TestEnv | undefined;
  let app: FastifyInstance | undefined;
  let uploadDir: string | undefined;
  let db: pg.Pool | undefined;
  beforeAll(async () => {
    env = await createTestEnv();
    uploadDir = await mkdtemp(join(tmpdir(), `mc-${name}-`));
    ({ app } = await startApp(env, { UPLOAD_DIR: uploadDir, ...overrides }));
    db = new pg.Pool({ connectionString: env.databaseUrl, max: 4 });
  });
  afterAll(async () => {
    await app?.close();
    await db?.end();
    await env?.close();
    if (uploadDir) await rm(uploadDir, { recursive: true, force: true });
  });
  return {
    get env(): TestEnv {
      return env!;
    },
    get app(): FastifyInstance {
      return app!;
    },
    get uploadDir(): string {
      return uploadDir!;
    },
    get db(): pg.Pool {
      return db!;
    },
  };
}
