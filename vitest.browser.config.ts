import { defineConfig } from 'vitest/config';

// The browser tests (`npm run test:browser`): the dashboard and the HTML report in Debian's chromium,
// driven by playwright-core. They need the built CLI and dashboard (`npm run build`).
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
