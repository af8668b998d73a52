import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadVqaBundle, readImage } from './bundle.js';
import { QUICK_CONFIG, type VqaRunConfig } from './config.js';
import { readSplit } from './data/dataset.js';
import { ensureGenerated } from './data/generate.js';
import { runVqaPipeline } from './pipeline.js';

const dir = mkdtempSync(join(tmpdir(), 'polymodal-vqa-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `--quick` cut to seconds: the pipeline's plumbing, not its learning, is under test here. */
const SMOKE: VqaRunConfig = {
  ...QUICK_CONFIG,
  data: { ...QUICK_CONFIG.data, trainImages: 200, valImages: 40 },
  finetune: { ...QUICK_CONFIG.finetune, steps: 30, imagesPerBatch: 8, evalEvery: 15, checkpointEvery: 10 },
};

const base: VqaRunConfig = {
  ...SMOKE,
  data: { ...SMOKE.data, dataDir: join(dir, 'data') },
  runDir: join(dir, 'run'),
  progress: 'none',
};

describe('VQA pipeline', () => {
  it('generates, pretrains, fine-tunes, scores with the official metric and saves a bundle that answers', async () => {
    const r = await runVqaPipeline(base, () => {});
    expect(r.pretrainSteps).toBe(SMOKE.pretrain.steps);
    expect(Object.keys(r.pretrainLosses).sort()).toEqual(['itc', 'itm', 'mlm']);
    expect(r.steps).toBe(SMOKE.finetune.steps);
    const questions = SMOKE.data.valImages * SMOKE.data.questionsPerImage;
    expect(r.report.predictions.length).toBe(questions);
    // The overall accuracy is the mean of the per-question official scores, recomputed here.
    const mean = r.report.perQuestion.reduce((a, b) => a + b, 0) / questions;
    expect(r.report.overall).toBeCloseTo(mean, 12);
    // Generated answers have 10 agreeing annotators: each question scores 0 or 1.
    expect(r.report.perQuestion.every((a) => a === 0 || a === 1)).toBe(true);
    expect(r.curve.map((p) => p.step)).toEqual([15, 30]);
    // Issue 13/16: the loop frees every batch; live tensors and bytes stay where step 2 left them.
    expect(r.live?.fromStep).toBe(2);
    expect(r.live?.tensors.max).toBe(r.live?.tensors.min);
    expect(r.live?.bytes.max).toBe(r.live?.bytes.min);
    const saved = JSON.parse(readFileSync(join(base.runDir, 'results.json'), 'utf8'));
    expect(saved.report.overall).toBeCloseTo(r.report.overall, 12);
    const log = readFileSync(join(base.runDir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log.filter((e) => e.type === 'train').map((e) => e.step)).toEqual(
      Array.from({ length: r.steps }, (_, i) => i + 1),
    );

    // A new model loaded from the bundle gives the pipeline's own predictions on validation images.
    const bundle = await loadVqaBundle(r.bundleDir);
    const { val } = await ensureGenerated(base.data, base.seed, () => {});
    const samples = (await readSplit(val)).samples.slice(0, 8);
    for (const [i, s] of samples.entries()) {
      const { answers } = bundle.predict({ image: await readImage(s.imagePath), question: s.question }, 3);
      expect(answers[0]!.answer).toBe(r.report.predictions[i]);
      expect(answers[0]!.score).toBeGreaterThanOrEqual(answers[1]!.score);
    }
  }, 300_000);

  it('resumes from its last checkpoint', async () => {
    const r = await runVqaPipeline(
      { ...base, finetune: { ...base.finetune, steps: SMOKE.finetune.steps + 10 }, resume: true },
      () => {},
    );
    expect(r.resumedFrom).toBe(SMOKE.finetune.steps);
    expect(r.steps).toBe(SMOKE.finetune.steps + 10);
  }, 300_000);
});
