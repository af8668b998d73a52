/**
 * Where the encoder training step's time goes on the `wasm` backend: per kernel and input shapes,
 * through `profile()` of @polymodal/tensor (the same step as encoder-step-bench.mjs), plus the split
 * of the fused softmax / layerNorm kernels against one plain copy of their data. Writes
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

// The fused row kernels on 4096×1024 through the ops (outputs recycled as in training), against a
// plain copy of the same data.
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
// One plain copy of the same 16 MB (one thread): the floor for a pass that reads its input once and
// writes its output once.
const copy = median(() => out.set(values));
const rowsSplit = [
  ['softmax', () => P.scope(() => void P.softmax(rowsX, -1))],
  ['layerNorm', () => P.scope(() => void P.layerNorm(rowsX, [1024], weight, bias))],
].map(([op, fn]) => ({ op, total: median(fn) }));

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
  '## Fused row kernels on 4096×1024, in place',
  '',
  'Tensors live in the shared WebAssembly memory, so the kernels read and write them in place (no',
  'copies in or out). Median ms of the op on the `wasm` backend (every core), against one plain copy',
  'of the same 16 MB on one thread (`Float32Array.set`): the floor for a pass that reads its input',
  'once and writes its output once.',
  '',
  '| kernel | op ms | one 16 MB copy ms | op / copy |',
  '|---|---:|---:|---:|',
  ...rowsSplit.map(
    (r) => `| ${r.op} | ${r.total.toFixed(2)} | ${copy.toFixed(2)} | ${(r.total / copy).toFixed(2)} |`,
  ),
];
writeFileSync(join(here, '..', 'results', 'encoder-step-profile.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
process.exit(0);
