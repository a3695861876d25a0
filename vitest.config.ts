import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { configDefaults, defineConfig } from "vitest/config";

/** React 18 (packages/react18-check), for the hooks suite's second run. */
const REACT_18 = resolve(import.meta.dirname, "packages/react18-check/node_modules");

/** Where the redis-cluster project's global setup leaves its cluster's nodes for the test files. */
const REDIS_CLUSTER_FILE = join(tmpdir(), `marketchat-redis-cluster-${process.pid}.txt`);
/** Where the s3 project's global setup leaves its S3 endpoint for the test files. */
const S3_FILE = join(tmpdir(), `marketchat-s3-${process.pid}.txt`);

export default defineConfig({
  test: {
    testTimeout: 30_000,
    // expect.poll waits for events from other processes; on two shared cores 1 s (the default) is
    // sometimes not enough. A poll still fails when its condition never comes.
    expect: { poll: { timeout: 10_000 } },
    hookTimeout: 60_000,
    // Test files run in parallel, each on its own database and Redis prefix; two cores here.
    pool: "forks",
    maxWorkers: 2,
    // The core HTTP and socket suites run twice: on PostgreSQL + Redis, and in embedded mode
    // (PGlite under a temporary DATA_DIR, no Redis), as `npm start` runs on a fresh machine.
    // globalSetup sits in each project, not at the root: projects that extend a root globalSetup
    // run it again in a module graph of their own.
    projects: [
      {
        extends: true,
        test: {
          name: "postgres",
          include: ["test/**/*.test.ts"],
          // The fault suite has a config of its own (vitest.faults.config.ts, `npm run test:faults`).
          exclude: [...configDefaults.exclude, "test/faults/**"],
          globalSetup: ["test/support/global-setup.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "embedded",
          include: ["test/conversations.test.ts", "test/messages.test.ts", "test/client-reactions-support.test.ts"],
          globalSetup: ["test/support/embedded-global-setup.ts"],
          env: { TEST_MODE: "embedded" },
        },
      },
      // @marketchat/react's hooks suite again on React 18 (the package supports 18 and 19; the
      // root installs 19). Every import of react and react-dom, the hooks package's and the
      // testing library's included (its ES module build, so the aliases reach it), resolves to React 18.
      {
        extends: true,
        test: {
          name: "react18",
          include: ["test/react-hooks.test.ts"],
          globalSetup: ["test/support/global-setup.ts"],
          env: { EXPECT_REACT_MAJOR: "18" },
        },
        resolve: {
          alias: [
            // The testing library's ES module build, so its imports of react-dom go through the aliases.
            { find: /^@testing-library\/react$/, replacement: resolve(import.meta.dirname, "node_modules/@testing-library/react/dist/@testing-library/react.esm.js") },
            { find: /^react$/, replacement: join(REACT_18, "react/index.js") },
            { find: /^react\/(.*)$/, replacement: join(REACT_18, "react/$1") },
            { find: /^react-dom$/, replacement: join(REACT_18, "react-dom/index.js") },
            { find: /^react-dom\/(.*)$/, replacement: join(REACT_18, "react-dom/$1") },
          ],
        },
      },
      // The suites that touch Redis again, on a private 3-master Redis Cluster
      // (REDIS_CLUSTER_NODES): the bus's sharded channels, presence's scripts, rate limits.
      {
        extends: true,
        test: {
          name: "redis-cluster",
          include: [
            "test/event-bus.test.ts",
            "test/hot-path.test.ts",
            "test/messages.test.ts",
            "test/cluster-messaging.test.ts",
            "test/typing-notifications.test.ts",
            "test/presence-store.test.ts",
            "test/presence-cluster.test.ts",
            "test/rate-limits.test.ts",
          ],
          globalSetup: ["test/support/redis-cluster-setup.ts"],
          env: { TEST_REDIS_CLUSTER_FILE: REDIS_CLUSTER_FILE },
        },
      },
      // The attachment and upload suites again with STORAGE=s3 (one suite, two backends): each
      // file on a bucket of its own of one S3 protocol server (s3rver) for the run.
      {
        extends: true,
        test: {
          name: "s3",
          include: ["test/attachments.test.ts", "test/uploads.test.ts"],
          globalSetup: ["test/support/s3-global-setup.ts"],
          env: { TEST_S3_FILE: S3_FILE },
        },
      },
    ],
  },
});
