import { Module } from '@polymodal/nn';
import { randn, type Tensor, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { contrastiveLoss } from '../contrastive.js';
import { itmLoss } from '../itm.js';
import { mlmLoss } from '../mlm.js';
import { sigLipLoss } from '../sigmoid.js';
import { answerCrossEntropyLoss, vqaLoss } from '../vqa.js';
import { ContrastiveLoss } from './contrastive-loss.js';
import { ItmLoss } from './itm-loss.js';
import { MlmLoss } from './mlm-loss.js';
import { MultiTaskLoss, UncertaintyWeightedLoss } from './multi-task-loss.js';
import { SigLipLoss } from './sig-lip-loss.js';
import { AnswerCrossEntropyLoss, VqaLoss } from './vqa-loss.js';

const img = randn([4, 6], { seed: 1 });
const txt = randn([4, 6], { seed: 2 });

describe('ContrastiveLoss', () => {
  it('holds a learnable logitScale initialised to ln(1/0.07) and matches the function', () => {
    const m = new ContrastiveLoss({ labelSmoothing: 0.1 });
    expect(m).toBeInstanceOf(Module);
    expect(m.namedParameters().map(([n]) => n)).toEqual(['logitScale']);
    expect(m.logitScale.item()).toBeCloseTo(Math.log(1 / 0.07), 5);
    const expected = contrastiveLoss(img, txt, {
      logitScale: Math.log(1 / 0.07),
      labelSmoothing: 0.1,
    }).loss.item();
    const { loss } = m.forward(img, txt);
    expect(loss.item()).toBeCloseTo(expected, 5);
    loss.backward();
    expect(m.logitScale.grad).not.toBeNull();
    expect(Object.keys(m.stateDict())).toEqual(['logitScale']);
  });
  it('can keep the scale fixed as a buffer, and clampLogitScale clamps in place like OpenCLIP', () => {
    expect(new ContrastiveLoss({ learnLogitScale: false }).parameters()).toHaveLength(0);
    const m = new ContrastiveLoss({ initLogitScale: 7 });
    m.clampLogitScale();
    expect(m.logitScale.item()).toBeCloseTo(Math.log(100), 5);
  });
  it('trains: a few SGD steps on logitScale lower the loss for well-aligned embeddings', () => {
    const m = new ContrastiveLoss({ initLogitScale: 0 });
    const first = m.forward(img, img).loss;
    const start = first.item();
    for (let step = 0; step < 5; step++) {
      m.zeroGrad();
      const { loss } = m.forward(img, img);
      loss.backward();
      const updated = m.logitScale.sub(m.logitScale.grad!.mul(0.5));
      m.logitScale.assign(updated);
      updated.dispose();
    }
    expect(m.forward(img, img).loss.item()).toBeLessThan(start);
  });
});

describe('SigLipLoss', () => {
  it('holds logitScale (ln 10) and logitBias (−10) and matches the function', () => {
    const m = new SigLipLoss();
    expect(m.namedParameters().map(([n]) => n)).toEqual(['logitScale', 'logitBias']);
    expect(m.logitScale.item()).toBeCloseTo(Math.log(10), 5);
    expect(m.logitBias.item()).toBe(-10);
    const expected = sigLipLoss(img, txt, { logitScale: Math.log(10), logitBias: -10 }).loss.item();
    const { loss } = m.forward(img, txt);
    expect(loss.item()).toBeCloseTo(expected, 5);
    loss.backward();
    expect(m.logitBias.grad!.item()).not.toBe(0);
  });
});

describe('UncertaintyWeightedLoss and MultiTaskLoss', () => {
  it('learns log-variances, one per task, starting at 0 (weight 1)', () => {
    const m = new UncertaintyWeightedLoss(['itc', 'itm']);
    expect(m.namedParameters().map(([n, t]) => [n, t.shape])).toEqual([['logVars', [2]]]);
    const out = m.forward({ itc: tensor(2), itm: tensor(3) });
    expect(out.loss.item()).toBe(5); // exp(0)·2 + 0 + exp(0)·3 + 0
    out.loss.backward();
    expect([...m.logVars.grad!.dataSync()]).toEqual([-1, -2]); // 1 − L_i
    expect(() => new UncertaintyWeightedLoss(['a', 'a'])).toThrow(/distinct/);
    expect(new UncertaintyWeightedLoss(['a'], { initLogVar: 1 }).logVars.item()).toBe(1);
  });
  it('MultiTaskLoss is parameter-free with fixed weights', () => {
    const m = new MultiTaskLoss({ itc: 1, mlm: 0.5 });
    expect(m.parameters()).toHaveLength(0);
    expect(m.forward({ itc: tensor(1), mlm: tensor(4) }).loss.item()).toBe(3);
  });
});

describe('stateless loss modules', () => {
  it('forward to their functions', () => {
    const logits = randn([3, 5], { seed: 3 });
    const labels = tensor([0, 4, -100], { dtype: 'int32' });
    const same = (a: Tensor, b: Tensor) => expect(a.item()).toBeCloseTo(b.item(), 6);
    same(new MlmLoss().forward(logits, labels).loss, mlmLoss(logits, labels).loss);
    const l2 = randn([3, 2], { seed: 4 });
    const y = tensor([1, 0, 0], { dtype: 'int32' });
    same(new ItmLoss().forward(l2, y).loss, itmLoss(l2, y).loss);
    const targets = tensor([
      [0, 1, 0, 0, 1 / 3],
      [0, 0, 0, 0, 0],
      [1, 1, 1, 1, 1],
    ]);
    same(new VqaLoss().forward(logits, targets).loss, vqaLoss(logits, targets).loss);
    const ans = tensor([0, 1, 2], { dtype: 'int32' });
    same(
      new AnswerCrossEntropyLoss({ labelSmoothing: 0.1 }).forward(logits, ans).loss,
      answerCrossEntropyLoss(logits, ans, { labelSmoothing: 0.1 }).loss,
    );
  });
});
