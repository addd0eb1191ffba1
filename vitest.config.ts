import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Server suites spawn child processes and big DuckDB files; keep the 2-core machine sane.
    maxWorkers: 2,
  },
});
