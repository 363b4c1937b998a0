import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The tests share one sandbox and reset it: one file at a time.
    fileParallelism: false,
    testTimeout: 30_000,
  },
});
