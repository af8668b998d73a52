/**
 * The VQA app's training step side by side with its PyTorch twin (issue 19's "chosen VQA model ≤ 2×
 * its twin"): the default model (apps/vqa DEFAULT_CONFIG: BatchNorm conv stem 3→24→48→64 with
 * coordinates, 1-layer Transformer text encoder, d = DEFAULT_CONFIG.model.dModel (32), FiLM fusion with 2 grid blocks, MLP head
 * reading the fused vector and the question's word-order vector) on a
 * batch of 26 images × 5 questions; one step = forward, backward, AdamW, zero grad.
 *   ours:    apps/vqa/scripts/profile-step.ts --json on wasm-1t and wasm (2 threads)
 *   PyTorch: src/vqa_step_torch.py (the same layers as apps/vqa/scripts/torch_twin.py), 1 and 2 threads
 * Each in its own process, in alternating rounds (the machine drifts). Reported per implementation:
 * the median over rounds of each round's median wall time per step and of its median CPU time per
 * step (user + system of the process, every thread): on a shared machine CPU time moves less with
 * the load than wall time does, so the 1-thread ratio is given on both.
 * Writes results/vqa-step.{json,md}.
 * Run: `pnpm --filter @polymodal/bench exec node src/vqa-step-bench.mjs [rounds] [--from-json]`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const app = join(root, 'apps', 'vqa');
const ROUNDS = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 3);
const tsx = join(app, 'node_modules', '.bin', 'tsx');
if (!existsSync(tsx)) throw new Error(`vqa-step-bench: ${tsx} not found (run pnpm install)`);

const python = ['python3', '/usr/bin/python3'].find(
  (p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
);
const ours = (backend) => ({
  impl: `polymodal ${backend === 'wasm' ? 'wasm (2 threads)' : backend}`,
  file: tsx,
  args: ['--conditions=@polymodal/source', 'scripts/profile-step.ts', 'film', backend, '--json'],
  cwd: app,
});
const torch = (threads) => ({
  impl: `pytorch (${threads} thread${threads > 1 ? 's' : ''})`,
  file: python,
  args: [join(here, 'vqa_step_torch.py'), '--threads', String(threads)],
  cwd: root,
});
const impls = [ours('wasm-1t'), ours('wasm'), ...(python ? [torch(1), torch(2)] : [])];
const resultsDir = join(here, '..', 'results');
// `--from-json`: re-render the table from the last run's recorded rounds (no measuring).
const fromJson = process.argv.includes('--from-json');
const recorded = fromJson ? JSON.parse(readFileSync(join(resultsDir, 'vqa-step.json'), 'utf8')) : null;
const runs = recorded
  ? Object.fromEntries(recorded.rows.map((r) => [r.impl, { wall: r.roundsMs, cpu: r.roundsCpuMs }]))
  : Object.fromEntries(impls.map((i) => [i.impl, { wall: [], cpu: [] }]));
for (let round = 0; round < (fromJson ? 0 : ROUNDS); round++) {
  for (const { impl, file, args, cwd } of impls) {
    const out = execFileSync(file, args, {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
      timeout: 300_000,
    });
    const m = JSON.parse(out.trim().split('\n').at(-1));
    runs[impl].wall.push(m.medianMs);
    runs[impl].cpu.push(m.cpuMedianMs);
    console.log(
      `round ${round + 1} ${impl.padEnd(28)} wall ${m.medianMs.toFixed(1)} ms, CPU ${m.cpuMedianMs.toFixed(1)} ms`,
    );
  }
}
/** The median (the mean of the middle two for an even count). */
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};
const rows = impls
  .filter(({ impl }) => runs[impl])
  .map(({ impl }) => ({
    impl,
    medianMs: median(runs[impl].wall),
    cpuMedianMs: median(runs[impl].cpu),
    roundsMs: runs[impl].wall,
    roundsCpuMs: runs[impl].cpu,
  }));
const torch1 = rows.find((r) => r.impl === 'pytorch (1 thread)');
const torch2 = rows.find((r) => r.impl === 'pytorch (2 threads)');
const ratio = (a, b) => (b ? (a / b).toFixed(2) : '–');
const load = recorded?.loadAverage ?? readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(', ');
const date = recorded?.date ?? new Date().toISOString();
const rounds = rows[0]?.roundsMs.length ?? ROUNDS;
const explanation = join(here, '..', 'results', 'vqa-step-notes.md');
const lines = [
  '# VQA training step (the app default model) vs its PyTorch twin',
  '',
  'apps/vqa DEFAULT_CONFIG model (BatchNorm conv stem 3→24→48→64 + coordinates, 1-layer Transformer',
  'text encoder, 32 wide (the app default), FiLM fusion with 2 blocks of 3×3 conv over the 8×8 cells, flatten readout, MLP',
  'head over the fused vector and the question\'s word-order vector), batch 26 images × 5 questions = 130; one step = forward, backward, AdamW, zero grad, random',
  `data. Each implementation in its own process, ${rounds} alternating rounds; the median of each round's`,
  'median step (wall) and of its median CPU time per step (user + system, every thread).',
  `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, ${date.slice(0, 10)}, load average at the end ${load}.`,
  ...(python ? [] : ['PyTorch not run: python3 cannot import torch.']),
  '',
  '| implementation | wall ms | CPU ms | wall × PyTorch 1t | CPU × PyTorch 1t | wall × PyTorch 2t | rounds wall (ms) | rounds CPU (ms) |',
  '|---|---:|---:|---:|---:|---:|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.impl} | ${r.medianMs.toFixed(1)} | ${r.cpuMedianMs.toFixed(1)} | ${ratio(r.medianMs, torch1?.medianMs)} | ${ratio(r.cpuMedianMs, torch1?.cpuMedianMs)} | ${ratio(r.medianMs, torch2?.medianMs)} | ${r.roundsMs.map((v) => v.toFixed(0)).join(', ')} | ${r.roundsCpuMs.map((v) => v.toFixed(0)).join(', ')} |`,
  ),
  '',
  ...(existsSync(explanation) ? [readFileSync(explanation, 'utf8').trimEnd()] : []),
];
mkdirSync(resultsDir, { recursive: true });
if (!fromJson)
  writeFileSync(
    join(resultsDir, 'vqa-step.json'),
    `${JSON.stringify({ date, loadAverage: load, rows }, null, 2)}\n`,
  );
writeFileSync(join(resultsDir, 'vqa-step.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
