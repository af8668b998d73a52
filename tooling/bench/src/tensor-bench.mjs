/**
 * `pnpm bench`: Polymodal's backends side by side with TensorFlow.js 4.22 (cpu and wasm backends)
 * and, when Python can import torch, PyTorch — same shapes, one run. Prints a table and writes
 * results/tensor-bench.{json,md}. Reported per bench: median ms, GFLOP/s where the work is a known
 * FLOP count, and speed relative to TF.js-wasm (its time / ours: above 1 means faster).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// The gpu.js backends (gpujs-webasm, gpujs-cpu) register themselves on import.
import '@polymodal/backend-gpujs';
import * as P from '@polymodal/tensor';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { measure } from './measure.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const quick = process.argv.includes('--quick');
const results = [];

function record(bench, impl, flops, m) {
  const row = {
    bench,
    impl,
    medianMs: m.medianMs,
    reps: m.reps,
    gflops: flops ? flops / m.medianMs / 1e6 : null,
  };
  results.push(row);
  console.log(
    `${bench.padEnd(32)} ${impl.padEnd(14)} ${m.medianMs.toFixed(2).padStart(10)} ms${row.gflops ? `  ${row.gflops.toFixed(2).padStart(7)} GFLOP/s` : ''}`,
  );
}

const SIZES = quick ? [128, 256] : [128, 256, 512, 1024];
const MLP_FLOPS = 6 * 256 * (512 * 1024 + 1024 * 512);

// ---- Polymodal ------------------------------------------------------------------------------------
const ours = [
  { name: 'cpu', maxMatmul: 1024, nn: true },
  { name: 'gpujs-webasm', maxMatmul: 1024, nn: true },
  // gpu.js's plain-JS mode is its correctness reference; too slow to time at the larger sizes.
  { name: 'gpujs-cpu', maxMatmul: 256, nn: false },
  // WebAssembly SIMD kernels: on one thread, and on every core (at most 8) with a worker pool.
  { name: 'wasm-1t', label: 'wasm-1t', maxMatmul: 1024, nn: true },
  { name: 'wasm', label: `wasm-${Math.min(availableParallelism(), 8)}t`, maxMatmul: 1024, nn: true },
];
P.setBackend('cpu');
for (const b of ours) {
  P.setBackend(b.name);
  const impl = b.label ?? b.name;
  // CPU backends compute synchronously into host memory, as TF.js-wasm and PyTorch do: time the op.
  // gpu.js results live on its device (or in its runtime) until read back: include the read-back.
  const done = b.name.startsWith('gpujs') ? (t) => void t.dataSync() : () => {};
  for (const n of SIZES.filter((s) => s <= b.maxMatmul)) {
    const a = P.randn([n, n], { seed: 1 });
    const c = P.randn([n, n], { seed: 2 });
    record(
      `matmul ${n}x${n}`,
      impl,
      2 * n ** 3,
      measure(() => P.scope(() => done(P.matmul(a, c)))),
    );
    a.dispose();
    c.dispose();
  }
  if (!b.nn || quick) continue;
  const x = P.randn([4096, 1024], { seed: 3 });
  const w = P.randn([1024], { seed: 4 });
  const bias = P.randn([1024], { seed: 5 });
  record(
    'softmax 4096x1024',
    impl,
    null,
    measure(() => P.scope(() => done(P.softmax(x, -1)))),
  );
  record(
    'layerNorm 4096x1024',
    impl,
    null,
    measure(() => P.scope(() => done(P.layerNorm(x, [1024], w, bias)))),
  );
  const xm = P.randn([256, 512], { seed: 6 });
  const w1 = P.randn([512, 1024], { seed: 7, std: 0.05, requiresGrad: true });
  const w2 = P.randn([1024, 512], { seed: 8, std: 0.05, requiresGrad: true });
  record(
    'mlp fwd+bwd 256x512-1024-512',
    impl,
    MLP_FLOPS,
    measure(() =>
      P.scope(() => {
        P.relu(xm.matmul(w1)).matmul(w2).square().mean().backward();
        done(w1.grad);
        done(w2.grad);
        w1.zeroGrad();
        w2.zeroGrad();
      }),
    ),
  );
  for (const t of [x, w, bias, xm, w1, w2]) t.dispose();
}
P.setBackend('cpu');

// ---- TensorFlow.js ----------------------------------------------------------------------------------
// Results never leave tf.tidy: tidy walks a returned typed array element by element (seconds at 4 M).
// x·w with an explicit-transpose backward: TF.js's own matMul gradient takes its slow transposed path,
// so this is the fairer "best TF.js" for the MLP row (see the setup notes).
const tfDense = tf.customGrad((x, w, save) => {
  save([x, w]);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy, [xs, ws]) => [tf.matMul(dy, tf.transpose(ws)), tf.matMul(tf.transpose(xs), dy)],
  };
});
setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`);
for (const backend of ['wasm', 'cpu']) {
  await tf.setBackend(backend);
  await tf.ready();
  const impl = `tfjs-${backend}`;
  for (const n of SIZES) {
    if (backend === 'cpu' && n > 512) continue; // tfjs-cpu at 1024² takes tens of seconds per call
    const a = tf.randomNormal([n, n]);
    const c = tf.randomNormal([n, n]);
    record(
      `matmul ${n}x${n}`,
      impl,
      2 * n ** 3,
      measure(() => tf.tidy(() => void tf.matMul(a, c))),
    );
    tf.dispose([a, c]);
  }
  if (quick) continue;
  const x = tf.randomNormal([4096, 1024]);
  const w = tf.randomNormal([1024]);
  const bias = tf.randomNormal([1024]);
  record(
    'softmax 4096x1024',
    impl,
    null,
    measure(() => tf.tidy(() => void tf.softmax(x, -1))),
  );
  const layerNorm = () =>
    tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      x.sub(mean)
        .mul(tf.rsqrt(variance.add(1e-5)))
        .mul(w)
        .add(bias);
    });
  record('layerNorm 4096x1024', impl, null, measure(layerNorm));
  const xm = tf.randomNormal([256, 512]);
  const w1 = tf.randomNormal([512, 1024]).mul(0.05);
  const w2 = tf.randomNormal([1024, 512]).mul(0.05);
  const g = tf.grads((a, b) =>
    tfDense(tf.relu(tfDense(xm, a)), b)
      .square()
      .mean(),
  );
  record(
    'mlp fwd+bwd 256x512-1024-512',
    impl,
    MLP_FLOPS,
    measure(() => tf.tidy(() => void g([w1, w2])), {
      minReps: 2,
      budgetMs: 2000,
    }),
  );
  tf.dispose([x, w, bias, xm, w1, w2]);
}

// ---- PyTorch (when installed) -------------------------------------------------------------------------
let torchConfig =
  'not run: python3 cannot import torch (Debian: apt-get install python3-torch libopenblas0-pthread)';
// A pyenv python3 on PATH may lack torch while Debian's /usr/bin/python3 has it.
const python = ['python3', '/usr/bin/python3'].find(
  (p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
);
if (!quick && python) {
  const out = execFileSync(python, [join(here, 'torch_bench.py')], {
    encoding: 'utf8',
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', TORCH_THREADS: '2' },
  });
  for (const line of out.trim().split('\n')) {
    const row = JSON.parse(line);
    if (row.config)
      torchConfig = `torch ${row.config.torch}, ${row.config.threads} threads, BLAS ${row.config.blas}, OMP_WAIT_POLICY=PASSIVE`;
    else record(row.bench, 'pytorch', row.flops, row);
  }
}

// ---- report -------------------------------------------------------------------------------------------
const benches = [...new Set(results.map((r) => r.bench))];
const lines = [
  '# Tensor benchmark',
  '',
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
  `PyTorch: ${torchConfig}.`,
  '',
  'Median wall time per call. CPU implementations (ours, TF.js, PyTorch) compute synchronously into host memory',
  'and are timed without a copy out; gpu.js rows include reading the result back. "vs TF.js-wasm" is TF.js-wasm\'s time divided by',
  "this row's time (above 1: faster than TF.js-wasm). Absolute times move with machine load; ratios within one",
  'run are what to compare. "vs PyTorch" is the same against PyTorch (below 1: slower than PyTorch).',
  '',
  'TF.js runs one thread with SIMD (its threads are off in Node). Its MLP row uses an explicit-transpose dense',
  'backward (its own matMul gradient takes a slow transposed path). An earlier version of this bench returned',
  'typed arrays from tf.tidy, which TF.js walks element by element: that, not TF.js, made its rows look 20-500× slower.',
  '',
  '| bench | implementation | median ms | GFLOP/s | vs TF.js-wasm | vs PyTorch |',
  '|---|---|---:|---:|---:|---:|',
];
for (const bench of benches) {
  const base = results.find((r) => r.bench === bench && r.impl === 'tfjs-wasm');
  const torch = results.find((r) => r.bench === bench && r.impl === 'pytorch');
  for (const r of results.filter((x) => x.bench === bench)) {
    const ratio = base ? (base.medianMs / r.medianMs).toFixed(2) : '–';
    const vsTorch = torch ? (torch.medianMs / r.medianMs).toFixed(3) : '–';
    lines.push(
      `| ${bench} | ${r.impl} | ${r.medianMs.toFixed(2)} | ${r.gflops ? r.gflops.toFixed(2) : '–'} | ${ratio} | ${vsTorch} |`,
    );
  }
}
const outDir = join(here, '..', 'results');
mkdirSync(outDir, { recursive: true });
const suffix = quick ? '-quick' : '';
writeFileSync(
  join(outDir, `tensor-bench${suffix}.json`),
  `${JSON.stringify({ date: new Date().toISOString(), torch: torchConfig, results }, null, 2)}\n`,
);
writeFileSync(join(outDir, `tensor-bench${suffix}.md`), `${lines.join('\n')}\n`);
console.log(`\n${lines.join('\n')}`);
