import { packageTestConfig } from '@polymodal/vitest-config';

// The page's end-to-end test needs Chromium: `pnpm test:browser` (vitest.browser.config.ts).
// Generous timeouts: the tests train tiny models, and the machines they run on are often busy.
export default packageTestConfig({
  test: {
    exclude: ['**/node_modules/**', 'test/**/*.e2e.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
