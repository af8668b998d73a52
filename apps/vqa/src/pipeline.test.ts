import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QUICK_CONFIG } from './config.js';
import { runVqaPipeline } from './pipeline.js';

const dir = mkdtempSync(join(tmpdir(), 'polymodal-vqa-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('VQA pipeline', () => {
  const base = {
    ...QUICK_CONFIG,
    dataDir: join(dir, 'data'),
    runDir: join(dir, 'run'),
    progress: 'none' as const,
  };

  it('generates, trains, evaluates with the official metric and writes its outputs', async () => {
    const r = await runVqaPipeline(base, () => {});
    expect(r.steps).toBe(QUICK_CONFIG.maxSteps);
    const questions = QUICK_CONFIG.valImages! * 10;
    expect(r.report.predictions.length).toBe(questions);
    // The overall accuracy is the mean of per-question official scores, recomputed here.
    const mean = r.report.perQuestion.reduce((a, b) => a + b, 0) / questions;
    expect(r.report.overall).toBeCloseTo(mean, 12);
    expect(r.report.perQuestion.every((a) => [0, 0.3, 0.6, 0.9, 1].some((v) => Math.abs(a - v) < 1e-9))).toBe(
      true,
    );
    const saved = JSON.parse(readFileSync(join(base.runDir, 'results.json'), 'utf8'));
    expect(saved.accuracy).toBeCloseTo(r.report.overall, 12);
    expect(Object.keys(saved.perQuestionType).length).toBeGreaterThan(5);
    const log = readFileSync(join(base.runDir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log.filter((e) => e.type === 'train').map((e) => e.step)).toEqual(
      Array.from({ length: r.steps }, (_, i) => i + 1),
    );
    expect(readFileSync(join(base.runDir, 'report.html'), 'utf8')).toContain('<svg');
  }, 300_000);

  it('resumes from its last checkpoint', async () => {
    const r = await runVqaPipeline(
      { ...base, maxSteps: QUICK_CONFIG.maxSteps! + 10, resume: true },
      () => {},
    );
    expect(r.resumedFrom).toBe(QUICK_CONFIG.maxSteps);
    expect(r.steps).toBe(QUICK_CONFIG.maxSteps! + 10);
  }, 300_000);
});
