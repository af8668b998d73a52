/**
 * The built-in callbacks as parts: each on its own (against a plain TrainerContext), the same
 * callback given as an instance or through the Trainer's shorthand option, and callbacks composed
 * with the user's (order, log periods, errors).
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Linear } from '@polymodal/nn';
import { ArgumentError, type Tensor, tensor } from '@polymodal/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { SGD } from '../optim/sgd.js';
import type { TrainerCallback, TrainerContext } from './callback.js';
import { EarlyStopping } from './early-stopping.js';
import { MetricsLog } from './metrics-log.js';
import { Trainer } from './node-trainer.js';
import { ProgressCallback } from './progress-callback.js';
import type { TrainerOptions } from './trainer.js';
import type { EvalLogs, StepLogs } from './trainer-types.js';
import { TrainingReport } from './training-report.js';

interface Batch {
  x: Tensor;
  y: Tensor;
}

const dir = mkdtempSync(join(tmpdir(), 'finetune-callbacks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function batches(n: number, offset = 0): Batch[] {
  return Array.from({ length: n }, (_, b) => {
    const rows = [0, 1].map((r) => [Math.sin(b + offset + r), Math.cos(2 * b + r), (b + r + offset) / 4]);
    return { x: tensor(rows), y: tensor(rows.map((v) => [v[0]! - 2 * v[1]! + 0.5 * v[2]! + 0.3])) };
  });
}

function options(extra: Partial<TrainerOptions<Batch, Linear>> = {}): TrainerOptions<Batch, Linear> {
  const model = new Linear(3, 1, { seed: 4 });
  return {
    model,
    optimizer: new SGD(model.parameters(), { lr: 0.1 }),
    // The model arrives as a Linear: no cast.
    computeLoss: (m, b) => m.forward(b.x).sub(b.y).square().mean(),
    trainData: batches(4),
    progress: 'none',
    log: () => {},
    ...extra,
  };
}

/** A TrainerContext without a Trainer, for callbacks on their own. */
function context(): TrainerContext & { lines: string[] } {
  const lines: string[] = [];
  return {
    state: { step: 0, epoch: 0, batchInEpoch: 0, shouldStop: false, bestMetric: null, badEvals: 0 },
    history: { train: [], eval: [] },
    resumedFrom: null,
    totalSteps: 8,
    logEvery: 2,
    model: new Linear(1, 1),
    log: (l) => lines.push(l),
    lines,
  };
}

const evalAt = (step: number, metrics: Record<string, number>): EvalLogs => ({ step, epoch: 0, metrics });

describe('EarlyStopping', () => {
  it('counts evaluations without an improvement of more than minDelta, and stops after patience', () => {
    const ctx = context();
    const stop = new EarlyStopping({ metric: 'loss', patience: 2, minDelta: 0.1 });
    const seen: [number | null, number, boolean][] = [];
    for (const [step, loss] of [
      [1, 1.0],
      [2, 0.95], // not below 1.0 − 0.1
      [3, 0.85], // below 0.9: the new best
      [4, 0.8], // not below 0.75
      [5, 0.9],
    ] as const) {
      ctx.state.step = step;
      stop.onEvalEnd(ctx, evalAt(step, { loss }));
      seen.push([ctx.state.bestMetric, ctx.state.badEvals, ctx.state.shouldStop]);
    }
    expect(seen).toEqual([
      [1.0, 0, false],
      [1.0, 1, false],
      [0.85, 0, false],
      [0.85, 1, false],
      [0.85, 2, true],
    ]);
    expect(ctx.lines).toEqual(["early stopping at step 5: 'loss' did not improve for 2 evals"]);
    // mode 'max': higher is better.
    const up = context();
    const max = new EarlyStopping({ metric: 'acc', mode: 'max', patience: 1 });
    max.onEvalEnd(up, evalAt(1, { acc: 0.5 }));
    max.onEvalEnd(up, evalAt(2, { acc: 0.6 }));
    expect([up.state.bestMetric, up.state.shouldStop]).toEqual([0.6, false]);
    max.onEvalEnd(up, evalAt(3, { acc: 0.6 }));
    expect(up.state.shouldStop).toBe(true);
  });

  it('names a metric the evaluation did not produce, and bad options', () => {
    const stop = new EarlyStopping({ metric: 'accuracy', patience: 1 });
    expect(() => stop.onEvalEnd(context(), evalAt(1, { loss: 1 }))).toThrow(
      /watches 'accuracy' but eval produced \[loss\]/,
    );
    expect(() => new EarlyStopping({ metric: 'loss', patience: 0 })).toThrow(ArgumentError);
    expect(() => new EarlyStopping({ metric: '', patience: 1 })).toThrow(/metric/);
    expect(() => new EarlyStopping({ metric: 'loss', patience: 1, mode: 'up' as never })).toThrow(/mode/);
    expect(() => new EarlyStopping({ metric: 'loss', patience: 1, minDelta: -1 })).toThrow(/minDelta/);
  });

  it('stops a Trainer the same way given as an instance or as the earlyStopping option', async () => {
    const metrics = () => {
      let i = 0;
      const values = [0.5, 0.7, 0.6, 0.65, 0.69, 0.8];
      return () => ({ accuracy: values[i++] ?? 0 });
    };
    const common = { evalData: batches(1), evalEvery: 1, maxSteps: 20 };
    const a = await new Trainer(
      options({
        ...common,
        computeMetrics: metrics(),
        earlyStopping: { metric: 'accuracy', mode: 'max', patience: 3 },
      }),
    ).train();
    const b = await new Trainer(
      options({
        ...common,
        computeMetrics: metrics(),
        callbacks: [new EarlyStopping({ metric: 'accuracy', mode: 'max', patience: 3 })],
      }),
    ).train();
    // Best 0.7 at eval 2, then three evals without improvement: stop at step 5.
    for (const r of [a, b]) {
      expect(r.stoppedEarly).toBe(true);
      expect(r.state).toMatchObject({ step: 5, bestMetric: 0.7, badEvals: 3 });
    }
    expect(
      () => new Trainer(options({ callbacks: [new EarlyStopping({ metric: 'loss', patience: 1 })] })),
    ).toThrow(/earlyStopping needs evalData/);
  });
});

