import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadVqaBundle, readImage, type VqaBundle } from '../src/bundle.js';
import { buildPage } from '../src/serve/page-build.js';
import { createVqaServer } from '../src/serve/server.js';
import { startVqaServer } from '../src/serve/start.js';
import { cli, FIXTURE, TINY_TRAIN, tempDir } from './helpers.js';

const dir = tempDir();
const bundleDir = join(dir, 'run', 'bundle');
const imagePath = join(FIXTURE, 'val2014', 'COCO_val2014_000000000102.jpg');
const LIMIT = 64 * 1024;
let app: Hono;
let bundle: VqaBundle;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  const r = await cli('train', ...TINY_TRAIN, '--fusion', 'intermediate', '--run-dir', join(dir, 'run'));
  if (r.code !== 0) throw new Error(r.err);
  bundle = await loadVqaBundle(bundleDir);
  app = createVqaServer({ bundle, bundleDir, page: await buildPage(), maxUploadBytes: LIMIT });
}, 180_000);

function form(image: Blob | null, question: string | null, name = 'scene.jpg'): FormData {
  const f = new FormData();
  if (image) f.append('image', image, name);
  if (question !== null) f.append('question', question);
  return f;
}
const jpeg = () => new Blob([readFileSync(imagePath)], { type: 'image/jpeg' });
const answer = (body: FormData) => app.request('/api/answer', { method: 'POST', body });

describe('vqa serve', () => {
  it('POST /api/answer answers as the bundle does in-process, with the attention map', async () => {
    const question = 'What color is the shape?';
    const res = await answer(form(jpeg(), question));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.answers).toEqual(bundle.predict({ image: await readImage(imagePath), question }, 5).answers);
    expect(body.source).toBe('server');
    expect(body.attention.grid).toEqual(bundle.model.image.grid);
    expect(body.attention.weights.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it('refuses bad uploads with 400 / 413 / 415 / 422 naming the problem, and keeps serving', async () => {
    const big = new Blob([new Uint8Array(LIMIT + 1)]);
    const tooBig = await answer(form(big, 'q?'));
    expect(tooBig.status).toBe(413);
    expect((await tooBig.json()).error).toMatch(/larger than 65536 bytes/);
    const text = await answer(form(new Blob(['hello, not an image']), 'q?', 'notes.txt'));
    expect(text.status).toBe(415);
    expect((await text.json()).error).toMatch(/notes\.txt is not a PNG, JPEG/);
    const corrupt = new Blob([
      new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 1, 2]),
    ]);
    const c = await answer(form(corrupt, 'q?', 'broken.png'));
    expect(c.status).toBe(422);
    expect((await c.json()).error).toContain('broken.png');
    const noQuestion = await answer(form(jpeg(), '  '));
    expect([noQuestion.status, (await noQuestion.json()).error]).toEqual([
      400,
      "missing or empty 'question' field",
    ]);
    const noImage = await answer(form(null, 'q?'));
    expect([noImage.status, (await noImage.json()).error]).toEqual([400, "missing the 'image' file field"]);
    const notMultipart = await app.request('/api/answer', {
      method: 'POST',
      body: 'x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(notMultipart.status).toBe(400);
    const unknownWords = await answer(form(jpeg(), 'zyzzyva quux?'));
    expect(unknownWords.status).toBe(200);
    expect((await unknownWords.json()).notes[0]).toMatch(/no word of the question/);
    expect((await answer(form(jpeg(), 'Is the shape a circle?'))).status).toBe(200);
  });

  it('an image of more pixels than allowed is refused before decoding (422), and the server goes on', async () => {
    const small = createVqaServer({ bundle, bundleDir, page: new Map(), maxImagePixels: 1000 });
    const res = await small.request('/api/answer', { method: 'POST', body: form(jpeg(), 'q?') }); // 30×44
    expect(res.status).toBe(422);
    expect((await res.json()).error).toMatch(/scene\.jpg.*1,?320.*1,?000/);
    expect((await answer(form(jpeg(), 'q?'))).status).toBe(200);
  });

  it('serves the bundle files for the page and refuses paths that leave the bundle (403)', async () => {
    const config = await app.request('/bundle/config.json');
    expect(config.status).toBe(200);
    expect((await config.json()).model_type).toBe('polymodal-vqa');
    const weights = await app.request('/bundle/model.safetensors');
    const served = Buffer.from(await weights.arrayBuffer());
    expect(served.equals(readFileSync(join(bundleDir, 'model.safetensors')))).toBe(true);
    for (const path of [
      '/bundle/..%2f..%2fpackage.json',
      '/bundle/..%2Fcheckpoints',
      '/bundle/%2Fetc%2Fpasswd',
    ])
      expect((await app.request(path)).status, path).toBe(403);
    expect((await app.request('/bundle/run.json')).status).toBe(404);
  });

  it('serves the page and its script', async () => {
    const html = await (await app.request('/')).text();
    expect(html).toContain('<title>Polymodal VQA</title>');
    const js = await app.request('/app.js');
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect((await js.text()).length).toBeGreaterThan(10_000);
  });

  it('listens on a real port and stops', async () => {
    const server = await startVqaServer({ bundleDir, port: 0 });
    try {
      const info = await (await fetch(`${server.url}api/info`)).json();
      expect(info).toMatchObject({ fusion: 'intermediate', attentionMap: true, imageSize: 16 });
      const res = await fetch(`${server.url}api/answer`, {
        method: 'POST',
        body: form(jpeg(), 'What color is the shape?'),
      });
      expect(res.status).toBe(200);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('serve with a bundle folder that is not there is a usage error', async () => {
    const r = await cli('serve', '--bundle', join(dir, 'nope'));
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/--bundle .*nope: no such folder/)]);
  });
});
