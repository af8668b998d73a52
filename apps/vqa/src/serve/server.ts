import { readFile } from 'node:fs/promises';
import { confinedPath, decodeImage, ImageDecodeError, sniffImageFormat } from '@polymodal/data';
import { getBackend } from '@polymodal/tensor';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { BUNDLE_FILES, type VqaBundle } from '../bundle.js';
import { encodeQuestion } from '../bundle-core.js';
import { ATTENTION_MAP_FUSIONS, attentionMap } from '../model/attention-map.js';

/** The built web page: file name → contents (index.html, app.js, …). */
export type PageFiles = ReadonlyMap<string, { body: string; type: string }>;

export interface VqaServerOptions {
  bundle: VqaBundle;
  /** The bundle's folder: its six files are served under `/bundle/` for the page to run in the browser. */
  bundleDir: string;
  page: PageFiles;
  /** Largest accepted request body, bytes (413 above). Default 10 MiB. */
  maxUploadBytes?: number;
  /**
   * Largest decoded image, pixels (422 above, checked on the header before decoding): a small
   * file can declare a huge image. Default 40 million (a 7,000 × 5,700 photo).
   */
  maxImagePixels?: number;
}

/** `{ error }` with a status: every failure of the API answers this way, and the server goes on. */
const fail = (status: 400 | 403 | 404 | 413 | 415 | 422 | 500, error: string) =>
  Response.json({ error }, { status });

/**
 * The VQA web server (Hono): `POST /api/answer` (multipart `image` + `question` → top answers, notes,
 * the attention map where the fusion has one), `GET /api/info`, the bundle's files under `/bundle/`
 * (so the page can answer in the browser with the same weights) and the page itself. An upload over
 * `maxUploadBytes` gets 413, a file that is not an image 415, a corrupt one or one of more than
 * `maxImagePixels` 422, a path that leaves the bundle 403.
 *
 * ```ts
 * serve({ fetch: createVqaServer({ bundle, bundleDir, page }).fetch, port: 8080 });
 * ```
 */
export function createVqaServer(options: VqaServerOptions): Hono {
  const { bundle, bundleDir, page } = options;
  const maxUploadBytes = options.maxUploadBytes ?? 10 * 1024 * 1024;
  const maxImagePixels = options.maxImagePixels ?? 40_000_000;
  const app = new Hono();
  // Cross-origin isolation lets the page's wasm backend use threads (SharedArrayBuffer).
  app.use('*', async (c, next) => {
    await next();
    c.res.headers.set('Cross-Origin-Opener-Policy', 'same-origin');
    c.res.headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
  });

  app.get('/api/info', (c) =>
    c.json({
      fusion: bundle.config.fusion.type,
      attentionMap: ATTENTION_MAP_FUSIONS.includes(bundle.config.fusion.type),
      imageSize: bundle.config.imageSize,
      answers: bundle.answers.length,
      backend: getBackend(),
      files: Object.values(BUNDLE_FILES),
      maxUploadBytes,
      maxImagePixels,
    }),
  );

  app.post(
    '/api/answer',
    bodyLimit({
      maxSize: maxUploadBytes,
      onError: () => fail(413, `upload larger than ${maxUploadBytes} bytes`),
    }),
    async (c) => {
      let form: FormData;
      try {
        form = await c.req.formData();
      } catch {
        return fail(400, 'expected a multipart/form-data body with an image file and a question');
      }
      const file = form.get('image');
      const question = form.get('question');
      if (!(file instanceof Blob)) return fail(400, "missing the 'image' file field");
      if (typeof question !== 'string' || question.trim() === '')
        return fail(400, "missing or empty 'question' field");
      const bytes = new Uint8Array(await file.arrayBuffer());
      const name = file instanceof File ? file.name : 'upload';
      if (bytes.length === 0) return fail(400, `${name} is empty`);
      if (sniffImageFormat(bytes) === null)
        return fail(415, `${name} is not a PNG, JPEG, WebP, GIF, TIFF or AVIF image`);
      let image: Awaited<ReturnType<typeof decodeImage>>;
      try {
        image = await decodeImage(bytes, { file: name, limitInputPixels: maxImagePixels });
      } catch (e) {
        if (e instanceof ImageDecodeError) return fail(422, e.message);
        throw e;
      }
      const started = performance.now();
      const prediction = bundle.predict({ image, question }, 5);
      const { ids } = encodeQuestion(bundle.tokenizer, question, bundle.config.maxTextLength);
      const map = attentionMap(bundle.model, bundle.processor, image, ids);
      return c.json({
        ...prediction,
        attention: map ? { grid: map.grid, weights: [...map.weights] } : null,
        source: 'server',
        backend: getBackend(),
        ms: performance.now() - started,
      });
    },
  );

  app.get('/bundle/*', async (c) => {
    const name = decodeURIComponent(c.req.path.slice('/bundle/'.length));
    const where = confinedPath(bundleDir, name);
    if ('problem' in where) return fail(403, `refused: ${where.problem}`);
    if (!(Object.values(BUNDLE_FILES) as string[]).includes(name))
      return fail(404, `${name} is not a bundle file`);
    return new Response(new Uint8Array(await readFile(where.path)), {
      headers: { 'content-type': name.endsWith('.json') ? 'application/json' : 'application/octet-stream' },
    });
  });

  app.get('/*', (c) => {
    const name = c.req.path === '/' ? 'index.html' : decodeURIComponent(c.req.path.slice(1));
    const file = page.get(name);
    if (!file) return fail(404, `no ${name}`);
    return new Response(file.body, { headers: { 'content-type': file.type } });
  });

  app.onError((e) => fail(500, (e as Error).message));
  return app;
}
