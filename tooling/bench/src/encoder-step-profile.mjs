/**
 * Where the encoder training step's time goes on the `wasm` backend: per kernel and input shapes,
 * through `profile()` of @polymodal/tensor (the same step as encoder-step-bench.mjs), plus the split
 * of the fused softmax / layerNorm kernels into copies and computation. Writes
 * results/encoder-step-profile.md. Run after `pnpm build`: `node src/encoder-step-profile.mjs`.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TransformerEncoderLayer } from '@polymodal/attention';
import { AdamW } from '@polymodal/finetune';
import * as P from '@polymodal/tensor';

const here = dirname(fileURLToPath(import.meta.url));
const [B, L, D, H, F] = [32, 64, 256, 4, 1024];
const STEPS = 5;

P.setBackend('wasm');
const layer = new TransformerEncoderLayer(D, H, {
  dimFeedforward: F,
  dropout: 0.1,
  batchFirst: true,
  seed: 0,
});
const opt = new AdamW(layer.parameters(), { lr: 1e-4 });
const x = P.randn([B, L, D], { seed: 1 });
const step = () =>
  P.scope(() => {
    layer.forward(x).square().mean().backward();
    opt.step();
    opt.zeroGrad();
    layer.parameters()[0].dataSync();
  });
for (let i = 0; i < 3; i++) step(); // warm-up: JIT, worker start, buffer pool
const p = P.profile(() => {
  for (let i = 0; i < STEPS; i++) step();
});
const perStep = (ms) => (ms / STEPS).toFixed(1);
const gemmMs = p.kernels.filter((k) => k.kernel === 'BatchMatMul').reduce((s, k) => s + k.totalMs, 0);

// The fused row kernels on 4096×1024 through the ops (outputs recycled as in training), against
// the two copies alone (into wasm memory and back out into a reused array).
const backend = P.ENGINE.findBackend('wasm');
const rowsX = P.randn([4096, 1024], { seed: 3 });
const weight = P.ones([1024]);
const bias = P.zeros([1024]);
const median = (fn, reps = 15) => {
  for (let i = 0; i < 3; i++) fn();
  const ts = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    fn();
    ts.push(performance.now() - t);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(reps / 2)];
};
const values = rowsX.dataSync();
const out = new Float32Array(values.length);
const copies = median(() => {
  backend.runtime.reserve(256 + 8 * values.length + 8192);
  const heap = backend.runtime.f32;
  heap.set(values, 64);
  out.set(heap.subarray(64, 64 + values.length));
});
const rowsSplit = [
  ['softmax', () => P.scope(() => void P.softmax(rowsX, -1))],
  ['layerNorm', () => P.scope(() => void P.layerNorm(rowsX, [1024], weight, bias))],
].map(([op, fn]) => {
  const total = median(fn);
  return { op, total, copies, compute: Math.max(0, total - copies) };
});

const lines = [
  '# Encoder step profile (wasm backend)',
  '',
  `\`profile()\` over ${STEPS} training steps of the encoder-step benchmark's layer (batch ${B}, seq ${L}, d ${D},`,
  `${H} heads, FFN ${F}, AdamW) after 3 warm-up steps. ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
  '',
  `Per step: ${perStep(p.wallMs)} ms wall, ${perStep(p.kernelMs)} ms in kernels (the rest: op dispatch, autograd`,
  `bookkeeping, scopes), of which ${perStep(gemmMs)} ms in BatchMatMul (${((100 * gemmMs) / p.kernelMs).toFixed(0)} %).`,
  '',
  '| kernel | input shapes | calls / step | ms / step | share of kernel time |',
  '|---|---|---:|---:|---:|',
  ...p.kernels
    .slice(0, 25)
    .map(
      (k) =>
        `| ${k.kernel} | ${k.shapes} | ${k.calls / STEPS} | ${perStep(k.totalMs)} | ${((100 * k.totalMs) / p.kernelMs).toFixed(1)} % |`,
    ),
  '',
  '## Fused row kernels on 4096×1024: copies against computation',
  '',
  'Storage lives in JS typed arrays, so a wasm kernel copies its input into wasm memory and its result',
  'out. Median ms of the op on the `wasm` backend (every core) and of the two copies alone:',
  '',
  '| kernel | op total | copy in + copy out | computation (difference) |',
  '|---|---:|---:|---:|',
  ...rowsSplit.map(
    (r) => `| ${r.op} | ${r.total.toFixed(2)} | ${r.copies.toFixed(2)} | ${r.compute.toFixed(2)} |`,
  ),
];
writeFileSync(join(here, '..', 'results', 'encoder-step-profile.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
process.exit(0);
