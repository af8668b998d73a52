import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { inflateSync } from 'node:zlib';
import type { Tensor } from '@polymodal/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnswerVocab } from '../datasets/answer-vocab.js';
import { readVqaV2, type VqaSample } from '../datasets/vqa-v2.js';
import { generateDataset } from '../generator/generate-dataset.js';
import { decodeImageFile, encodePng, oneLine } from '../image/decode-image.js';
import { checkEncodedImage, sniffImageFormat } from '../image/image-bytes.js';
import { ImageDecodeError } from '../image/image-decode-error.js';
import { ImageProcessor, type PreprocessorConfig } from '../image/image-processor.js';
import { kernels, pixelKernels } from '../image/pixel-kernels.js';
import { toChw } from '../image/transforms.js';
import { buildWordVocab } from '../text/vocab-builder.js';
import { WordPieceTokenizer } from '../text/wordpiece-tokenizer.js';
import { collate } from './collate.js';
import { DataLoader } from './data-loader.js';
import { ImageDecodePool } from './image-decode-pool.js';
import { vqaDataset } from './vqa-dataset.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const jpegFixture = join(fixtures, 'vqa/val2014/COCO_val2014_000000000042.jpg');
const truncatedJpeg = join(fixtures, 'vqa/val2014/COCO_val2014_000000000099.jpg');

/** The exact bytes of a float array (bit-identity, NaN- and −0-safe). */
const bits = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

/** Configs that between them run every step and every resampling filter. */
const CONFIGS: PreprocessorConfig[] = [
  { size: { height: 24, width: 24 }, resample: 2 }, // ViT: exact bilinear, rescale, ImageNet
  {
    size: { shortest_edge: 20 },
    resample: 3,
    do_center_crop: true,
    crop_size: { height: 18, width: 18 },
    image_mean: [0.48145466, 0.4578275, 0.40821073],
    image_std: [0.26862954, 0.26130258, 0.27577711],
  }, // CLIP
  { size: { height: 30, width: 50 }, resample: 1, do_normalize: false }, // lanczos, upscaling
  { size: 13, resample: 0, do_center_crop: true, crop_size: 16, do_rescale: false }, // nearest, padded crop
  { size: { height: 16, width: 16 }, resample: 4, rescale_factor: 1 / 127.5 }, // box
  { do_resize: false, do_rescale: false, do_normalize: false }, // identity: the decoded pixels
];

let dir = '';
let samples: VqaSample[] = [];
let pool: ImageDecodePool;
let jsPool: ImageDecodePool;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pm-worker-pre-'));
  await generateDataset({ images: 12, seed: 3, out: dir, size: 40, objects: 4, questionsPerImage: 2 });
  samples = (await readVqaV2({ root: dir, split: 'train2014' })).samples;
  pool = new ImageDecodePool({ workers: 2 });
  jsPool = new ImageDecodePool({ workers: 2, useSharp: false });
});

