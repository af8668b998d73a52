import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Tensor, tensor } from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { Conv2d } from './conv2d.js';
import { Embedding } from './embedding.js';
import { LayerNorm } from './layer-norm.js';
import { Linear } from './linear.js';
import { MLP } from './mlp.js';
import type { Module } from './module.js';
import { loadModule } from './node.js';
import { PatchEmbedding } from './patch-embedding.js';
import { serializeSafetensors } from './safetensors.js';

// Golden values: fixtures/*.json and *.safetensors come from scripts/make-fixtures.py (PyTorch 1.13,
// fixed seeds): each torch module's state_dict and its output for a fixed input.
const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

interface Golden {
  input: number[];
  inputShape: number[];
  output: number[];
  outputShape: number[];
}

async function check(name: string, module: Module, dtype: 'float32' | 'int32' = 'float32'): Promise<void> {
  const golden = JSON.parse(await readFile(join(FIXTURES, `${name}.json`), 'utf8')) as Golden;
  const r = await loadModule(join(FIXTURES, `${name}.safetensors`), module);
  expect(r).toEqual({ missingKeys: [], unexpectedKeys: [] });
  module.eval();
  const y = module.forward(tensor(golden.input, { shape: golden.inputShape, dtype })) as Tensor;
  expect(y.shape).toEqual(golden.outputShape);
  const values = y.dataSync();
  let worst = 0;
  golden.output.forEach((v, i) => {
    worst = Math.max(worst, Math.abs(values[i]! - v));
  });
  expect(worst).toBeLessThan(1e-4);
}

describe('PyTorch interop (fixtures from scripts/make-fixtures.py)', () => {
  it('nn.Linear', () => check('linear', new Linear(5, 3)));
  it('nn.LayerNorm', () => check('layer-norm', new LayerNorm(6)));
  it('nn.Conv2d (stride 2, padding 1)', () =>
    check('conv2d', new Conv2d(2, 3, 3, { stride: 2, padding: 1 })));
  it('nn.Embedding (padding_idx 1)', () =>
    check('embedding', new Embedding(10, 4, { paddingIdx: 1 }), 'int32'));
  it('MLP in the torchvision layout (GELU)', () => check('mlp', new MLP(4, [8, 3], { activation: 'gelu' })));
  it('ViT patch embedding', () =>
    check('patch-embedding', new PatchEmbedding([8, 12], 4, 8, { inChannels: 3 })));

  it('our writer produces byte-identical output to the Python writer (which torch reads back)', async () => {
    const expected = new Uint8Array(await readFile(join(FIXTURES, 'writer-check.safetensors')));
    const weight = Array.from({ length: 12 }, (_, i) => i / 8 - 0.5);
    const ours = serializeSafetensors(
      {
        weight: tensor(weight, { shape: [3, 4] }),
        ids: tensor([-3, 0, 7, 2147483647], { dtype: 'int32' }),
        mask: tensor([[true, false, true]]),
        '0': tensor(1.25),
        'layers.0.bias': tensor([0.1, -0.2, 0.3]),
      },
      { format: 'pt', note: 'ünïcode' },
    );
    expect(Buffer.from(ours).equals(Buffer.from(expected))).toBe(true);
  });
});
