import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@trm/source'] },
  ssr: { resolve: { conditions: ['@trm/source'] } },
  test: {
    include: ['packages/*/src/**/*.spec.ts', 'services/*/src/**/*.spec.ts', 'apps/*/src/**/*.spec.ts', 'bench/src/**/*.spec.ts', 'tests/**/*.spec.ts'],
    globalSetup: ['packages/testing/src/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './scripts/count-reporter.ts'],
  },
});
