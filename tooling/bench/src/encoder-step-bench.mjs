/**
 * One Transformer encoder layer training step (batch 32, seq 64, d 256, 4 heads, FFN 1024,
 * forward + backward + AdamW) on our CPU backends and on PyTorch (when python3 can import torch),
 * with each run's peak resident memory. Writes results/encoder-step.{json,md}.
 * Run: `pnpm --filter @polymodal/bench exec node src/encoder-step-bench.mjs` after `pnpm build`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TransformerEncoderLayer } from '@polymodal/attention';
import { AdamW } from '@polymodal/finetune';
import * as P from '@polymodal/tensor';
import { measure } from './measure.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const [B, L, D, H, F] = [32, 64, 256, 4, 1024];

// Each backend runs in its own child process, so peak RSS belongs to that run alone.
if (process.argv[2] === '--child') {
  P.setBackend(process.argv[3]);
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
  const m = measure(step, { minReps: 3, maxReps: 10, budgetMs: 8000 });
  console.log(JSON.stringify({ ...m, peakRssMiB: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

const rows = [];
for (const backend of ['wasm-1t', 'wasm']) {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', backend], {
    encoding: 'utf8',
  });
  const r = JSON.parse(out.trim().split('\n').at(-1));
  rows.push({ impl: `polymodal ${backend}`, ...r });
  console.log(backend, r);
}
const TORCH = `
import json, resource, time, torch
torch.set_num_threads(2); torch.manual_seed(0)
layer = torch.nn.TransformerEncoderLayer(${D}, ${H}, dim_feedforward=${F}, dropout=0.1, batch_first=True)
opt = torch.optim.AdamW(layer.parameters(), lr=1e-4)
x = torch.randn(${B}, ${L}, ${D})
def step():
    layer(x).square().mean().backward(); opt.step(); opt.zero_grad()
step(); ts = []
start = time.perf_counter()
while len(ts) < 10 and (len(ts) < 3 or time.perf_counter() - start < 8):
    t0 = time.perf_counter(); step(); ts.append((time.perf_counter() - t0) * 1000)
ts.sort()
print(json.dumps({"medianMs": ts[len(ts)//2], "reps": len(ts), "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
`;
const python = ['python3', '/usr/bin/python3'].find(
  (p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
);
if (python) {
  const out = execFileSync(python, ['-c', TORCH], {
    encoding: 'utf8',
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
  });
  const r = JSON.parse(out.trim().split('\n').at(-1));
  rows.push({ impl: 'pytorch (2 threads)', ...r });
  console.log('pytorch', r);
}
const torchRow = rows.find((r) => r.impl.startsWith('pytorch'));
const lines = [
  '# Encoder layer training step',
  '',
  `One \`TransformerEncoderLayer\` step — batch ${B}, sequence ${L}, d ${D}, ${H} heads, FFN ${F}, dropout 0.1,`,
  'forward + backward + AdamW — median of repeated steps, each implementation in its own process (peak RSS',
  `is that process's). ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
  python ? '' : 'PyTorch not run: python3 cannot import torch.',
  '',
  '| implementation | median ms | × PyTorch time | peak RSS MiB |',
  '|---|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.impl} | ${r.medianMs.toFixed(1)} | ${torchRow ? (r.medianMs / torchRow.medianMs).toFixed(2) : '–'} | ${r.peakRssMiB.toFixed(0)} |`,
  ),
];
mkdirSync(join(here, '..', 'results'), { recursive: true });
writeFileSync(
  join(here, '..', 'results', 'encoder-step.json'),
  `${JSON.stringify({ date: new Date().toISOString(), rows }, null, 2)}\n`,
);
writeFileSync(join(here, '..', 'results', 'encoder-step.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
