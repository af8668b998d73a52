import { defineConfig } from 'tsup';

/**
 * The build every library shares: ESM and CommonJS bundles with their own declaration files,
 * so `import` and `require` both resolve typed entry points (checked by publint and attw).
 * @param {Partial<import('tsup').Options>} [overrides]
 */
export function libraryConfig(overrides = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    // tsup's .d.ts build does not fail on type errors; `pnpm typecheck` (tsc --noEmit) does.
    tsconfig: 'tsconfig.build.json',
    ...overrides,
  });
}
