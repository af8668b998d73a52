#!/usr/bin/env node
// Prints the commands of the README's Quickstart block, one a line, comments stripped, so `.ci/run`
// runs exactly what a new user copies (and fails when the README and the repository drift apart).
import { readFileSync } from 'node:fs';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = readme.split(/^## Quickstart\s*$/m)[1];
const block = section?.match(/```sh\n([\s\S]*?)```/)?.[1];
if (!block) {
  console.error('README.md: no ```sh block under "## Quickstart"');
  process.exit(1);
}
for (const line of block.split('\n')) {
  const command = line.replace(/\s+#.*$/, '').trim();
  if (command && !command.startsWith('#')) console.log(command);
}
