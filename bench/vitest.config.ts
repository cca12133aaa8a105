import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The bench's own tests (`npx vitest run -c bench/vitest.config.ts`): the root config only
// collects packages/, services/, apps/ and tests/.
export default defineConfig({
  root: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'),
  resolve: { conditions: ['@trm/source'] },
  ssr: { resolve: { conditions: ['@trm/source'] } },
  test: {
    include: ['bench/src/**/*.spec.ts'],
    globalSetup: ['packages/testing/src/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './scripts/count-reporter.ts'],
  },
});
