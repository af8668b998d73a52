import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Linear } from '@polymodal/nn';
import { ArgumentError, memory, type Tensor, tensor } from '@polymodal/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { SGD } from '../optim/sgd.js';
import { ReduceLROnPlateau } from '../schedulers/reduce-lr-on-plateau.js';
import { StepLR } from '../schedulers/step-lr.js';
import { ExponentialMovingAverage } from '../training/ema.js';
import { Trainer } from './node-trainer.js';
import { lineChartSvg, reportHtml } from './svg-report.js';
import type { TrainerOptions } from './trainer.js';

interface Batch {
  x: Tensor;
  y: Tensor;
}

const dir = mkdtempSync(join(tmpdir(), 'finetune-trainer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// y = x·[1, −2, 0.5] + 0.3, four batches of two rows.
function batches(n: number, offset = 0): Batch[] {
  return Array.from({ length: n }, (_, b) => {
    const rows = [0, 1].map((r) => [Math.sin(b + offset + r), Math.cos(2 * b + r), (b + r + offset) / 4]);
    return { x: tensor(rows), y: tensor(rows.map((v) => [v[0]! - 2 * v[1]! + 0.5 * v[2]! + 0.3])) };
  });
}

function options(extra: Partial<TrainerOptions<Batch>> = {}): TrainerOptions<Batch> {
  const model = new Linear(3, 1, { seed: 4 });
  const optimizer = new SGD(model.parameters(), { lr: 0.1 });
  return {
    model,
    optimizer,
    computeLoss: (m, b) => {
      const out = (m as Linear).forward(b.x);
      return { mse: out.sub(b.y).square().mean(), l1: out.sub(b.y).abs().mean() };
    },
    lossWeights: { l1: 0.5 },
    trainData: batches(4),
    progress: 'none',
    ...extra,
  };
}

describe('Trainer', () => {
  it('trains multi-task losses with weights, evaluates with metrics, logs JSONL and writes a report', async () => {
    const events: string[] = [];
    const logged: number[][] = [];
    const lines: string[] = [];
    const out = join(dir, 'run1');
    const opts = options({
      evalData: batches(2, 10),
      computeMetrics: (m, b) => ({ mae: (m as Linear).forward(b.x).sub(b.y).abs().mean().item() }),
      maxEpochs: 3,
      outputDir: out,
      progress: 'log',
      logEvery: 4,
      log: (l) => lines.push(l),
      callbacks: [
        {
          onTrainBegin: () => {
            events.push('begin');
          },
          onEpochBegin: (_t, e) => {
            events.push(`epoch${e}`);
          },
          onStepEnd: (_t, step) => {
            events.push(`step${step.step}`);
          },
          onLog: (_t, logs) => {
            // Every step's losses arrive, read once per log period (logEvery 4: steps 1–4, …).
            logged.push(logs.map((l) => l.step));
            // The total is the weighted sum of the named losses (accumulation 1: one batch).
            for (const l of logs) expect(l.loss).toBeCloseTo(l.losses.mse! + 0.5 * l.losses.l1!, 6);
          },
          onEpochEnd: (_t, e) => {
            events.push(`end${e}`);
          },
          onEvalEnd: (_t, logs) => {
            events.push(`eval${logs.step}`);
          },
          onTrainEnd: () => {
            events.push('done');
          },
        },
      ],
    });
    opts.scheduler = new StepLR(opts.optimizer, { stepSize: 4, gamma: 0.5 });
    const trainer = new Trainer(opts);
    const result = await trainer.train();
    expect(result.state.step).toBe(12);
    expect(result.state.epoch).toBe(3);
    expect(events.slice(0, 8)).toEqual([
      'begin',
      'epoch0',
      'step1',
      'step2',
      'step3',
      'step4',
      'end0',
      'eval4',
    ]);
    expect(events.at(-1)).toBe('done');
    expect(logged).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 10, 11, 12],
    ]);
    const train = result.history.train;
    expect(train.at(-1)!.loss).toBeLessThan(train[0]!.loss / 2);
    expect(train.map((l) => l.lr)).toEqual([
      0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025, 0.0125,
    ]);
    expect(result.history.eval.map((e) => Object.keys(e.metrics).sort())).toEqual(
      Array(3).fill(['loss', 'loss/l1', 'loss/mse', 'mae']),
    );
    const jsonl = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(jsonl.filter((r) => r.type === 'train')).toHaveLength(12);
    expect(jsonl.filter((r) => r.type === 'eval')).toHaveLength(3);
    const html = readFileSync(result.reportPath!, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('eval metrics');
    expect(existsSync(join(out, 'report.svg'))).toBe(true);
    expect(lines.filter((l) => l.startsWith('step '))).toHaveLength(3); // steps 4, 8, 12
    expect(lines[0]).toMatch(/^step 4\/12 loss=\d/);
  });

  it('stops early when the watched metric stops improving', async () => {
    const trainer = new Trainer(
      options({
        evalData: batches(1),
        computeMetrics: () => ({ accuracy: 0.5 }),
        evalEvery: 1,
        maxSteps: 100,
        earlyStopping: { metric: 'accuracy', mode: 'max', patience: 2 },
      }),
    );
    const result = await trainer.train();
    expect(result.stoppedEarly).toBe(true);
    expect(result.state.step).toBe(3); // best at eval 1, two evals without improvement
  });

  it('resumes from a checkpoint by skipping consumed batches when the loader has no stateDict', async () => {
    /** An epoch-seeded order (rotated by the epoch) set through `setEpoch`, without a stateDict. */
    class EpochOrdered implements Iterable<Batch> {
      private epoch = 0;
      private readonly all = batches(4);
      readonly length = 4;
      setEpoch(e: number): void {
        this.epoch = e;
      }
      *[Symbol.iterator](): Iterator<Batch> {
        for (let i = 0; i < 4; i++) yield this.all[(i + this.epoch) % 4]!;
      }
    }
    const ref = await new Trainer(options({ maxSteps: 10, trainData: new EpochOrdered() })).train();
    const ckpt = join(dir, 'skip-ckpt');
    const first = new Trainer(
      options({
        maxSteps: 10,
        trainData: new EpochOrdered(),
        checkpointDir: ckpt,
        checkpointEvery: 2,
        callbacks: [
          {
            onStepEnd: (t, logs) => {
              if (logs.step === 7) t.state.shouldStop = true;
            },
          },
        ],
      }),
    );
    expect((await first.train()).state).toMatchObject({ step: 7, epoch: 1, batchInEpoch: 3 });
    const second = new Trainer(
      options({ maxSteps: 10, trainData: new EpochOrdered(), checkpointDir: ckpt, checkpointEvery: 2 }),
    );
    const resumed = await second.train({ resume: true });
    expect(resumed.resumedFrom).toBe(7);
    expect(resumed.history.train.map((l) => l.loss)).toEqual(ref.history.train.slice(7).map((l) => l.loss));
  });

  it('leaks no tensors across steps and steps ReduceLROnPlateau on the eval metric', async () => {
    const counts: number[] = [];
    const opts = options({
      maxEpochs: 4,
      evalData: batches(1, 3),
      callbacks: [
        {
          onStepEnd: () => {
            counts.push(memory().tensors);
          },
        },
      ],
    });
    // patience 0 and a relative threshold of 10 that no eval can beat (best·(1 − 10) < 0, and even
    // the first eval fails `a < ∞·(1 − 10) = −∞`, as in torch): the lr halves after every eval.
    opts.scheduler = new ReduceLROnPlateau(opts.optimizer, { factor: 0.5, patience: 0, threshold: 10 });
    const result = await new Trainer(opts).train();
    // Steps 2.. see the same number of live tensors (step 1 creates the optimizer state).
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(result.history.train.map((l) => l.lr)).toEqual([
      0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.0125, 0.0125,
    ]);
  });

  it('keeps a weight EMA: updated per step, used for eval, restored on resume', async () => {
    const run = async (ckpt: string, stopAt?: number, resume = false) => {
      const opts = options({
        maxSteps: 8,
        evalData: batches(1),
        evalEvery: 4,
        checkpointDir: ckpt,
        checkpointEvery: 2,
      });
      const ema = new ExponentialMovingAverage(opts.model.parameters(), { decay: 0.5, warmup: false });
      const seenInEval: number[][] = [];
      opts.ema = ema;
      opts.computeMetrics = (m) => {
        seenInEval.push(Array.from((m as Linear).weight.dataSync()));
        return {};
      };
      opts.callbacks = [
        {
          onStepEnd: (t, logs) => {
            if (logs.step === stopAt) t.state.shouldStop = true;
          },
          onEvalEnd: () => {
            // After eval the training weights are back.
            expect(Array.from((opts.model as Linear).weight.dataSync())).not.toEqual(seenInEval.at(-1));
          },
        },
      ];
      const result = await new Trainer(opts).train({ resume });
      return { ema, seenInEval, result };
    };
    const ref = await run(join(dir, 'ema-ref'));
    expect(ref.ema.numUpdates).toBe(8);
    expect(ref.seenInEval).toHaveLength(2);
    expect(ref.seenInEval[1]).toEqual(Array.from(ref.ema.shadowParams()[0]!.dataSync()));
    await run(join(dir, 'ema-split'), 3);
    const resumed = await run(join(dir, 'ema-split'), undefined, true);
    expect(resumed.result.resumedFrom).toBe(3);
    expect(resumed.ema.numUpdates).toBe(8);
    expect(Array.from(resumed.ema.shadowParams()[0]!.dataSync())).toEqual(
      Array.from(ref.ema.shadowParams()[0]!.dataSync()),
    );
  });

  it('rejects bad options and non-finite losses with typed errors', async () => {
    expect(() => new Trainer(options({ gradientAccumulationSteps: 0 }))).toThrow(ArgumentError);
    expect(() => new Trainer(options({ checkpointEvery: 2 }))).toThrow(/checkpointDir/);
    expect(() => new Trainer(options({ earlyStopping: { metric: 'loss', patience: 1 } }))).toThrow(
      /evalData/,
    );
    async function* once() {
      yield* batches(2);
    }
    const oneShot = new Trainer(options({ trainData: once(), maxSteps: 5 }));
    await expect(oneShot.train()).rejects.toThrow(/no batches in epoch 1/);
    const bad = new Trainer(options({ computeLoss: () => tensor(Number.NaN) }));
    await expect(bad.train()).rejects.toThrow(/loss is NaN at step 1/);
    // Missing or mistyped parts are named at construction, not as a TypeError mid-training.
    const missing = (extra: object) => () => new Trainer({ ...options(), ...extra } as TrainerOptions<Batch>);
    expect(missing({ model: undefined })).toThrow(new ArgumentError('Trainer', 'model must be a Module'));
    expect(missing({ optimizer: undefined })).toThrow(/optimizer must be an Optimizer/);
    expect(missing({ computeLoss: 'mse' })).toThrow(/computeLoss must be a function/);
    expect(missing({ trainData: undefined })).toThrow(/trainData must be an array or an \(async\) iterable/);
    expect(missing({ evalData: 3 })).toThrow(/evalData must be/);
  });
});

describe('SVG report', () => {
  it('draws one polyline per series, escapes text and handles empty data', () => {
    const svg = lineChartSvg('a<b', [
      {
        name: 'train',
        points: [
          [1, 3],
          [2, 2],
          [3, Number.NaN],
          [4, 1],
        ],
      },
      {
        name: 'eval',
        points: [
          [2, 2.5],
          [4, 1.5],
        ],
      },
    ]);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('a&lt;b');
    // train keeps 3 finite points.
    expect(svg.match(/<polyline[^>]*points="([^"]*)"/)![1]!.split(' ')).toHaveLength(3);
    expect(lineChartSvg('empty', [])).toContain('no data');
    expect(reportHtml('r', [svg], { steps: 4 })).toContain('<th>steps</th><td>4</td>');
  });
});
