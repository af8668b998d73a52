#!/usr/bin/env node
// Scaffolds a publishable library under packages/<name> with the shared build, test and lint setup.
// Usage: node tooling/scripts/new-package.mjs <name> "<one-line description>"
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const TSCONFIG = {
  extends: '@polymodal/tsconfig/base.json',
  include: ['src', 'test'],
};
const TSCONFIG_BUILD = {
  extends: '@polymodal/tsconfig/base.json',
  compilerOptions: { customConditions: [], noEmit: false },
  include: ['src'],
  exclude: ['src/**/*.test.ts'],
};

const [name, description = ''] = process.argv.slice(2);
if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
  console.error('usage: new-package.mjs <kebab-case-name> "<description>"');
  process.exit(2);
}
const dir = join(new URL('../../packages/', import.meta.url).pathname, name);
if (existsSync(dir)) {
  console.error(`packages/${name} already exists`);
  process.exit(2);
}
mkdirSync(join(dir, 'src'), { recursive: true });
const write = (file, text) => writeFileSync(join(dir, file), text);
write('package.json', `${JSON.stringify(libraryPackageJson(`@polymodal/${name}`, description), null, 2)}\n`);
write('tsconfig.json', `${JSON.stringify(TSCONFIG, null, 2)}\n`);
write('tsconfig.build.json', `${JSON.stringify(TSCONFIG_BUILD, null, 2)}\n`);
write(
  'tsup.config.ts',
  "import { libraryConfig } from '@polymodal/tsup-config';\n\nexport default libraryConfig();\n",
);
write(
  'vitest.config.ts',
  "import { packageTestConfig } from '@polymodal/vitest-config';\n\nexport default packageTestConfig();\n",
);
write(
  'README.md',
  `# @polymodal/${name}\n\n${description}\n\n\`\`\`sh\nnpm install @polymodal/${name}\n\`\`\`\n`,
);
write('src/index.ts', 'export {};\n');
// npm packs a LICENSE only from the package's own folder, not from the repository root.
copyFileSync(new URL('../../LICENSE', import.meta.url), join(dir, 'LICENSE'));
console.log(`created packages/${name}; run pnpm install`);

export function libraryPackageJson(pkgName, desc) {
  return {
    name: pkgName,
    version: '0.1.0',
    description: desc,
    license: 'MIT',
    type: 'module',
    sideEffects: false,
    exports: {
      // ESM only (see tooling/tsup): no `require` condition, no second copy of anything.
      '.': { '@polymodal/source': './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' },
      './package.json': './package.json',
    },
    main: './dist/index.js',
    types: './dist/index.d.ts',
    files: ['dist', 'src', '!src/**/*.test.ts', 'LICENSE'],
    engines: { node: '>=20' },
    scripts: {
      build: 'tsup',
      typecheck: 'tsc --noEmit',
      lint: 'biome check .',
      test: 'vitest run',
      publint: 'publint --strict && attw --pack . --profile esm-only',
    },
    devDependencies: {
      '@polymodal/tsconfig': 'workspace:*',
      '@polymodal/tsup-config': 'workspace:*',
      '@polymodal/vitest-config': 'workspace:*',
      '@types/node': '20.19.43',
      tsup: '9.0.0',
      vitest: '4.1.12',
    },
  };
}
