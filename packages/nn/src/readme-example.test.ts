import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mseLoss, randn, scope } from '@polymodal/tensor';
import { expect, it } from 'vitest';
import { BatchNorm2d, Conv2d, ConvStem, featureMapToSequence, Linear, ReLU, Sequential } from './index.js';
import { loadModule, saveModule } from './node.js';

it('the README example trains, saves and loads', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'polymodal-readme-'));
  try {
    const model = new Sequential(new Linear(4, 16, { seed: 0 }), new ReLU(), new Linear(16, 1, { seed: 1 }));
    const x = randn([32, 4], { seed: 2 });
    const y = x.sum(-1, true);
    const loss = () => scope(() => mseLoss(model.forward(x), y).item());
    const initial = loss();
    for (let step = 0; step < 100; step++) {
      scope(() => mseLoss(model.forward(x), y).backward());
      for (const p of model.parameters()) p.assign(p.sub(p.grad!.mul(0.05)));
      model.zeroGrad();
    }
    expect(loss()).toBeLessThan(0.1 * initial);
    await saveModule(join(dir, 'model.safetensors'), model);
    const copy = new Sequential(new Linear(4, 16), new ReLU(), new Linear(16, 1));
    await loadModule(join(dir, 'model.safetensors'), copy);
    expect(Array.from(copy.forward(x).dataSync())).toEqual(Array.from(model.forward(x).dataSync()));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('the README conv-stem snippet gives [B, 64, 50] cells for 32×32 images', () => {
  const stem = new Sequential(
    new Conv2d(3, 24, 3, { stride: 2, padding: 1, bias: false, seed: 0 }),
    new BatchNorm2d(24),
    new ReLU(),
    new Conv2d(24, 48, 3, { stride: 2, padding: 1, bias: false, seed: 1 }),
    new BatchNorm2d(48),
    new ReLU(),
  );
  const images = randn([2, 3, 32, 32], { seed: 3 });
  const cells = scope(() => featureMapToSequence(stem.forward(images), { coords: true }));
  expect(cells.shape).toEqual([2, 64, 50]);
  const convStem = new ConvStem(32, {
    layers: [
      { channels: 24, stride: 2 },
      { channels: 48, stride: 2 },
    ],
    outputDim: 64,
  });
  expect(convStem.grid).toEqual([8, 8]);
  expect(convStem.forward(images).shape).toEqual([2, 64, 64]);
});
