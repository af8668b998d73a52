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

// The fused row kernels on 4096×1024: copies in and out against the computation (same driver).
const backend = P.ENGINE.findBackend('wasm');
const rowsX = P.randn([4096, 1024], { seed: 3 }).dataSync();
const weight = new Float32Array(1024).fill(1);
const bias = new Float32Array(1024);
const median = (fn, reps = 15) => {
  fn();
  const ts = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    fn();
    ts.push(performance.now() - t);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(reps / 2)];
};
const out = new Float32Array(rowsX.length);
const copies = median(() => {
  backend.runtime.reserve(256 + 8 * rowsX.length + 8192);
  const heap = backend.runtime.f32;
  heap.set(rowsX, 64);
  out.set(heap.subarray(64, 64 + rowsX.length));
});
const rowsSplit = ['softmax', 'layernorm'].map((op) => {
  const ln = op === 'layernorm' ? { weight, bias, eps: 1e-5 } : undefined;
  const total = median(() => backend.rows(op, rowsX, 1024, ln));
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
  'out. Median ms of the `wasm` driver (every core) and of the two copies alone:',
  '',
  '| kernel | driver total | copy in + copy out | computation (difference) |',
  '|---|---:|---:|---:|',
  ...rowsSplit.map(
    (r) => `| ${r.op} | ${r.total.toFixed(2)} | ${r.copies.toFixed(2)} | ${r.compute.toFixed(2)} |`,
  ),
];
writeFileSync(join(here, '..', 'results', 'encoder-step-profile.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
process.exit(0);
