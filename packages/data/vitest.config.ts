import { packageTestConfig } from '@polymodal/vitest-config';
import { configDefaults } from 'vitest/config';

// `*.browser.test.ts` need a real browser: `pnpm test:browser` (vitest.browser.config.ts) runs them.
export default packageTestConfig({
  test: { exclude: [...configDefaults.exclude, '**/*.browser.test.ts'] },
});