describe('MetricsLog', () => {
  it('writes one JSONL line per step and evaluation, equal to the history, without outputDir', async () => {
    const out = join(dir, 'log-only');
    const result = await new Trainer(
      options({ maxEpochs: 2, evalData: batches(1, 5), logEvery: 3, callbacks: [new MetricsLog(out)] }),
    ).train();
    const records = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const strip = ({ type: _t, time, ...rest }: Record<string, unknown>) => {
      expect(typeof time).toBe('number');
      return rest;
    };
    expect(records.filter((r) => r.type === 'train').map(strip)).toEqual(result.history.train);
    expect(records.filter((r) => r.type === 'eval').map(strip)).toEqual(result.history.eval);
    // Train lines come before the eval of the same step (the pending steps are read first).
    expect(records.map((r) => `${r.type}${r.step}`)).toEqual([
      'train1',
      'train2',
      'train3',
      'train4',
      'eval4',
      'train5',
      'train6',
      'train7',
      'train8',
      'eval8',
    ]);
    expect(existsSync(join(out, 'report.html'))).toBe(false); // only what was asked for
  });

  it('after a crash keeps the lines up to the checkpoint, drops the lost tail and reloads the history', async () => {
    const out = join(dir, 'resume-log');
    const ckpt = join(dir, 'resume-ckpt');
    const ref = await new Trainer(options({ maxSteps: 8, trainData: batches(4) })).train();
    const stopAt: TrainerCallback<Batch, Linear> = {
      onStepEnd: (t, s) => {
        if (s.step === 6) t.state.shouldStop = true;
      },
    };
    await new Trainer(
      options({
        maxSteps: 8,
        checkpointDir: ckpt,
        checkpointEvery: 5,
        callbacks: [new MetricsLog(out), stopAt],
      }),
    ).train();
    // The run ended at step 6 (its final checkpoint); pretend it crashed after writing more.
    appendFileSync(join(out, 'metrics.jsonl'), '{"type":"train","step":7,"loss":1}\n{"type":"tra');
    const resumed = await new Trainer(
      options({ maxSteps: 8, checkpointDir: ckpt, checkpointEvery: 5, callbacks: [new MetricsLog(out)] }),
    ).train({ resume: true });
    expect(resumed.resumedFrom).toBe(6);
    expect(resumed.history.train.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(resumed.history.train.map((l) => l.loss)).toEqual(ref.history.train.map((l) => l.loss));
    const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).step);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe('TrainingReport', () => {
  it('draws the history it is given into report.svg, metrics.svg and report.html', async () => {
    const ctx = context();
    const step = (s: number, loss: number): StepLogs => ({
      step: s,
      epoch: 0,
      lr: 0.1,
      loss,
      losses: { a: loss / 2, b: loss * 2 },
    });
    ctx.history.train.push(step(1, 2), step(2, 1.5), step(3, 1.25));
    ctx.history.eval.push(evalAt(3, { loss: 1.3, accuracy: 0.75 }));
    ctx.state.step = 3;
    ctx.state.bestMetric = 1.3;
    const out = join(dir, 'report');
    const path = await new TrainingReport(out, 'run 7').write(ctx);
    expect(path).toBe(join(out, 'report.html'));
    const html = readFileSync(path, 'utf8');
    expect(html).toContain('<title>run 7</title>');
    expect(html).toContain('<th>final train loss</th><td>1.25000</td>');
    expect(html).toContain('<th>final eval accuracy</th><td>0.75000</td>');
    expect(html).toContain('<th>best watched metric</th><td>1.30000</td>');
    // train loss, train a, train b, eval loss.
    expect(readFileSync(join(out, 'report.svg'), 'utf8').match(/<polyline/g)).toHaveLength(3);
    expect(readFileSync(join(out, 'report.svg'), 'utf8').match(/<circle/g)).toHaveLength(1);
    expect(readFileSync(join(out, 'metrics.svg'), 'utf8')).toContain('accuracy');
  });

  it('as a callback sets result.reportPath before the user callbacks hear onTrainEnd', async () => {
    const out = join(dir, 'report-cb');
    let seen: string | undefined;
    const result = await new Trainer(
      options({
        callbacks: [new TrainingReport(out), { onTrainEnd: (_t, r) => void (seen = r.reportPath) }],
      }),
    ).train();
    expect(result.reportPath).toBe(join(out, 'report.html'));
    expect(seen).toBe(result.reportPath);
  });
});

describe('ProgressCallback', () => {
  it('prints a line every logEvery steps from the values read, and eval lines; one per Trainer', async () => {
    const lines: string[] = [];
    await new Trainer(
      options({
        maxSteps: 8,
        logEvery: 4,
        evalData: batches(1),
        evalEvery: 4,
        progress: 'auto', // a ProgressCallback is given: the default one is not added
        log: (l) => lines.push(l),
        callbacks: [new ProgressCallback({ mode: 'log', logEvery: 2 })],
      }),
    ).train();
    expect(lines.map((l) => l.replace(/=[-\d.e]+/g, '=x'))).toEqual([
      'step 2/8 loss=x lr=x',
      'step 4/8 loss=x lr=x',
      'eval @ step 4: loss=x',
      'step 6/8 loss=x lr=x',
      'step 8/8 loss=x lr=x',
      'eval @ step 8: loss=x',
    ]);
  });
});

describe('callbacks composed', () => {
  it('run in order, hear every step in log periods, and all hear an exception', async () => {
    const events: string[] = [];
    const recorder = (name: string): TrainerCallback<Batch, Linear> => ({
      onTrainBegin: () => void events.push(`${name}:begin`),
      onStepEnd: (_t, s) => void events.push(`${name}:step${s.step}`),
      onLog: (_t, logs) => void events.push(`${name}:log${logs.map((l) => l.step).join(',')}`),
      onTrainEnd: () => void events.push(`${name}:end`),
    });
    await new Trainer(
      options({ maxSteps: 5, logEvery: 2, callbacks: [recorder('a'), recorder('b')] }),
    ).train();
    expect(events).toEqual([
      'a:begin',
      'b:begin',
      'a:step1',
      'b:step1',
      'a:step2',
      'b:step2',
      'a:log1,2',
      'b:log1,2',
      'a:step3',
      'b:step3',
      'a:step4',
      'b:step4',
      'a:log3,4',
      'b:log3,4',
      'a:step5',
      'b:step5',
      'a:log5',
      'b:log5',
      'a:end',
      'b:end',
    ]);

    const heard: string[] = [];
    let calls = 0;
    const failing = new Trainer(
      options({
        computeLoss: (m, b) => {
          if (++calls === 3) throw new Error('bad batch');
          return m.forward(b.x).sub(b.y).square().mean();
        },
        callbacks: [
          {
            onException: () => {
              heard.push('first');
              throw new Error('cleanup failed'); // does not hide the training error or the others
            },
          },
          { onException: (_t, e) => void heard.push(`second: ${(e as Error).message}`) },
        ],
      }),
    );
    await expect(failing.train()).rejects.toThrow('bad batch');
    expect(heard).toEqual(['first', 'second: bad batch']);
  });

  it('a callback can stop training from the logs it reads', async () => {
    const result = await new Trainer(
      options({
        maxSteps: 100,
        logEvery: 3,
        callbacks: [{ onLog: (t, logs) => void (logs.at(-1)!.loss < 0.5 && (t.state.shouldStop = true)) }],
      }),
    ).train();
    expect(result.stoppedEarly).toBe(true);
    expect(result.state.step % 3).toBe(0); // at a log period
    const losses = result.history.train.map((l) => l.loss);
    expect(losses.at(-1)!).toBeLessThan(0.5);
    expect(
      losses
        .slice(0, -3)
        .filter((_, i) => i % 3 === 2)
        .every((l) => l >= 0.5),
    ).toBe(true);
  });
});
