import { defineConfig } from "vitest/config";

// Two projects: `unit` (pure logic, no services) and `integration` (against the real local stack, which the
// global setup brings up when it is not running).
export default defineConfig({
  // The workspace packages (@parcel-exchange/*) resolve to their TypeScript sources, not their built dist/.
  resolve: { conditions: ["px-source"] },
  ssr: { resolve: { conditions: ["px-source"] } },
  test: {
    // Integration files share one broker; run files one at a time.
    fileParallelism: false,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          // test/*.test.ts (not *.int.test.ts): checks of repository files that need no services, e.g. test/monitoring.test.ts.
          include: ["services/**/*.test.ts", "load-tests/**/*.test.ts", "test/**/*.test.ts"],
          exclude: ["**/*.int.test.ts", "**/node_modules/**"],
          environment: "node",
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["services/**/*.int.test.ts", "test/**/*.int.test.ts"],
          environment: "node",
          globalSetup: ["test/global-setup.ts"],
          setupFiles: ["test/provision-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 240_000,
          sequence: { concurrent: false },
        },
      },
    ],
  },
});
