import { Dropout, Linear, Module } from '@polymodal/nn';
import {
  ArgumentError,
  Generator,
  getDefaultGenerator,
  manualSeed,
  type Tensor,
  tensor,
} from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { AdamW } from '../optim/adam.js';
import { loadOptimizerState, saveOptimizerState } from '../optim/optimizer-state-file.js';
import { StepLR } from '../schedulers/step-lr.js';
import type { TrainerState } from '../trainer/trainer-types.js';
import { ExponentialMovingAverage } from './ema.js';
import {
  loadTrainingState,
  saveTrainingState,
  TRAINING_STATE_FILES,
  type TrainingParts,
} from './training-state.js';

class Net extends Module {
  fc = this.registerModule('fc', new Linear(3, 2, { seed: 1 }));
  drop = this.registerModule('drop', new Dropout(0.5, { seed: 2 }));
  forward(x: Tensor): Tensor {
    return this.drop.forward(this.fc.forward(x));
  }
}

/** A loader stand-in with a position. */
class Cursor {
  position = 0;
  stateDict() {
    return { position: this.position };
  }
  loadStateDict(s: { position: number }) {
    this.position = s.position;
  }
}

function parts(): TrainingParts & { model: Net; loader: Cursor; augment: Generator } {
  const model = new Net();
  const optimizer = new AdamW(model.parameters(), { lr: 0.1 });
  const augment = new Generator(5);
  return {
    model,
    optimizer,
    scheduler: new StepLR(optimizer, { stepSize: 2, gamma: 0.5 }),
    loader: new Cursor(),
    generators: [augment],
    ema: new ExponentialMovingAverage(model.parameters(), { decay: 0.8 }),
    augment,
  };
}

/** One step that draws from every generator; returns the loss (a host number, for comparison). */
function step(p: ReturnType<typeof parts>, i: number): number {
  const noise = p.augment.uniform();
  const x = tensor([[Math.sin(i) + noise, Math.cos(i), getDefaultGenerator().uniform()]]);
  const loss = p.model.forward(x).square().mean();
  const value = loss.item();
  loss.backward();
  p.optimizer.step();
  p.optimizer.zeroGrad();
  p.scheduler!.step();
  p.ema!.update();
  p.loader.position++;
  return value;
}

const counters = (stepNo: number): TrainerState => ({
  step: stepNo,
  epoch: 0,
  batchInEpoch: stepNo,
  shouldStop: true,
  bestMetric: 0.5,
  badEvals: 1,
});

describe('saveTrainingState / loadTrainingState', () => {
  it('capture everything a run depends on: a restored copy continues bit for bit', () => {
    manualSeed(1);
    const a = parts();
    for (let i = 0; i < 3; i++) step(a, i);
    const files = saveTrainingState(a, counters(3));
    expect(Object.keys(files).sort()).toEqual([...TRAINING_STATE_FILES, 'ema.safetensors'].sort());
    const straight = [3, 4, 5].map((i) => step(a, i));

    manualSeed(99); // other RNG states everywhere: the load must set them all
    const b = parts();
    const logs: string[] = [];
    const loaded = loadTrainingState(b, files, { log: (l) => logs.push(l) });
    // Counters come back as saved, except shouldStop (a stopped run resumes running).
    expect(loaded).toEqual({ counters: { ...counters(3), shouldStop: false }, loaderRestored: true });
    expect(b.loader.position).toBe(3);
    expect(b.ema!.numUpdates).toBe(3);
    expect(b.optimizer.paramGroups[0]!.lr).toBe(0.05); // StepLR after 3 steps: 0.1 · 0.5^⌊3/2⌋
    expect([3, 4, 5].map((i) => step(b, i))).toEqual(straight);
    expect(Array.from(b.model.fc.weight.dataSync())).toEqual(Array.from(a.model.fc.weight.dataSync()));
    expect(Array.from(b.ema!.shadowParams()[0]!.dataSync())).toEqual(
      Array.from(a.ema!.shadowParams()[0]!.dataSync()),
    );
    expect(logs).toEqual([]);
  });

  it('loads the trainer.json of checkpoints before 0.2 (no model generators) and names what is missing', () => {
    const a = parts();
    step(a, 0);
    const files = saveTrainingState(a, counters(1));
    const json = JSON.parse(new TextDecoder().decode(files['trainer.json']));
    delete json.rng.model;
    const old = { ...files, 'trainer.json': new TextEncoder().encode(JSON.stringify(json)) };
    const b = parts();
    expect(loadTrainingState(b, old).counters.step).toBe(1);
    // A model with a generator the checkpoint lacks, and the reverse, are reported, not fatal.
    json.rng.model = { 'other.generator': json.rng.default };
    const logs: string[] = [];
    loadTrainingState(
      parts(),
      { ...files, 'trainer.json': new TextEncoder().encode(JSON.stringify(json)) },
      {
        log: (l) => logs.push(l),
      },
    );
    expect(logs).toEqual([
      "checkpoint has no state for the model's generator 'drop.generator': it starts fresh",
      "checkpoint has state for a generator 'other.generator' the model does not have",
    ]);
    const { 'optimizer.safetensors': _, ...partial } = files;
    expect(() => loadTrainingState(parts(), partial)).toThrow(ArgumentError);
    expect(() => loadTrainingState(parts(), partial)).toThrow(/lacks optimizer\.safetensors/);
  });
});

describe('saveOptimizerState / loadOptimizerState', () => {
  it('round-trips AdamW moments, steps and param groups into a fresh optimizer', () => {
    const p = tensor([1, -2, 3], { requiresGrad: true });
    const opt = new AdamW([p], { lr: 0.01, weightDecay: 0.1 });
    for (let i = 0; i < 2; i++) {
      p.square().sum().backward();
      opt.step();
      opt.zeroGrad();
    }
    const saved = saveOptimizerState(opt);
    expect(saved.meta.scalars).toEqual({ 0: { step: 2 } });
    const q = tensor(Array.from(p.dataSync()), { requiresGrad: true });
    const fresh = new AdamW([q], { lr: 0.5 });
    loadOptimizerState(fresh, saved.tensors, saved.meta);
    expect(fresh.paramGroups[0]!.lr).toBe(0.01);
    const a = opt.stateDict().state[0]!;
    const b = fresh.stateDict().state[0]!;
    for (const key of ['expAvg', 'expAvgSq'])
      expect(Array.from((b[key] as Tensor).dataSync())).toEqual(Array.from((a[key] as Tensor).dataSync()));
  });
});
