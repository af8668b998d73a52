import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ArgumentError } from '@polymodal/tensor';
import { loadSharp } from '../image/decode-image.js';
import { ImageDecodeError } from '../image/image-decode-error.js';
import { type RgbImage, rgbFromInterleaved } from '../image/rgb-image.js';

// The worker is plain CommonJS evaluated from a string so it runs the same from TypeScript sources
// (tests) and from the built bundle; codecs are required by absolute path resolved here.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
let sharp = null;
if (workerData.useSharp) { try { sharp = require(workerData.sharp); } catch { sharp = null; } }
const { PNG } = require(workerData.pngjs);
const jpeg = require(workerData.jpeg);
function decodeJs(bytes) {
  if (bytes[0] === 0x89 && bytes[1] === 0x50) { const p = PNG.sync.read(bytes); return { data: p.data, width: p.width, height: p.height, channels: 4 }; }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) { const j = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true }); return { data: j.data, width: j.width, height: j.height, channels: 4 }; }
  throw new Error('not a PNG or JPEG (unknown magic bytes)');
}
parentPort.on('message', async ({ id, path }) => {
  try {
    const bytes = readFileSync(path);
    let out = null;
    if (sharp && (bytes[0] === 0x89 || bytes[0] === 0xff)) {
      try {
        const r = await sharp(bytes).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
        out = { data: r.data, width: r.info.width, height: r.info.height, channels: r.info.channels };
      } catch { out = null; }
    }
    if (!out) out = decodeJs(bytes);
    const data = new Uint8Array(out.data);
    parentPort.postMessage({ id, ok: true, width: out.width, height: out.height, channels: out.channels, data }, [data.buffer]);
  } catch (e) {
    parentPort.postMessage({ id, ok: false, error: e && e.code ? e.code : String(e && e.message ? e.message : e) });
  }
});
`;

function moduleBase(): string {
  // In the CommonJS bundle tsup's shim provides import.meta.url.
  return fileURLToPath(import.meta.url);
}

interface Job {
  resolve: (img: RgbImage) => void;
  reject: (e: Error) => void;
  path: string;
}

/**
 * Decodes image files on a pool of `worker_threads` so the main thread keeps training while
 * images decode (sharp in each worker when available, pngjs / jpeg-js otherwise). Results come
 * back through promises, so callers that await by index get a timing-independent order.
 *
 * ```ts
 * const pool = new ImageDecodePool({ workers: 2 });
 * const img = await pool.decode('val2014/COCO_val2014_000000000042.jpg');
 * await pool.close();
 * ```
 */
export class ImageDecodePool {
  private readonly workers: Worker[] = [];
  private readonly jobs = new Map<number, Job>();
  private readonly busy: number[];
  private nextId = 0;
  private ready: Promise<void>;
  private closed = false;

  constructor(options: { workers?: number; useSharp?: boolean } = {}) {
    const n = options.workers ?? Math.max(1, Math.min(4, availableParallelism() - 1));
    if (!Number.isInteger(n) || n < 1)
      throw new ArgumentError('ImageDecodePool', `workers must be ≥ 1, got ${n}`);
    this.busy = new Array<number>(n).fill(0);
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
      };
      for (let w = 0; w < n; w++) {
        const worker = new Worker(WORKER_SOURCE, {
          eval: true,
          workerData,
          // The source is CommonJS; an inherited --input-type=module would make it ESM.
          execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')),
        });
        // Idle workers must not keep the process alive; `decode` re-refs them while jobs are pending.
        worker.unref();
        worker.on(
          'message',
          (m: {
            id: number;
            ok: boolean;
            width: number;
            height: number;
            channels: number;
            data: Uint8Array;
            error: string;
          }) => {
            const job = this.jobs.get(m.id);
            if (!job) return;
            this.jobs.delete(m.id);
            this.busy[w]! -= 1;
            if (this.busy[w] === 0) worker.unref();
            if (m.ok) job.resolve(rgbFromInterleaved(m.data, m.width, m.height, m.channels));
            else job.reject(new ImageDecodeError(job.path, m.error));
          },
        );
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
    if (this.closed) throw new ArgumentError('ImageDecodePool', 'decode after close()');
    await this.ready;
    const id = this.nextId++;
    let w = 0;
    for (let k = 1; k < this.busy.length; k++) if (this.busy[k]! < this.busy[w]!) w = k;
    this.busy[w]! += 1;
    this.workers[w]!.ref();
    return new Promise<RgbImage>((resolve, reject) => {
      this.jobs.set(id, { resolve, reject, path });
      this.workers[w]!.postMessage({ id, path });
    });
  }

  /** Terminates the workers. */
  async close(): Promise<void> {
    this.closed = true;
    await this.ready;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
