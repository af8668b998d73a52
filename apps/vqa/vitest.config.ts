import { packageTestConfig } from '@polymodal/vitest-config';

// The page's end-to-end test needs Chromium: `pnpm test:browser` (vitest.browser.config.ts).
export default packageTestConfig({ test: { exclude: ['**/node_modules/**', 'test/**/*.e2e.test.ts'] } });
