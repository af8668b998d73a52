import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModule } from '@polymodal/nn';
import { afterAll, describe, expect, it } from 'vitest';
import { QUICK_CONFIG } from './config.js';
import { runRetrievalPipeline } from './pipeline.js';

const dir = mkdtempSync(join(tmpdir(), 'polymodal-retrieval-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('retrieval pipeline', () => {
  const base = {
    ...QUICK_CONFIG,
    dataDir: join(dir, 'data'),
    runDir: join(dir, 'run'),
    progress: 'none' as const,
  };

  it('generates, trains, evaluates and writes consistent results', async () => {
    const r = await runRetrievalPipeline(base, () => {});
    expect(r.steps).toBe(QUICK_CONFIG.maxSteps);
    const { imageToText: i2t, textToImage: t2i } = r.metrics;
    expect(i2t.ranks.length).toBe(QUICK_CONFIG.valImages);
    expect(t2i.ranks.length).toBe(3 * QUICK_CONFIG.valImages!);
    // Recall@K recomputed from the ranks, independently of the metric code.
    const recall = (ranks: Int32Array, k: number) =>
      (100 * ranks.filter((x) => x <= k).length) / ranks.length;
    expect(i2t.r5).toBeCloseTo(recall(i2t.ranks, 5), 10);
    expect(t2i.r10).toBeCloseTo(recall(t2i.ranks, 10), 10);
    expect(r.metrics.rSum).toBeCloseTo(i2t.r1 + i2t.r5 + i2t.r10 + t2i.r1 + t2i.r5 + t2i.r10, 10);
    const saved = JSON.parse(readFileSync(join(base.runDir, 'results.json'), 'utf8'));
    expect(saved.rSum).toBeCloseTo(r.metrics.rSum, 10);
    expect(saved.temperature).toBeGreaterThan(0.01);
    // The saved weights load strictly into a fresh model of the same shape.
    const { DualEncoder } = await import('./model.js');
    const { DEFAULT_CONFIG } = await import('./config.js');
    const m = saved.model as { vocabSize: number; padId: number; maxLength: number };
    const fresh = new DualEncoder({ ...DEFAULT_CONFIG, ...base }, m.vocabSize, m.padId, m.maxLength);
    await loadModule(join(base.runDir, 'model.safetensors'), fresh, { strict: true });
    expect(Math.exp(fresh.itc.logitScale.item())).toBeCloseTo(1 / saved.temperature, 3);
  }, 240_000);

  it('resumes from its last checkpoint', async () => {
    const r = await runRetrievalPipeline(
      { ...base, maxSteps: QUICK_CONFIG.maxSteps! + 10, resume: true },
      () => {},
    );
    expect(r.resumedFrom).toBe(QUICK_CONFIG.maxSteps);
    expect(r.steps).toBe(QUICK_CONFIG.maxSteps! + 10);
  }, 240_000);
});
