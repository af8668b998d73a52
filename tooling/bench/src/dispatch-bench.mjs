/**
 * Per-op dispatch overhead (issue 19): a 1-element `add` in a loop, so that the arithmetic is
 * nothing and what is timed is everything around it (validation, kernel lookup, output buffer,
 * tensor object, scope bookkeeping; with `requiresGrad`, the autograd record too). Ours on cpu,
 * wasm-1t; TF.js (cpu and wasm, inside `tf.tidy`); PyTorch (when python3 imports torch). Each in
 * its own process, median µs per op over 9 batches of 20,000 ops, CPU time of the process; every
 * implementation once per round, 5 alternating rounds by default. Writes results/dispatch.{json,md}.
 * Run: `pnpm --filter @polymodal/bench exec node src/dispatch-bench.mjs [rounds]` after `pnpm build`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const OPS = 20_000;
const BATCHES = 9;
/** Alternating rounds: every implementation once per round (the machine's speed drifts by tens of % over minutes). */
const ROUNDS = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 5);

/** µs of process CPU time per call of `op`, median over batches of OPS calls run by `batch`. */
function timeBatches(batch) {
  for (let i = 0; i < 3; i++) batch(); // warm-up: JIT tiers, buffer pools, the GC's heap sizing
  const us = [];
  for (let i = 0; i < BATCHES; i++) {
    const t0 = process.cpuUsage();
    batch();
    const t = process.cpuUsage(t0);
    us.push((t.user + t.system) / OPS);
  }
  return us.sort((a, b) => a - b)[Math.floor(BATCHES / 2)];
}

async function child(impl) {
  if (impl.startsWith('polymodal')) {
    const P = await import('@polymodal/tensor');
    P.setBackend(impl.split(' ')[1]);
    const grad = impl.endsWith('grad');
    const a = P.tensor([1], { requiresGrad: grad });
    const b = P.tensor([2]);
    return timeBatches(() =>
      P.scope(() => {
        for (let i = 0; i < OPS; i++) a.add(b);
      }),
    );
  }
  const tf = await import('@tensorflow/tfjs');
  if (impl === 'tfjs-wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const { createRequire } = await import('node:module');
    const dist = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
    wasm.setWasmPaths(`${dist}/`);
  }
  await tf.setBackend(impl === 'tfjs-wasm' ? 'wasm' : 'cpu');
  await tf.ready();
  const a = tf.tensor([1]);
  const b = tf.tensor([2]);
  return timeBatches(() =>
    tf.tidy(() => {
      for (let i = 0; i < OPS; i++) tf.add(a, b);
    }),
  );
}

const TORCH = (grad) => `
import json, time, torch
torch.set_num_threads(1)
a, b = torch.tensor([1.0], requires_grad=${grad ? 'True' : 'False'}), torch.tensor([2.0])
def batch():
    for _ in range(${OPS}): a + b
batch(); us = []
for _ in range(${BATCHES}):
    t0 = time.process_time(); batch(); us.append((time.process_time() - t0) * 1e6 / ${OPS})
us.sort(); print(json.dumps({"us": us[len(us) // 2]}))
`;

if (process.argv[2] === '--child') {
  console.log(JSON.stringify({ us: await child(process.argv[3]) }));
  process.exit(0);
}

const python = ['python3', '/usr/bin/python3'].find(
  (p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
);
const self = fileURLToPath(import.meta.url);
const ours = ['polymodal cpu', 'polymodal wasm-1t', 'polymodal wasm-1t grad'];
const impls = [
  ...[...ours, 'tfjs-cpu', 'tfjs-wasm'].map((impl) => ({
    impl,
    file: process.execPath,
    args: [...process.execArgv, self, '--child', impl],
  })),
  ...(python
    ? [
        { impl: 'pytorch', file: python, args: ['-c', TORCH(false)] },
        { impl: 'pytorch grad', file: python, args: ['-c', TORCH(true)] },
      ]
    : []),
];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const perRound = Object.fromEntries(impls.map(({ impl }) => [impl, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const { impl, file, args } of impls) {
    const out = execFileSync(file, args, { encoding: 'utf8', timeout: 120_000 });
    perRound[impl].push(JSON.parse(out.trim().split('\n').at(-1)).us);
  }
  console.log(
    `round ${r + 1}/${ROUNDS}`,
    JSON.stringify(Object.fromEntries(impls.map(({ impl }) => [impl, perRound[impl][r]]))),
  );
}
const tfWasmRounds = perRound['tfjs-wasm'];
const rows = impls.map(({ impl }) => ({
  impl,
  us: median(perRound[impl]),
  // the ratio within each round, then the median over rounds
  vsTfjsWasm: median(perRound[impl].map((us, r) => us / tfWasmRounds[r])),
  rounds: perRound[impl],
}));
const lines = [
  '# Per-op dispatch overhead: a 1-element add in a loop',
  '',
  `${OPS.toLocaleString('en')} adds of two 1-element float32 tensors per batch, inside one scope / tf.tidy (PyTorch: a plain`,
  `loop); each implementation in its own process, ${ROUNDS} alternating rounds; per process the median over ${BATCHES} batches`,
  "(after 3 warm-up batches) of the process's CPU time per op (µs). The table gives the median over rounds, and the",
  'ratio to TF.js-wasm taken within each round, then the median. "grad": the first operand requires grad, so every',
  'op also records its autograd node.',
  `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
  '',
  '| implementation | µs per op | × TF.js-wasm | rounds (µs) |',
  '|---|---:|---:|---|',
  ...rows.map(
    (r) =>
      `| ${r.impl} | ${r.us.toFixed(2)} | ${r.vsTfjsWasm.toFixed(2)} | ${r.rounds.map((u) => u.toFixed(1)).join(', ')} |`,
  ),
];
mkdirSync(join(here, '..', 'results'), { recursive: true });
writeFileSync(
  join(here, '..', 'results', 'dispatch.json'),
  `${JSON.stringify({ date: new Date().toISOString(), rows }, null, 2)}\n`,
);
writeFileSync(join(here, '..', 'results', 'dispatch.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
