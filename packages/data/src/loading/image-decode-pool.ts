import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ArgumentError, checkPositiveInt, PolymodalError } from '@polymodal/tensor';
import { loadSharp, oneLine, UNKNOWN_FORMAT } from '../image/decode-image.js';
import { checkEncodedImage, resolvePixelLimit, sniffImageFormat } from '../image/image-bytes.js';
import { ImageDecodeError } from '../image/image-decode-error.js';
import type { ImageProcessor } from '../image/image-processor.js';
import { pixelKernels } from '../image/pixel-kernels.js';
import { type RgbImage, rgbFromInterleaved } from '../image/rgb-image.js';
import type { ChwImage } from '../image/transforms.js';

// The worker is plain CommonJS evaluated from a string so it runs the same from TypeScript sources
// (tests) and from the built bundles; codecs are required by absolute paths resolved here. Its
// pixel arithmetic is not a copy: it embeds the text of `pixelKernels` (the function every
// main-thread transform calls) and of `sniffImageFormat`, both self-contained by construction
// (see pixel-kernels.ts), so a worker and the main thread run the same code and agree bit for bit.
// Decoding mirrors `decodeImage` ('auto': sharp where it loads, else pngjs / jpeg-js; the same
// byte checks, pixel limit and error texts).
const workerSource = (): string => `
// esbuild with keepNames (tsx, some bundlers) wraps inner functions in __name(fn, 'name') calls;
// the embedded function texts may carry them, so the worker defines a no-op.
var __name = (fn) => fn;
const { parentPort, workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
let sharp = null;
if (workerData.useSharp) {
  // Under --conditions import (vitest) the path resolved is sharp's ESM entry, which Node 20.19's
  // require(esm) returns as a namespace: take its default export.
  try { const m = require(workerData.sharp); sharp = typeof m === 'function' ? m : m && typeof m.default === 'function' ? m.default : null; } catch { sharp = null; }
}
const { PNG } = require(workerData.pngjs);
const jpeg = require(workerData.jpeg);
const { inflateSync } = require('node:zlib');
const limit = workerData.limitInputPixels === null ? Infinity : workerData.limitInputPixels;
const sniffImageFormat = ${sniffImageFormat.toString()};
const checkEncodedImage = ${checkEncodedImage.toString()};
const oneLine = ${oneLine.toString()};
const kernels = (${pixelKernels.toString()})();
const plans = new Map();
class DecodeFailure extends Error {}
const message = (e) => (e && e.message ? e.message : String(e));
function decodeJs(bytes, format) {
  if (format !== 'png' && format !== 'jpeg') throw new DecodeFailure(format + ': the pure-JS decoders read PNG and JPEG only; ' + format + ' needs sharp');
  try { checkEncodedImage(bytes, format, limit, (d, max) => inflateSync(d, { maxOutputLength: max })); }
  catch (e) { throw new DecodeFailure(message(e)); }
  try {
    if (format === 'png') {
      // 16-bit: drop the low byte as sharp does (see decodeImageJs).
      const sixteen = bytes[24] === 16;
      const p = PNG.sync.read(bytes, sixteen ? { skipRescale: true } : {});
      return { data: sixteen ? Uint8Array.from(p.data, (v) => v >> 8) : p.data, width: p.width, height: p.height, channels: 4 };
    }
    const jpegLimits = Number.isFinite(limit)
      ? { maxResolutionInMP: limit / 1e6, maxMemoryUsageInMB: Math.max(512, Math.ceil((limit * 16) / 2 ** 20)) }
      : { maxResolutionInMP: Infinity, maxMemoryUsageInMB: Infinity };
    const j = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, tolerantDecoding: false, ...jpegLimits });
    return { data: j.data, width: j.width, height: j.height, channels: 4 };
  } catch (e) { throw new DecodeFailure(format + ': ' + message(e)); }
}
async function decode(path) {
  let bytes;
  try { bytes = readFileSync(path); } catch (e) { throw new DecodeFailure(e && e.code ? e.code : message(e)); }
  const format = sniffImageFormat(bytes);
  if (format === null) throw new DecodeFailure('${UNKNOWN_FORMAT}');
  if (sharp) {
    // One decoder per platform, as in decodeImage: sharp's verdict is final.
    try {
      checkEncodedImage(bytes, format, limit, null);
      const r = await sharp(bytes, { limitInputPixels: Number.isFinite(limit) ? limit : false }).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      return { data: r.data, width: r.info.width, height: r.info.height, channels: r.info.channels };
    } catch (e) { throw new DecodeFailure(oneLine(message(e))); }
  }
  return decodeJs(bytes, format);
}
parentPort.on('message', async (m) => {
  if (m.op === 'plan') { plans.set(m.key, m.plan); return; }
  const { id } = m;
  let raw;
  try { raw = await decode(m.path); } catch (e) {
    parentPort.postMessage({ id, ok: false, stage: 'decode', error: e instanceof DecodeFailure ? e.message : String(e && e.stack ? e.stack : e) });
    return;
  }
  try {
    if (m.op === 'decode') {
      const data = new Uint8Array(raw.data);
      parentPort.postMessage({ id, ok: true, width: raw.width, height: raw.height, channels: raw.channels, data }, [data.buffer]);
    } else {
      const out = kernels.preprocessToChw(kernels.fromInterleaved(raw.data, raw.width, raw.height, raw.channels), plans.get(m.key));
      parentPort.postMessage({ id, ok: true, width: out.width, height: out.height, chw: out.chw }, [out.chw.buffer]);
    }
  } catch (e) {
    parentPort.postMessage({ id, ok: false, stage: 'preprocess', error: String(e && e.message ? e.message : e) });
  }
});
`;

