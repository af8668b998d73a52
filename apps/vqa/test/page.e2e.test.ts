// The web page in headless Chromium (Debian's /usr/bin/chromium, as packages/tensor's browser
// suite; playwright downloads no browser): a generated scene is picked, a question asked, and the
// answer computed in the browser must equal the server's for the same bundle.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderScenePng, sampleScene, sceneQuestions } from '@polymodal/data';
import { Generator } from '@polymodal/tensor';
import { CHROMIUM_PATH, chromiumLaunchOptions } from '@polymodal/vitest-config';
import { type Browser, chromium } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startVqaServer } from '../src/serve/start.js';
import { cli, TINY_TRAIN, tempDir } from './helpers.js';

/** Screenshots land here (ignored by git; CI may keep them as artifacts). */
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-artifacts');
// Skipped without Chromium on a developer's machine; in CI (CI=true) it must run, and fails without it.
const skip = !existsSync(CHROMIUM_PATH) && !process.env.CI;
if (skip)
  console.warn(
    `page.e2e.test.ts skipped: no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium, or set CHROMIUM_PATH)`,
  );

describe.skipIf(skip)('vqa web page in headless Chromium', () => {
  const dir = tempDir();
  let server: RunningServer;
  let browser: Browser;
  const scene = join(dir, 'scene.png');
  let question = '';

  beforeAll(async () => {
    const r = await cli('train', ...TINY_TRAIN, '--fusion', 'intermediate', '--run-dir', join(dir, 'run'));
    if (r.code !== 0) throw new Error(r.err);
    const g = new Generator(7);
    const s = sampleScene(g, { size: 64 });
    writeFileSync(scene, await renderScenePng(s));
    question = sceneQuestions(s, g, 1)[0]!.question;
    server = await startVqaServer({ bundleDir: join(dir, 'run', 'bundle'), port: 0 });
    browser = await chromium.launch(chromiumLaunchOptions());
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a question about a generated scene in the browser exactly as the server does', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}?backend=wasm`);
    await page.waitForFunction(() => window.vqa?.ready, null, { timeout: 120_000 });
    await page.setInputFiles('#image', scene);
    await page.waitForFunction(() => document.getElementById('status')!.textContent!.includes('64×64'));
    await page.fill('#question', question);
    await page.click('#ask');
    await page.waitForFunction(() => window.vqa.last !== null, null, { timeout: 120_000 });
    const last = await page.evaluate(() => window.vqa.last!);
    expect(last.error).toBeUndefined();
    // Same bundle, same code, same wasm kernels, a PNG decoded losslessly: the same float32 scores.
    expect(last.server!.backend).toBe('wasm');
    expect(last.browser!.backend).toBe('wasm');
    expect(last.browser!.answers).toEqual(last.server!.answers);
    expect(last.agree).toBe(true);
    expect(await page.textContent('#agree')).toContain('server and browser agree');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'vqa-page.png'), fullPage: true });
    expect(errors).toEqual([]);
  }, 240_000);
});
