/**
 * Test helpers: the toy task that needs both modalities, a hand-written Adam, and a training loop.
 *
 * Each sample draws two independent bits a, b ∈ {0, 1}. Modality `image` carries only a, `text`
 * only b, each as ±u_m + Gaussian noise (u_m a fixed random ±1 direction); the label is a XOR b.
 * Either modality alone says nothing about the label (P(y | a) = 1/2), so a model scores well above
 * chance only if it fuses the two.
 */
import { Linear, type Module, ReLU, Sequential } from '@polymodal/nn';
import {
  crossEntropy,
  Generator,
  keep,
  noGrad,
  randperm,
  scope,
  type Tensor,
  tensor,
  zeros,
} from '@polymodal/tensor';
import type { FusionInputs, FusionModule } from '../src/index.js';

export interface XorData {
  inputs: FusionInputs;
  labels: Tensor;
}

export interface XorOptions {
  n: number;
  dims: Record<string, number>;
  /** Tokens per modality; omitted → pooled `[n, D]` inputs. */
  seqLen?: number;
  noise?: number;
  /** `'xor'` (default): independent bits, label a XOR b. `'same'`: both modalities carry bit a, label a (redundant evidence). */
  task?: 'xor' | 'same';
  seed: number;
}

/** The XOR task (or its redundant variant): see the file comment. The first two sorted modalities carry the bits. */
export function makeXorData(options: XorOptions): XorData {
  const g = new Generator(options.seed);
  const direction = new Generator(12345); // the same u_m for train and test sets
  const noise = options.noise ?? 0.5;
  const names = Object.keys(options.dims).sort();
  const bits = names.map(() => Array.from({ length: options.n }, () => (g.uniform() < 0.5 ? 0 : 1)));
  if (options.task === 'same') bits[1] = bits[0]!;
  const labels = Array.from({ length: options.n }, (_, i) =>
    options.task === 'same' ? bits[0]![i]! : bits[0]![i]! ^ bits[1]![i]!,
  );
  const inputs: FusionInputs = {};
  names.forEach((name, k) => {
    const d = options.dims[name]!;
    const u = Array.from({ length: d }, () => (direction.uniform() < 0.5 ? -1 : 1));
    const len = options.seqLen ?? 1;
    const values = new Float32Array(options.n * len * d);
    for (let i = 0; i < options.n; i++) {
      const s = bits[k]![i]! * 2 - 1;
      for (let t = 0; t < len; t++) {
        for (let j = 0; j < d; j++) values[(i * len + t) * d + j] = s * u[j]! + noise * g.normal();
      }
    }
    const shape = options.seqLen === undefined ? [options.n, d] : [options.n, len, d];
    inputs[name] = tensor(values, { shape });
  });
  return { inputs, labels: tensor(labels, { dtype: 'int32' }) };
}

/** Adam (Kingma & Ba 2015), written out so the test owns its optimiser. */
export class Adam {
  private readonly m: Tensor[];
  private readonly v: Tensor[];
  private t = 0;
  constructor(
    private readonly params: Tensor[],
    private readonly lr = 0.01,
  ) {
    this.m = params.map((p) => keep(zeros(p.shape)));
    this.v = params.map((p) => keep(zeros(p.shape)));
  }

  step(): void {
    this.t++;
    const [b1, b2] = [0.9, 0.999];
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    noGrad(() =>
      scope(() => {
        this.params.forEach((p, i) => {
          if (!p.grad) return;
          const m = this.m[i]!.mul(b1).add(p.grad.mul(1 - b1));
          const v = this.v[i]!.mul(b2).add(p.grad.square().mul(1 - b2));
          this.m[i]!.assign(m);
          this.v[i]!.assign(v);
          p.assign(p.sub(m.div(c1).div(v.div(c2).sqrt().add(1e-8)).mul(this.lr)));
        });
      }),
    );
  }
}

/** A strategy plus a small MLP head to 2 classes (additive fusions need the non-linearity for XOR). */
export class Classifier extends Sequential {
  constructor(
    readonly fusion: FusionModule,
    readonly withHead: boolean,
    seed: number,
  ) {
    super();
    this.append(fusion);
    if (withHead) {
      this.append(new Linear(fusion.outputDim, 16, { seed }));
      this.append(new ReLU());
      this.append(new Linear(16, 2, { seed: seed + 1 }));
    }
  }

  logits(inputs: FusionInputs): Tensor {
    return scope(() => {
      let h = this.fusion.forward(inputs).fused;
      for (const layer of this.children().slice(1)) h = (layer as Module).forward(h) as Tensor;
      return h;
    });
  }
}

/** Trains with full-batch Adam on cross-entropy; returns the final training loss. */
export function train(model: Classifier, data: XorData, steps: number, lr = 0.01): number {
  model.train();
  const opt = new Adam(model.parameters(), lr);
  let last = Number.NaN;
  for (let s = 0; s < steps; s++) {
    model.zeroGrad();
    last = scope(() => {
      const loss = crossEntropy(model.logits(data.inputs), data.labels);
      loss.backward();
      return loss.item();
    });
    opt.step();
  }
  return last;
}

/** Accuracy on `data`; with `shuffle`, that modality's rows are permuted (its bit no longer matches). */
export function accuracy(model: Classifier, data: XorData, shuffle?: string, seed = 7): number {
  model.eval();
  return noGrad(() =>
    scope(() => {
      const inputs = { ...data.inputs };
      if (shuffle)
        inputs[shuffle] = inputs[shuffle]!.indexSelect(0, randperm(data.labels.shape[0]!, { seed }));
      const predicted = model.logits(inputs).argmax(-1);
      return predicted.eq(data.labels).float().mean().item();
    }),
  );
}