function moduleBase(): string {
  return fileURLToPath(import.meta.url);
}

/** A worker's reply: raw pixels (`decode`), CHW floats (`preprocess`) or a failure. */
type Reply =
  | { id: number; ok: true; width: number; height: number; channels: number; data: Uint8Array }
  | { id: number; ok: true; width: number; height: number; chw: Float32Array }
  | { id: number; ok: false; stage: 'decode' | 'preprocess'; error: string };

interface Job {
  resolve: (value: RgbImage | ChwImage) => void;
  reject: (e: Error) => void;
  path: string;
}

/**
 * Decodes image files on a pool of `worker_threads` so the main thread keeps training while
 * images decode (sharp in each worker when available, pngjs / jpeg-js otherwise), and, with
 * `preprocess`, also runs an `ImageProcessor`'s resize / crop / rescale / normalize there and
 * hands back channel-first floats (the buffer is transferred, not copied): the main thread is left
 * to tokenize and collate. Results come back through promises, so callers that await by index get
 * a timing-independent order, and pixels are bit-identical to the main-thread path.
 *
 * ```ts
 * const pool = new ImageDecodePool({ workers: 2 });
 * const img = await pool.decode('val2014/COCO_val2014_000000000042.jpg');        // RgbImage, HWC 0..255
 * const x = await pool.preprocess('val2014/COCO_val2014_000000000042.jpg', proc); // ChwImage, [3, H, W]
 * await pool.close();
 * ```
 */
export class ImageDecodePool {
  private readonly workers: Worker[] = [];
  private readonly jobs = new Map<number, Job>();
  private readonly busy: number[];
  /** Plans already posted to the workers, by processor. */
  private readonly planKeys = new WeakMap<ImageProcessor, number>();
  private nextPlanKey = 0;
  private nextId = 0;
  private ready: Promise<void>;
  private closed = false;

