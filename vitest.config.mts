import { defineConfig } from 'vitest/config';

// Unit and integration tests run together (`npm test`); the machine has two
// cores, so workers are capped to keep socket tests from starving each other.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
