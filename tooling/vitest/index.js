import { availableParallelism } from 'node:os';
import { defineConfig, mergeConfig } from 'vitest/config';

/** Resolve `@polymodal/*` imports to their `src/` so tests never wait on a build. */
const SOURCE_CONDITION = '@polymodal/source';
const conditions = [SOURCE_CONDITION, 'module', 'node', 'import', 'default'];

/**
 * The test setup every package shares. Results also go to `test-results.json` (a turbo output),
 * which `.ci/run` sums into its closing `N passed, N failed` line.
 * @param {import('vitest/config').UserConfig} [overrides]
 */
export function packageTestConfig(overrides = {}) {
  return mergeConfig(
    defineConfig({
      resolve: { conditions },
      ssr: { resolve: { conditions, externalConditions: [SOURCE_CONDITION] } },
      test: {
        include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
        reporters: [
          'default',
          ['json', { outputFile: process.env.POLYMODAL_TEST_REPORT ?? 'test-results.json' }],
        ],
        // Hang guards, not speed checks: CI runs every package's suite at once, where on a small
        // machine a test that takes 5 s alone can take over a minute. Speed checks measure CPU time.
        testTimeout: 180_000,
        hookTimeout: 180_000,
        pool: 'forks',
        // One worker per core (turbo already runs several packages' suites side by side).
        maxWorkers: Math.max(1, availableParallelism()),
      },
    }),
    overrides,
  );
}

/** Debian's Chromium (playwright downloads no browser here); `CHROMIUM_PATH` points elsewhere. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags that keep headless Chromium quiet on a closed network (see SETUP-NOTES). */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/**
 * Playwright launch options for every browser suite: the Chromium above with the shared flags,
 * plus `extraArgs` (e.g. `--enable-unsafe-webgpu`).
 * @param {string[]} [extraArgs]
 */
export function chromiumLaunchOptions(extraArgs = []) {
  return { executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] };
}
