import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Test files run in parallel, each on its own database and Redis prefix; two cores here.
    pool: "forks",
    maxWorkers: 2,
  },
});
