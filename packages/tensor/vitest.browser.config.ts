import { chromiumLaunchOptions, packageTestConfig } from '@polymodal/vitest-config';
import { playwright } from '@vitest/browser-playwright';

/**
 * The test suite in headless Chromium (Debian's /usr/bin/chromium; playwright downloads no
 * browser): the wasm kernels, threaded in a cross-origin-isolated page. The GPU suites (WebGL2,
 * WebGPU) are @polymodal/backend-gpujs's.
 */
const backends = process.env.POLYMODAL_BACKENDS ?? 'wasm';

// Cross-origin isolation (COOP + COEP on every response) gives the pages SharedArrayBuffer, so the
// wasm backend's worker pool runs in a browser worker (test/wasm-threads-browser.test.ts).
const crossOriginIsolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

const config = packageTestConfig({
  define: { 'process.env.POLYMODAL_BACKENDS': JSON.stringify(backends) },
  server: { headers: crossOriginIsolation },
  test: {
    pool: undefined,
    browser: {
      enabled: true,
      headless: true,
      provider: playwright({
        launchOptions: chromiumLaunchOptions(),
      }),
      instances: [{ browser: 'chromium' }],
    },
  },
});

// The whole suite runs in the browser (on the default backend there, wasm), plus the
// conformance table against the backends named in POLYMODAL_BACKENDS.
config.test!.include = ['src/**/*.test.ts', 'test/**/*.test.ts'];

export default config;
