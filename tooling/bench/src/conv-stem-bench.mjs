/**
 * A small conv stem's training step — input [64, 3, 64, 64]; three blocks of Conv2d 3×3 stride 2
 * (no bias) → BatchNorm2d → ReLU, 3→24→48→64 channels; loss `out².mean()`, backward, AdamW — on our
 * wasm backend (one thread and every core) and on PyTorch (1 and 2 threads, when python3 can import
 * torch). Each implementation runs in its own process, in alternating rounds (the machines drift);
 * reported: median step per implementation over the rounds. Writes results/conv-stem.{json,md}.
 * Run: `pnpm --filter @polymodal/bench exec node src/conv-stem-bench.mjs` after `pnpm build`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdamW } from '@polymodal/finetune';
import { BatchNorm2d, Conv2d, ReLU, Sequential } from '@polymodal/nn';
import * as P from '@polymodal/tensor';
import { measure } from './measure.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const [N, C, S] = [64, 3, 64];
const WIDTHS = [C, 24, 48, 64];
const ROUNDS = 3;
const ADAMW = { lr: 1e-3, weightDecay: 0.01 };

/** Child: our stem on one backend; prints the step times' median. */
function oursChild(backend) {
  P.setBackend(backend);
  const blocks = [];
  for (let i = 0; i < 3; i++) {
    blocks.push(
      new Conv2d(WIDTHS[i], WIDTHS[i + 1], 3, { stride: 2, padding: 1, bias: false, seed: i }),
      new BatchNorm2d(WIDTHS[i + 1]),
      new ReLU(),
    );
  }
  const stem = new Sequential(...blocks);
  const opt = new AdamW(stem.parameters(), ADAMW);
  const x = P.randn([N, C, S, S], { seed: 1 });
  const step = () =>
    P.scope(() => {
      stem.forward(x).square().mean().backward();
      opt.step();
      opt.zeroGrad();
    });
  return measure(step, { minReps: 5, maxReps: 12, budgetMs: 6000 });
}

const TORCH = (threads) => `
import json, time, torch
torch.set_num_threads(${threads}); torch.manual_seed(0)
layers = []
for i, o in zip(${JSON.stringify(WIDTHS.slice(0, 3))}, ${JSON.stringify(WIDTHS.slice(1))}):
    layers += [torch.nn.Conv2d(i, o, 3, stride=2, padding=1, bias=False), torch.nn.BatchNorm2d(o), torch.nn.ReLU()]
stem = torch.nn.Sequential(*layers)
opt = torch.optim.AdamW(stem.parameters(), lr=${ADAMW.lr}, weight_decay=${ADAMW.weightDecay})
x = torch.randn(${N}, ${C}, ${S}, ${S})
def step():
    stem(x).square().mean().backward(); opt.step(); opt.zero_grad()
step(); ts = []
start = time.perf_counter()
while len(ts) < 12 and (len(ts) < 5 or time.perf_counter() - start < 6):
    t0 = time.perf_counter(); step(); ts.append((time.perf_counter() - t0) * 1000)
ts.sort()
print(json.dumps({"medianMs": ts[len(ts)//2], "reps": len(ts), "minMs": ts[0]}))
`;

if (process.argv[2] === '--child') {
  console.log(JSON.stringify(oursChild(process.argv[3])));
  process.exit(0);
}

const python = ['python3', '/usr/bin/python3'].find(
  (p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
);
const self = fileURLToPath(import.meta.url);
const impls = [
  { impl: 'polymodal wasm-1t', file: process.execPath, args: [self, '--child', 'wasm-1t'] },
  { impl: 'polymodal wasm (2 threads)', file: process.execPath, args: [self, '--child', 'wasm'] },
  ...(python
    ? [1, 2].map((t) => ({
        impl: `pytorch (${t} thread${t > 1 ? 's' : ''})`,
        file: python,
        args: ['-c', TORCH(t)],
      }))
    : []),
];
const runs = Object.fromEntries(impls.map((i) => [i.impl, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const { impl, file, args } of impls) {
    const out = execFileSync(file, args, {
      encoding: 'utf8',
      env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
      timeout: 180_000,
    });
    const m = JSON.parse(out.trim().split('\n').at(-1));
    runs[impl].push(m.medianMs);
    console.log(`round ${round + 1} ${impl.padEnd(28)} ${m.medianMs.toFixed(1)} ms`);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = impls.map(({ impl }) => ({ impl, medianMs: median(runs[impl]), roundsMs: runs[impl] }));
const torch1 = rows.find((r) => r.impl === 'pytorch (1 thread)');
const lines = [
  '# Conv stem training step',
  '',
  `Input [${N}, ${C}, ${S}, ${S}]; three blocks Conv2d 3×3 stride 2 padding 1 (no bias) → BatchNorm2d → ReLU,`,
  `channels ${WIDTHS.join('→')}; loss \`out².mean()\`, backward, AdamW (lr ${ADAMW.lr}, weight decay ${ADAMW.weightDecay}).`,
  `Each implementation in its own process, ${ROUNDS} alternating rounds; the median of each round's median step,`,
  `and every round's median. ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
  ...(python ? [] : ['PyTorch not run: python3 cannot import torch.']),
  '',
  '| implementation | median ms | × PyTorch 1-thread time | rounds (ms) |',
  '|---|---:|---:|---|',
  ...rows.map(
    (r) =>
      `| ${r.impl} | ${r.medianMs.toFixed(1)} | ${torch1 ? (r.medianMs / torch1.medianMs).toFixed(2) : '–'} | ${r.roundsMs.map((v) => v.toFixed(0)).join(', ')} |`,
  ),
];
mkdirSync(join(here, '..', 'results'), { recursive: true });
writeFileSync(
  join(here, '..', 'results', 'conv-stem.json'),
  `${JSON.stringify({ date: new Date().toISOString(), rows }, null, 2)}\n`,
);
writeFileSync(join(here, '..', 'results', 'conv-stem.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
