import { defineConfig } from "vitest/config";

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
        test: { name: "postgres", include: ["test/**/*.test.ts"], globalSetup: ["test/support/global-setup.ts"] },
      },
      {
        extends: true,
        test: {
          name: "embedded",
          include: ["test/conversations.test.ts", "test/messages.test.ts"],
          globalSetup: ["test/support/embedded-global-setup.ts"],
          env: { TEST_MODE: "embedded" },
        },
      },
    ],
  },
});
