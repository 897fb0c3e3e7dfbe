import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env: { TF_CPP_MIN_LOG_LEVEL: '3' },
    setupFiles: ['./vitest.setup.ts'],
  },
});
