#!/usr/bin/env node
// Sums every workspace's vitest JSON report into one closing line, `N passed, N failed`,
// which CI reads to count tests. Exits non-zero when a report shows a failure.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;
let passed = 0;
let failed = 0;
let skipped = 0;
for (const group of ['packages', 'apps', 'tooling']) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    for (const file of [
      'test-results.json',
      'test-results.browser.json',
      'test-results.headlessgl.json',
      'test-results.packages.json',
    ]) {
      const report = join(dir, name, file);
      if (!existsSync(report)) continue;
      const r = JSON.parse(readFileSync(report, 'utf8'));
      passed += r.numPassedTests ?? 0;
      failed += r.numFailedTests ?? 0;
      skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
      console.log(`${group}/${name}/${file}: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
    }
  }
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
