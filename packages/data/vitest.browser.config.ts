import { chromiumLaunchOptions, packageTestConfig } from '@polymodal/vitest-config';
import { playwright } from '@vitest/browser-playwright';

/**
 * The browser half of this package's tests, in headless Chromium (Debian's /usr/bin/chromium;
 * playwright downloads no browser), with the flags tensor's browser run uses. Only
 * `*.browser.test.ts` files run here: they check what needs a real browser (the OffscreenCanvas
 * scene renderer against the pixel golden the Node renderer matches); `vitest.config.ts` leaves
 * them out of the Node run.
 */
const config = packageTestConfig({
  test: {
    pool: undefined,
    browser: {
      enabled: true,
      headless: true,
      provider: playwright({
        launchOptions: chromiumLaunchOptions(['--enable-unsafe-webgpu', '--use-angle=swiftshader']),
      }),
      instances: [{ browser: 'chromium' }],
    },
  },
});

// Replaced, not merged: the shared include would also pick up the Node-only tests.
config.test!.include = ['src/**/*.browser.test.ts', 'test/**/*.browser.test.ts'];

export default config;