afterAll(async () => {
  await pool.close();
  await jsPool.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('preprocessing in the decode workers', () => {
  it('gives bit-identical CHW floats to the main thread for every config (PNG and JPEG, sharp and JS codecs)', async () => {
    const pngs = [samples[0]!.imagePath, samples[3]!.imagePath];
    for (const config of CONFIGS) {
      const processor = new ImageProcessor(config);
      for (const path of [...pngs, jpegFixture]) {
        const expected = processor.preprocessToChw(await decodeImageFile(path));
        const got = await pool.preprocess(path, processor);
        expect([got.width, got.height]).toEqual([expected.width, expected.height]);
        expect(got.chw.length).toBe(3 * got.width * got.height);
        expect(bits(got.chw).equals(bits(expected.chw)), `${JSON.stringify(config)} ${path}`).toBe(true);
      }
      // PNG is lossless: pngjs in the workers decodes the same pixels as sharp on the main thread.
      for (const path of pngs) {
        const expected = processor.preprocessToChw(await decodeImageFile(path));
        expect(bits((await jsPool.preprocess(path, processor)).chw).equals(bits(expected.chw))).toBe(true);
      }
    }
  });

  it('yields the same batches as the main-thread loader for the same seed', async () => {
    const tokenizer = new WordPieceTokenizer(buildWordVocab(samples.map((s) => s.question)));
    const answers = AnswerVocab.build(samples.map((s) => s.multipleChoiceAnswer ?? ''));
    const processor = new ImageProcessor(CONFIGS[1]!);
    const epoch = async (options: { pool?: ImageDecodePool; preprocessIn?: 'worker' | 'main' }) => {
      const loader = new DataLoader(
        vqaDataset(samples, { tokenizer, processor, answers, maxLength: 12, ...options }),
        {
          batchSize: 5,
          shuffle: true,
          seed: 11,
          prefetch: 3,
          collate: (items) => collate(items, { padId: tokenizer.padId }),
        },
      );
      const out: { ids: unknown[]; pixels: Buffer; inputIds: number[][]; target: Float32Array }[] = [];
      for await (const batch of loader) {
        const pixels = batch.pixelValues as Tensor;
        out.push({
          ids: (batch.questionId as Tensor).arraySync() as unknown[],
          pixels: Buffer.from(bits(pixels.dataSync() as Float32Array)),
          inputIds: (batch.inputIds as Tensor).arraySync() as number[][],
          target: (batch.target as Tensor).dataSync() as Float32Array,
        });
        expect(pixels.shape.slice(1)).toEqual([3, 18, 18]);
      }
      return out;
    };
    const main = await epoch({});
    expect(main).toHaveLength(Math.ceil(samples.length / 5));
    for (const options of [{ pool }, { pool, preprocessIn: 'main' as const }]) {
      const other = await epoch(options);
      expect(other.map((b) => b.ids)).toEqual(main.map((b) => b.ids));
      expect(other.map((b) => b.inputIds)).toEqual(main.map((b) => b.inputIds));
      expect(other.map((b) => b.target)).toEqual(main.map((b) => b.target));
      other.forEach((b, i) => expect(b.pixels.equals(main[i]!.pixels), `batch ${i}`).toBe(true));
    }
  });

  it('names the bad file (typed error) and, under onError: skip, skips and counts it', async () => {
    const processor = new ImageProcessor(CONFIGS[0]!);
    await expect(pool.preprocess(truncatedJpeg, processor)).rejects.toThrow(ImageDecodeError);
    await expect(pool.preprocess(truncatedJpeg, processor)).rejects.toThrow(/COCO_val2014_000000000099\.jpg/);
    await expect(pool.preprocess(join(dir, 'missing.png'), processor)).rejects.toThrow(
      /missing\.png: ENOENT/,
    );
    const notAnImage = join(dir, 'v2_mscoco_train2014_annotations.json');
    await expect(jsPool.preprocess(notAnImage, processor)).rejects.toThrow(/unknown magic bytes/);

    const tokenizer = new WordPieceTokenizer(buildWordVocab(samples.map((s) => s.question)));
    const answers = AnswerVocab.build(samples.map((s) => s.multipleChoiceAnswer ?? ''));
    const broken = samples
      .slice(0, 10)
      .map((s, i) =>
        i === 2
          ? { ...s, imagePath: truncatedJpeg }
          : i === 7
            ? { ...s, imagePath: join(dir, 'gone.png') }
            : s,
      );
    const make = (onError?: 'skip') =>
      new DataLoader(vqaDataset(broken, { tokenizer, processor, answers, pool }), {
        batchSize: 4,
        onError,
        collate: (items) => collate(items, { padId: tokenizer.padId }),
      });
    const strict = make();
    await expect(
      (async () => {
        for await (const _ of strict);
      })(),
    ).rejects.toThrow(/cannot decode .*COCO_val2014_000000000099\.jpg/);
    const lenient = make('skip');
    const sizes: number[] = [];
    for await (const batch of lenient) sizes.push((batch.pixelValues as Tensor).shape[0]!);
    expect(sizes).toEqual([3, 3, 2]);
    expect(lenient.report.summary()).toMatch(
      /^skipped 2 of 10: .*COCO_val2014_000000000099\.jpg: decodeImage: cannot decode .*; .*gone\.png: decodeImage: cannot decode .*gone\.png: ENOENT$/,
    );
  });

  it('runs the kernels from their source text alone (nothing outside the factory is referenced)', () => {
    // What the worker does: evaluate the function text in a scope with only the JS built-ins.
    const isolated = runInNewContext(`(${pixelKernels.toString()})()`, {}) as typeof kernels;
    const rgba = Uint8Array.from({ length: 9 * 7 * 4 }, (_, i) => (i * 37) % 256);
    const plan = new ImageProcessor(CONFIGS[1]!).plan;
    const viaText = isolated.preprocessToChw(isolated.fromInterleaved(rgba, 9, 7, 4), plan).chw;
    const direct = kernels.preprocessToChw(kernels.fromInterleaved(rgba, 9, 7, 4), plan).chw;
    expect(bits(viaText).equals(bits(direct))).toBe(true);
    // The plan is plain JSON (it is posted to the workers).
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });

  it('runs the byte checks from their source text alone, as the workers embed them', () => {
    const sniff = runInNewContext(`(${sniffImageFormat.toString()})`, {}) as typeof sniffImageFormat;
    const check = runInNewContext(`(${checkEncodedImage.toString()})`, {}) as typeof checkEncodedImage;
    const line = runInNewContext(`(${oneLine.toString()})`, {}) as typeof oneLine;
    const png = encodePng({ width: 3, height: 2, data: new Float32Array(18).fill(7) });
    const inflate = (d: Uint8Array, max: number) => inflateSync(d, { maxOutputLength: max });
    expect(sniff(png)).toBe('png');
    expect(check(png, 'png', 1000, inflate)).toEqual({ width: 3, height: 2 });
    expect(() => check(png, 'png', 5, inflate)).toThrow(/3×2 = 6 pixels is over the limit of 5/);
    expect(line('a\nb\n a\n')).toBe('a; b');
  });

  it('fuses rescale, normalize and the transpose without changing a bit', () => {
    // Fractional, negative and large values, so any missing float32 rounding would show.
    const img = {
      width: 11,
      height: 6,
      data: Float32Array.from({ length: 11 * 6 * 3 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453),
    };
    for (const config of [
      ...CONFIGS,
      { do_resize: false, rescale_factor: 0.1, image_mean: [0.1, 0.2, 0.3] },
    ]) {
      // Floats, not bytes: resample them as floats (the 8-bit path takes decoded images only).
      const processor = new ImageProcessor(config, { resampleIn: 'float' });
      const fused = processor.preprocessToChw(img).chw;
      const stepwise = toChw(processor.preprocess(img));
      expect(bits(fused).equals(bits(stepwise)), JSON.stringify(config)).toBe(true);
    }
  });
});
