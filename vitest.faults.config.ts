// The fault suite (`npm run test:faults`, README "Faults"): kills the infrastructure it starts
// itself (a private PostgreSQL, a private Redis, node processes, nginx) under steady load. It takes
// minutes, so it is not part of plain `npm test`; .ci/run calls it right after `npm test`.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // The client package's source, not its build: the suite tests what is in the tree.
    alias: { "@marketchat/client": fileURLToPath(new URL("./packages/client/src/index.ts", import.meta.url)) },
  },
  test: {
    include: ["test/faults/**/*.test.ts"],
    // Scenarios run one after another on one set of servers; each waits for recovery with polls.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    expect: { poll: { timeout: 30_000 } },
    pool: "forks",
    maxWorkers: 1,
  },
});
