import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captionHolds as holdsInScene, ImageProcessor } from '@polymodal/data';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TRAIN, type TrainConfig } from './config.js';
import {
  buildTokenizer,
  datasetRoots,
  ensureGenerated,
  preprocessorConfig,
  type RetrievalImage,
  readSplit,
} from './data.js';
import { SceneBatcher } from './scene-batch.js';
import { trainRetrieval } from './train.js';

// A small generated set (the real files, scenes included), shared by the tests below.
const dir = mkdtempSync(join(tmpdir(), 'pm-retrieval-scenes-'));
const base: TrainConfig = {
  ...DEFAULT_TRAIN,
  dataDir: join(dir, 'data'),
  trainImages: 64,
  testImages: 8,
  groupsPerBatch: 4,
  checkpointEvery: 1000,
  progress: 'none',
};
let images: RetrievalImage[] = [];
let batcher: SceneBatcher;

beforeAll(async () => {
  const roots = datasetRoots(base);
  await ensureGenerated(roots.train, 'train', base.trainImages, base.seed, base.imageSize, () => {});
  const processor = new ImageProcessor(preprocessorConfig(48));
  const texts = (await readSplit(roots.train, 'train2014', null, processor)).texts;
  const tokenizer = buildTokenizer(texts);
  images = (await readSplit(roots.train, 'train2014', tokenizer, processor)).images;
  batcher = new SceneBatcher(
    { capsPerImage: 8, negCaps: 2, itmGenNeg: 1, targets: true, cellSide: 6, seed: 1 },
    tokenizer,
  );
}, 120_000);

describe('a scene batch', () => {
  it('holds the truth of every caption for every image, from the scenes', () => {
    const batch = images.slice(0, 16);
    const b = batcher.collate(batch);
    const s = b.scenes!;
    expect(b.captionImage.length).toBe(s.positives.length);
    expect(b.inputIds.shape[0]).toBe(s.positives.length + s.negatives.length);
    // Each image: min(8, its clear pairs) captions, each true of it; the generator's own captions are in its pool.
    batch.forEach((im, row) => {
      const mine = s.positives.filter((_, p) => b.captionImage[p] === row);
      expect(mine.length).toBe(Math.min(8, batcher.pool(im).length));
      for (const c of mine) expect(holdsInScene(im.scene!, c)).toBe(true);
      for (const c of im.captions)
        expect(batcher.pool(im).map((p) => batcher.encode(p))).toContainEqual(c.inputIds);
    });
    s.positives.forEach((c, p) => {
      batch.forEach((im, i) => expect(b.holds[p]![i]).toBe(holdsInScene(im.scene!, c)));
    });
    // False captions: false for the image they were made for; the mask says where they hold anyway.
    s.negatives.forEach((c, n) => {
      expect(holdsInScene(batch[s.negativeImage[n]!]!.scene!, c)).toBe(false);
      b.captionImage.forEach((row, p) =>
        expect(s.negativeHolds[p]![n]).toBe(holdsInScene(batch[row]!.scene!, c)),
      );
    });
    expect(s.negatives.length).toBeGreaterThanOrEqual(2 * 16 - 2);
    // One ITM negative per image (its first false caption).
    expect(new Set(s.itmNegatives.map((k) => s.negativeImage[k])).size).toBe(s.itmNegatives.length);
    expect(s.itmNegatives.length).toBeGreaterThanOrEqual(15);
    // Targets sized for the batch.
    expect(s.targets!.cellKinds.length).toBe(16 * 36);
    expect(s.targets!.captions.length).toBe(7 * s.positives.length);
  });

  it('draws the same captions for the same images (resume-safe), others for other images', () => {
    const a = batcher.collate(images.slice(0, 8)).scenes!;
    const again = batcher.collate(images.slice(0, 8)).scenes!;
    expect(again.positives).toEqual(a.positives);
    expect(again.negatives).toEqual(a.negatives);
    const other = batcher.collate(images.slice(8, 16)).scenes!;
    expect(other.positives).not.toEqual(a.positives);
  });
});

const trainLosses = (runDir: string) =>
  readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; losses: Record<string, number> })
    .filter((l) => l.type === 'train')
    .map((l) => l.losses);
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

describe('training with the scene recipe', () => {
  it('the new losses (and ITC) fall over 30 steps', async () => {
    const runDir = join(dir, 'run');
    const lines: string[] = [];
    await trainRetrieval({ ...base, runDir, steps: 30, learningRate: 3e-3 }, (l) => lines.push(l));
    expect(lines.join('\n')).toContain('scene recipe: 8 captions per image');
    const losses = trainLosses(runDir);
    expect(losses).toHaveLength(30);
    // Seeded, so deterministic; measured (last 5 / first 5): itc 0.93, cells 0.18, readout 0.87.
    for (const [k, ratio] of [
      ['itc', 0.96],
      ['cells', 0.5],
      ['readout', 0.92],
    ] as const) {
      const first = mean(losses.slice(0, 5).map((l) => l[k]!));
      const last = mean(losses.slice(-5).map((l) => l[k]!));
      expect(last, k).toBeLessThan(first * ratio);
    }
  }, 120_000);

  it('without scene annotations (own COCO data) the scene parts switch off with a note', async () => {
    const runDir = join(dir, 'run-no-scenes');
    const noScenes = { ...base, dataDir: join(dir, 'plain'), runDir, steps: 2 };
    const roots = datasetRoots(noScenes);
    await ensureGenerated(roots.train, 'train', 64, 1, 48, () => {});
    // A COCO captions folder: no retrieval_groups file, so no scenes.
    rmSync(join(roots.train, 'retrieval_groups_train2014.json'));
    expect(existsSync(join(roots.train, 'retrieval_groups_train2014.json'))).toBe(false);
    const lines: string[] = [];
    const r = await trainRetrieval(noScenes, (l) => lines.push(l));
    expect(r.steps).toBe(2);
    expect(lines.join('\n')).toMatch(
      /note: 64 of 64 training images have no scene annotation.*are off for this run/,
    );
    expect(Object.keys(trainLosses(runDir)[0]!).sort()).toEqual(['itc', 'itm']);
    const config = JSON.parse(readFileSync(join(r.bundleDir, 'config.json'), 'utf8'));
    expect(config.sceneProbes).toBeUndefined();
  }, 120_000);
});
