import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The top-level models/ folder is not a workspace package: its `@lamina/dsl` imports resolve
    // to this repository's DSL (the same file the packages reach through their node_modules link;
    // tsconfig.json's "paths" does the same for the type-check).
    alias: [{ find: /^@lamina\/dsl$/, replacement: fileURLToPath(new URL('./packages/dsl/src/index.ts', import.meta.url)) }],
  },
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
