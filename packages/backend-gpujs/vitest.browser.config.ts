import { chromiumLaunchOptions, packageTestConfig } from '@polymodal/vitest-config';
import { playwright } from '@vitest/browser-playwright';

/**
 * The gpu.js suites in headless Chromium (Debian's /usr/bin/chromium; playwright downloads no
 * browser): the WebGL2 kernels on SwiftShader, and WebGPU with --enable-unsafe-webgpu.
 */
const backends = process.env.POLYMODAL_BACKENDS ?? 'gpujs-webgl2,gpujs-webgpu';

const config = packageTestConfig({
  define: { 'process.env.POLYMODAL_BACKENDS': JSON.stringify(backends) },
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

// The whole suite runs in the browser, the conformance table against the backends named in
// POLYMODAL_BACKENDS.
config.test!.include = ['src/**/*.test.ts', 'test/**/*.test.ts'];

export default config;
