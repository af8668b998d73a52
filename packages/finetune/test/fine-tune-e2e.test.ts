/**
 * The "done when" test of @polymodal/finetune: a small encoder is pretrained on task A, then
 * fine-tuned on task B with everything together — a new head, AdamW over layer-wise LR decay
 * groups, a cosine schedule with warmup, the encoder frozen for the first steps and then
 * unfrozen by a callback, gradient clipping, and the Trainer writing checkpoints, metrics.jsonl
 * and its SVG/HTML report.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Embedding, LayerNorm, Linear, Module, ModuleList } from '@polymodal/nn';
import { crossEntropy, Generator, gelu, memory, scope, type Tensor, tensor } from '@polymodal/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AdamW,
  freezeParameters,
  getScheduler,
  type LayerDecayGroup,
  layerWiseLrDecayGroups,
  type StepLogs,
  unfreezeParameters,
} from '../src/index.js';
import { Trainer } from '../src/node.js';

const VOCAB = 8;
const SEQ = 4;
const DIM = 16;
const NUM_LAYERS = 2;

/** A pre-norm residual MLP block: x + fc2(gelu(fc1(norm(x)))). */
class Block extends Module {
  norm = this.registerModule('norm', new LayerNorm(DIM));
  fc1: Linear;
  fc2: Linear;
  constructor(seed: number) {
    super();
    this.fc1 = this.registerModule('fc1', new Linear(DIM, 2 * DIM, { seed }));
    this.fc2 = this.registerModule('fc2', new Linear(2 * DIM, DIM, { seed: seed + 1 }));
  }
  forward(x: Tensor): Tensor {
    return scope(() => x.add(this.fc2.forward(gelu(this.fc1.forward(this.norm.forward(x))))));
  }
}

/** Token embeddings + `layers.<i>` blocks + mean pooling: parameter names follow the layer-id rule. */
class Encoder extends Module {
  embeddings = this.registerModule('embeddings', new Embedding(VOCAB, DIM, { seed: 10 }));
  layers = this.registerModule('layers', new ModuleList([new Block(20), new Block(30)]));
  forward(tokens: Tensor): Tensor {
    return scope(() => {
      let x = this.embeddings.forward(tokens).mul(0.5); // [B, SEQ, DIM]
      for (const block of this.layers) x = block.forward(x);
      return x.mean(1); // [B, DIM]
    });
  }
}

class Classifier extends Module {
  encoder: Encoder;
  norm = this.registerModule('norm', new LayerNorm(DIM));
  head: Linear;
  constructor(encoder: Encoder, numClasses: number, seed: number) {
    super();
    this.encoder = this.registerModule('encoder', encoder);
    this.head = this.registerModule('head', new Linear(DIM, numClasses, { seed }));
  }
  forward(tokens: Tensor): Tensor {
    return scope(() => this.head.forward(this.norm.forward(this.encoder.forward(tokens))));
  }
}

interface Batch {
  tokens: Tensor;
  labels: Tensor;
}

/** Fixed random token sequences labelled by `label`, in batches of `batchSize`. */
function makeBatches(
  seed: number,
  count: number,
  batchSize: number,
  label: (seq: number[]) => number,
): Batch[] {
  const g = new Generator(seed);
  const batches: Batch[] = [];
  for (let start = 0; start < count; start += batchSize) {
    const seqs = Array.from({ length: batchSize }, () =>
      Array.from({ length: SEQ }, () => g.integer(0, VOCAB)),
    );
    batches.push({
      tokens: tensor(seqs, { dtype: 'int32' }),
      labels: tensor(seqs.map(label), { dtype: 'int32' }),
    });
  }
  return batches;
}

// Task A (pretraining): does the sequence contain token 7? Task B (fine-tuning): how many tokens
// are < 4 (0..4, five classes) — a different head over the same bag-of-tokens features.
const taskA = (s: number[]) => Number(s.includes(7));
const taskB = (s: number[]) => s.filter((t) => t < 4).length;

const loss = (m: Module, b: Batch) => crossEntropy((m as Classifier).forward(b.tokens), b.labels);

/** Hugging Face's cosine schedule with linear warmup, written out independently of the package. */
function cosineFactor(step: number, warmup: number, total: number): number {
  if (step < warmup) return step / warmup;
  return 0.5 * (1 + Math.cos((Math.PI * (step - warmup)) / (total - warmup)));
}

