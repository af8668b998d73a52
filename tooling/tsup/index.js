import { defineConfig } from 'tsup';

/**
 * The build every library shares: ES modules with their declaration files, and no CommonJS build.
 * ESM only makes the dual-package hazard impossible (one `Tensor` class, one engine, one set of
 * registries per process): CommonJS code loads the same ESM files through `require()` (Node
 * 20.19+, which loads ES modules synchronously) or `await import()`. Entries share chunks
 * (`splitting`), so `@polymodal/nn/node` and `@polymodal/nn` use the same module instances.
 * @param {Partial<import('tsup').Options>} [overrides]
 */
export function libraryConfig(overrides = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm'],
    splitting: true,
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    // tsup's .d.ts build does not fail on type errors; `pnpm typecheck` (tsc --noEmit) does.
    tsconfig: 'tsconfig.build.json',
    ...overrides,
  });
}
