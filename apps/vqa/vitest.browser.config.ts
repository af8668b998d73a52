import { packageTestConfig } from '@polymodal/vitest-config';

/**
 * The web page in headless Chromium (Debian's /usr/bin/chromium, driven by playwright from Node):
 * `pnpm test:browser`, which the root `pnpm test:gpu` runs after CI has installed Chromium.
 */
const config = packageTestConfig({ test: { testTimeout: 240_000, hookTimeout: 240_000 } });
config.test!.include = ['test/**/*.e2e.test.ts'];
export default config;
