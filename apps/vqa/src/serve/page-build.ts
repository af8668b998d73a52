import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { PageFiles } from './server.js';

const PAGE = join(dirname(fileURLToPath(import.meta.url)), '..', 'page');

/**
 * Bundles the web page (src/page/main.ts and the @polymodal packages it uses, from their sources)
 * for the browser with esbuild, in memory: `serve` builds it once when it starts.
 */
export async function buildPage(): Promise<PageFiles> {
  const result = await build({
    entryPoints: [join(PAGE, 'main.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['@polymodal/source'],
    // Reached only through dynamic imports on Node paths (saving files, worker threads).
    external: ['node:*'],
    outfile: 'app.js',
    minify: true,
    logLevel: 'silent',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('app.js'));
  if (!js) throw new Error('buildPage: esbuild wrote no app.js');
  return new Map([
    [
      'index.html',
      { body: await readFile(join(PAGE, 'index.html'), 'utf8'), type: 'text/html; charset=utf-8' },
    ],
    ['app.js', { body: js.text, type: 'text/javascript; charset=utf-8' }],
  ]);
}
