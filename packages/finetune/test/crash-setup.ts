/**
 * The training run shared by the crash test's child process and the test itself, so that the
 * interrupted run, its resumption and the uninterrupted reference are the same computation.
 */
import { Dropout, Linear, Module } from '@polymodal/nn';
import { Generator, manualSeed, randn, scope, type Tensor, tensor } from '@polymodal/tensor';
import { AdamW, getScheduler, type TrainerCallbacks } from '../src/index.js';
import { Trainer } from '../src/node.js';

export interface Batch {
  x: Tensor;
  y: Tensor;
}

class Net extends Module {
  readonly dropoutGenerator = new Generator(7);
  fc1 = this.registerModule('fc1', new Linear(4, 8, { seed: 1 }));
  drop = this.registerModule('drop', new Dropout(0.2, { generator: this.dropoutGenerator }));
  fc2 = this.registerModule('fc2', new Linear(8, 2, { seed: 2 }));
  forward(x: Tensor): Tensor {
    return scope(() => this.fc2.forward(this.drop.forward(this.fc1.forward(x).tanh())));
  }
}

/** A deterministic shuffling loader with a resumable position, like @polymodal/data's DataLoader. */
export class ToyLoader implements AsyncIterable<Batch> {
  epoch = 0;
  position = 0;
  readonly length = 5;
  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    const g = new Generator(100 + this.epoch);
    const order = Array.from({ length: this.length }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = g.integer(0, i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    while (this.position < this.length) {
      const b = order[this.position++]!;
      const x = randn([3, 4], { seed: 1000 + b });
      const y = tensor([
        [b % 2, 1],
        [1, 0],
        [0, b % 3],
      ]);
      yield { x, y };
    }
    this.epoch++;
    this.position = 0;
  }
  stateDict(): { epoch: number; position: number } {
    return { epoch: this.epoch, position: this.position };
  }
  loadStateDict(s: { epoch: number; position: number }): void {
    this.epoch = s.epoch;
    this.position = s.position;
  }
}

export const MAX_STEPS = 16;

export function makeTrainer(
  checkpointDir: string,
  outputDir: string,
  callbacks: TrainerCallbacks<Batch>[] = [],
): Trainer<Batch> {
  manualSeed(3);
  const model = new Net();
  const optimizer = new AdamW(model.parameters(), { lr: 0.05, weightDecay: 0.01 });
  return new Trainer<Batch>({
    model,
    optimizer,
    scheduler: getScheduler('cosine', optimizer, { numWarmupSteps: 3, numTrainingSteps: MAX_STEPS }),
    computeLoss: (m, b) => {
      const out = (m as Net).forward(b.x);
      return { mse: out.sub(b.y).square().mean(), l1: out.sub(b.y).abs().mean() };
    },
    lossWeights: { l1: 0.5 },
    trainData: new ToyLoader(),
    maxSteps: MAX_STEPS,
    gradientAccumulationSteps: 2,
    maxGradNorm: 1,
    checkpointDir,
    checkpointEvery: 2,
    keepLast: 2,
    outputDir,
    progress: 'none',
    callbacks,
  });
}