  /**
   * `workers`: threads (default cores − 1, at most 4); `useSharp: false` decodes with pngjs /
   * jpeg-js; `limitInputPixels`: as in `decodeImage` (default sharp's 268,402,689; `false`: none).
   */
  constructor(options: { workers?: number; useSharp?: boolean; limitInputPixels?: number | false } = {}) {
    const n = options.workers ?? Math.max(1, Math.min(4, availableParallelism() - 1));
    checkPositiveInt('ImageDecodePool', 'workers', n);
    this.busy = new Array<number>(n).fill(0);
    const limit = resolvePixelLimit('ImageDecodePool', options.limitInputPixels);
    const useSharp = options.useSharp ?? true;
    // sharp must be loaded by the main thread before workers load it (sharp's worker guidance).
    this.ready = (useSharp ? loadSharp() : Promise.resolve(null)).then((sharp) => {
      const req = createRequire(moduleBase());
      const resolveOr = (name: string) => {
        try {
          return req.resolve(name);
        } catch {
          return name;
        }
      };
      const workerData = {
        useSharp: useSharp && sharp !== null,
        sharp: resolveOr('sharp'),
        pngjs: resolveOr('pngjs'),
        jpeg: resolveOr('jpeg-js'),
        limitInputPixels: Number.isFinite(limit) ? limit : null,
      };
      const source = workerSource();
      for (let w = 0; w < n; w++) {
        const worker = new Worker(source, {
          eval: true,
          workerData,
          // The source is CommonJS; an inherited --input-type=module would make it ESM.
          execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')),
        });
        // Idle workers must not keep the process alive; jobs re-ref them while pending.
        worker.unref();
        worker.on('message', (m: Reply) => {
          const job = this.jobs.get(m.id);
          if (!job) return;
          this.jobs.delete(m.id);
          this.busy[w]! -= 1;
          if (this.busy[w] === 0) worker.unref();
          if (!m.ok) {
            job.reject(
              m.stage === 'decode'
                ? new ImageDecodeError(job.path, m.error)
                : new PolymodalError('ImageDecodePool.preprocess', `${job.path}: ${m.error}`),
            );
          } else if ('chw' in m) {
            job.resolve({ width: m.width, height: m.height, chw: m.chw });
          } else {
            job.resolve(rgbFromInterleaved(m.data, m.width, m.height, m.channels));
          }
        });
        worker.on('error', (e) => {
          for (const job of this.jobs.values())
            job.reject(new ImageDecodeError(job.path, `worker crashed: ${e.message}`));
          this.jobs.clear();
        });
        this.workers.push(worker);
      }
    });
  }

  get size(): number {
    return this.busy.length;
  }

  /** Decodes one file off the main thread; rejects with `ImageDecodeError` naming the file. */
  async decode(path: string): Promise<RgbImage> {
    await this.start('decode');
    return this.submit({ op: 'decode', path }) as Promise<RgbImage>;
  }

  /**
   * Decodes one file and applies `processor` (resize → center crop → rescale → normalize) in a
   * worker, returning channel-first floats: the same values as
   * `processor.preprocessToChw(await decodeImageFile(path))`. The processor's `plan` (plain JSON)
   * is posted to each worker once. An undecodable file rejects with `ImageDecodeError` naming it,
   * so a `DataLoader` with `onError: 'skip'` skips and counts it.
   */
  async preprocess(path: string, processor: ImageProcessor): Promise<ChwImage> {
    await this.start('preprocess');
    let key = this.planKeys.get(processor);
    if (key === undefined) {
      key = this.nextPlanKey++;
      this.planKeys.set(processor, key);
      // Messages on one port arrive in order: every worker has the plan before any job using it.
      for (const worker of this.workers) worker.postMessage({ op: 'plan', key, plan: processor.plan });
    }
    return this.submit({ op: 'preprocess', path, key }) as Promise<ChwImage>;
  }

  /**
   * Each worker's event-loop utilisation (`performance.eventLoopUtilization()` of the worker):
   * pass an earlier result to get the share of the interval since then, e.g. to see whether the
   * workers or the main thread bound a loader.
   */
  eventLoopUtilization(since?: readonly EventLoopUtilization[]): EventLoopUtilization[] {
    return this.workers.map((w, i) => w.performance.eventLoopUtilization(since?.[i]));
  }

  private async start(op: string): Promise<void> {
    if (this.closed) throw new ArgumentError('ImageDecodePool', `${op} after close()`);
    await this.ready;
  }

  private submit(message: {
    op: 'decode' | 'preprocess';
    path: string;
    key?: number;
  }): Promise<RgbImage | ChwImage> {
    const id = this.nextId++;
    let w = 0;
    for (let k = 1; k < this.busy.length; k++) if (this.busy[k]! < this.busy[w]!) w = k;
    this.busy[w]! += 1;
    this.workers[w]!.ref();
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { resolve, reject, path: message.path });
      this.workers[w]!.postMessage({ ...message, id });
    });
  }

  /** Terminates the workers. */
  async close(): Promise<void> {
    this.closed = true;
    await this.ready;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