const work = mkdtempSync(join(tmpdir(), 'finetune-e2e-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function snapshot(model: Module, prefix: string): Map<string, Float32Array> {
  return new Map(
    model
      .namedParameters()
      .filter(([n]) => n.startsWith(prefix))
      .map(([n, p]) => [n, Float32Array.from(p.dataSync() as Float32Array)]),
  );
}

function maxChange(model: Module, before: Map<string, Float32Array>): number {
  let worst = 0;
  for (const [n, p] of model.namedParameters()) {
    const old = before.get(n);
    if (!old) continue;
    const now = p.dataSync();
    for (let i = 0; i < old.length; i++) worst = Math.max(worst, Math.abs(now[i]! - old[i]!));
  }
  return worst;
}

describe('fine-tuning end to end', () => {
  it('pretrains on task A, then fine-tunes on task B with LLRD, cosine warmup, freeze/unfreeze and checkpoints', async () => {
    // ---- pretraining on task A (a plain Trainer run, 2-class head) -----------------------------
    const encoder = new Encoder();
    const pretrainModel = new Classifier(encoder, 2, 40);
    const pretrainOpt = new AdamW(pretrainModel.parameters(), { lr: 1e-2, weightDecay: 0.01 });
    const pretrain = await new Trainer<Batch>({
      model: pretrainModel,
      optimizer: pretrainOpt,
      computeLoss: loss,
      trainData: makeBatches(1, 256, 32, taskA),
      maxSteps: 40,
      progress: 'none',
    }).train();
    const pretrainLosses = pretrain.history.train.map((l) => l.loss);
    expect(pretrainLosses.at(-1)!).toBeLessThan(0.5 * pretrainLosses[0]!);

    // ---- fine-tuning on task B: same encoder, a fresh 5-class head ----------------------------
    const model = new Classifier(encoder, 5, 50);
    const baseLr = 2e-2;
    const layerDecay = 0.5;
    const warmup = 5;
    const maxSteps = 60;
    const frozenSteps = 10;
    const groups: LayerDecayGroup[] = layerWiseLrDecayGroups(model.namedParameters(), {
      lr: baseLr,
      layerDecay,
      numLayers: NUM_LAYERS,
      weightDecay: 0.01,
    });
    // Ids: embeddings 0, encoder.layers.0 → 1, encoder.layers.1 → 2, norm + head → 3.
    expect([...new Set(groups.map((g) => g.layerId))]).toEqual([0, 1, 2, 3]);
    expect(groups.find((g) => g.names.includes('encoder.embeddings.weight'))!.layerId).toBe(0);
    expect(groups.find((g) => g.names.includes('encoder.layers.1.fc1.weight'))!.layerId).toBe(2);
    expect(groups.find((g) => g.names.includes('head.weight'))!.layerId).toBe(3);
    const optimizer = new AdamW(groups);
    const scheduler = getScheduler('cosine', optimizer, {
      numWarmupSteps: warmup,
      numTrainingSteps: maxSteps,
    });

    const trainData = makeBatches(2, 256, 32, taskB);
    const evalData = makeBatches(3, 128, 64, taskB);
    const encoderAtStart = snapshot(model, 'encoder.');
    const headAtStart = snapshot(model, 'head.');
    let encoderChangeWhileFrozen = Number.NaN;
    let headChangeWhileFrozen = Number.NaN;
    let trainableDuringFreeze = -1;
    const checkedLrSteps: number[] = [];
    const checkpoints: string[] = [];
    const ckptDir = join(work, 'checkpoints');
    const outDir = join(work, 'run');
    const tensorsBefore = memory().tensors;

    const trainer = new Trainer<Batch>({
      model,
      optimizer,
      scheduler,
      computeLoss: loss,
      computeMetrics: (m, b) => ({
        accuracy: (m as Classifier).forward(b.tokens).argmax(-1).eq(b.labels).cast('float32').mean().item(),
      }),
      trainData,
      evalData,
      maxSteps,
      evalEvery: 20,
      maxGradNorm: 1,
      checkpointDir: ckptDir,
      checkpointEvery: 20,
      keepLast: 2,
      outputDir: outDir,
      progress: 'none',
      callbacks: [
        {
          onTrainBegin: () => {
            freezeParameters(model, 'encoder.**');
            trainableDuringFreeze = model.parameters().filter((p) => p.requiresGrad).length;
          },
          onStepEnd: (_t, logs: StepLogs) => {
            if (logs.step === frozenSteps) {
              encoderChangeWhileFrozen = maxChange(model, encoderAtStart);
              headChangeWhileFrozen = maxChange(model, headAtStart);
              unfreezeParameters(model, 'encoder.**');
            }
            // After `step` scheduler steps every group's lr is baseLr · cosine(step) · decay^(3 − id).
            if (logs.step === 3 || logs.step === 30) {
              const factor = cosineFactor(logs.step, warmup, maxSteps);
              optimizer.paramGroups.forEach((g, i) => {
                const id = groups[i]!.layerId;
                expect(g.lr).toBeCloseTo(baseLr * factor * layerDecay ** (NUM_LAYERS + 1 - id), 12);
              });
              checkedLrSteps.push(logs.step);
            }
          },
          onCheckpoint: (_t, path) => {
            checkpoints.push(path);
          },
        },
      ],
    });
    const result = await trainer.train();

    // Freezing: only norm + head (4 tensors) trained for the first steps, the encoder did not move
    // at all, then it did once unfrozen.
    expect(trainableDuringFreeze).toBe(4);
    expect(encoderChangeWhileFrozen).toBe(0);
    expect(headChangeWhileFrozen).toBeGreaterThan(1e-3);
    expect(maxChange(model, encoderAtStart)).toBeGreaterThan(1e-3);
    expect(model.parameters().every((p) => p.requiresGrad)).toBe(true);
    expect(checkedLrSteps).toEqual([3, 30]);

    // Loss: initial ≈ ln 5 ≈ 1.61 (a fresh 5-class head); the last steps are far below it.
    const losses = result.history.train.map((l) => l.loss);
    expect(losses).toHaveLength(maxSteps);
    expect(losses[0]!).toBeGreaterThan(1.2);
    const finalLoss = losses.slice(-8).reduce((a, b) => a + b, 0) / 8;
    expect(finalLoss).toBeLessThan(0.5);
    expect(finalLoss).toBeLessThan(0.35 * losses[0]!);
    const lastEval = result.history.eval.at(-1)!;
    expect(lastEval.step).toBe(maxSteps);
    expect(lastEval.metrics.accuracy!).toBeGreaterThan(0.8);
    // The final lr is the end of the cosine: 0.
    expect(result.history.train.at(-1)!.lr).toBeCloseTo(0, 12);

    // Checkpoints at steps 20, 40, 60 (directory names zero-padded to 8 digits); the last two kept;
    // each holds the model, the optimizer and the trainer state.
    const ckptName = (step: number) => `checkpoint-${String(step).padStart(8, '0')}`;
    expect(checkpoints.map((p) => p.split(/[\\/]/).at(-1))).toEqual([20, 40, 60].map(ckptName));
    expect(
      readdirSync(ckptDir)
        .filter((n) => n.startsWith('checkpoint-'))
        .sort(),
    ).toEqual([40, 60].map(ckptName));
    for (const f of ['model.safetensors', 'optimizer.safetensors', 'trainer.json'])
      expect(existsSync(join(ckptDir, ckptName(60), f))).toBe(true);
    const saved = JSON.parse(readFileSync(join(ckptDir, ckptName(60), 'trainer.json'), 'utf8')) as {
      state: { step: number };
      optimizer: { paramGroups: { lr: number }[] };
    };
    expect(saved.state.step).toBe(maxSteps);
    expect(saved.optimizer.paramGroups).toHaveLength(groups.length);

    // Report: one JSONL record per step (and per eval), and the report files mention the run.
    const records = readFileSync(join(outDir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; step: number; loss?: number });
    const trainRecords = records.filter((r) => r.type === 'train');
    expect(trainRecords.map((r) => r.step)).toEqual(Array.from({ length: maxSteps }, (_, i) => i + 1));
    expect(trainRecords.map((r) => r.loss)).toEqual(losses);
    expect(records.filter((r) => r.type === 'eval').map((r) => r.step)).toEqual([20, 40, 60]);
    const svg = readFileSync(join(outDir, 'report.svg'), 'utf8');
    expect(svg).toContain('<svg');
    expect(svg).toContain('train loss');
    const html = readFileSync(result.reportPath!, 'utf8');
    expect(result.reportPath).toBe(join(outDir, 'report.html'));
    expect(html).toContain('<svg');
    expect(html).toContain(String(maxSteps));
    expect(html).toContain(losses.at(-1)!.toFixed(5));

    // The loop leaks no tensors beyond the optimizer's state (two Adam moments per parameter).
    expect(memory().tensors - tensorsBefore).toBeLessThanOrEqual(2 * model.parameters().length);
    // About 2 s on an idle core; a full `pnpm test` on a loaded two-core machine took over 30 s.
  }, 120_000);
});
