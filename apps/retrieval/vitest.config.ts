import { packageTestConfig } from '@polymodal/vitest-config';

const config = packageTestConfig();
// Vitest hands the resolve conditions to Node as `--conditions`; with `import` among them, pg's
// CommonJS `require('pg-pool')` gets pg-pool's ESM build ("Class extends value [object Module]").
// Node adds `import`/`require` itself as appropriate, so drop it from the list here.
const drop = (list?: string[]) => list?.filter((c) => c !== 'import');
if (config.resolve) config.resolve.conditions = drop(config.resolve.conditions);
if (config.ssr?.resolve) config.ssr.resolve.conditions = drop(config.ssr.resolve.conditions);
export default config;
