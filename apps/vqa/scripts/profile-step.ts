/**
 * Profiles one fine-tuning step of the app's default model (forward, backward, AdamW) on the
 * current backend: wall time, time in kernels, and the slowest kernels by input shape.
 *
 *   pnpm --dir apps/vqa exec tsx --conditions=@polymodal/source scripts/profile-step.ts [fusion] [backend] [--json] [--d-model=N] [--gathered]
 *
 * With `--json` it only times steps and prints one line `{medianMs, minMs, cpuMedianMs, reps}`
 * (wall and CPU time per step; what `tooling/bench/src/vqa-step-bench.mjs` reads).
 */
import { AdamW } from '@polymodal/finetune';
import { answerCrossEntropyLoss } from '@polymodal/losses';
import { getBackend, profile, randint, randn, scope, setBackend, tensor } from '@polymodal/tensor';
import { DEFAULT_CONFIG } from '../src/config.js';
import { VqaModel } from '../src/model/vqa-model.js';

const json = process.argv.includes('--json');
// --gathered: gather the cells per question before fusing (the path before forwardShared).
const gathered = process.argv.includes('--gathered');
const dModelArg = process.argv.find((a) => a.startsWith('--d-model='));
const dModel = dModelArg ? Number(dModelArg.slice('--d-model='.length)) : DEFAULT_CONFIG.model.dModel;
const [fusionArg, backendArg] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const fusion = fusionArg ?? DEFAULT_CONFIG.model.fusion.type;
if (backendArg) setBackend(backendArg);
const images = DEFAULT_CONFIG.finetune.imagesPerBatch;
const perImage = DEFAULT_CONFIG.finetune.questionsPerImage;
const b = images * perImage;
const model = new VqaModel({
  imageSize: 64,
  ...DEFAULT_CONFIG.model,
  dModel,
  fusion: fusion === DEFAULT_CONFIG.model.fusion.type ? DEFAULT_CONFIG.model.fusion : { type: fusion },
  vocabSize: 48,
  padId: 0,
  maxTextLength: 16,
  numAnswers: 22,
  seed: 0,
});
const optimizer = new AdamW(model.parameters(), { lr: 1e-3 });
const pixels = randn([images, 3, 64, 64]);
const imageIndex = tensor(
  Int32Array.from({ length: b }, (_, i) => Math.floor(i / perImage)),
  { shape: [b] },
);
const ids = randint(1, 48, [b, 12]);
const mask = tensor(new Uint8Array(b * 12).fill(1), { shape: [b, 12], dtype: 'bool' });
const labels = randint(0, 22, [b]);
const step = () =>
  scope(() => {
    const cells = model.encodeImage(pixels);
    const fused = gathered
      ? model.fuse(cells.indexSelect(0, imageIndex), ids, mask)
      : model.fuse(cells, ids, mask, imageIndex);
    answerCrossEntropyLoss(model.head.forward(fused), labels).loss.backward();
    optimizer.step();
    optimizer.zeroGrad();
  });
for (let i = 0; i < 3; i++) step();
if (json) {
  const wall: number[] = [];
  const cpu: number[] = [];
  const start = performance.now();
  while (wall.length < 15 && (wall.length < 5 || performance.now() - start < 8000)) {
    const [t0, c0] = [performance.now(), process.cpuUsage()];
    step();
    const c = process.cpuUsage(c0);
    wall.push(performance.now() - t0);
    cpu.push((c.user + c.system) / 1000);
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  console.log(
    JSON.stringify({
      medianMs: median(wall),
      minMs: Math.min(...wall),
      cpuMedianMs: median(cpu),
      reps: wall.length,
    }),
  );
  process.exit(0);
}
// CPU time of this process per step (user + system, every thread): unlike wall time it does not
// grow when other work shares the cores.
const cpuMs: number[] = [];
for (let i = 0; i < 8; i++) {
  const t0 = process.cpuUsage();
  step();
  const t = process.cpuUsage(t0);
  cpuMs.push((t.user + t.system) / 1000);
}
cpuMs.sort((x, y) => x - y);
const p = profile(step);
console.log(
  `${getBackend()} fusion ${fusion}, batch ${b} (${images} images): step ${p.wallMs.toFixed(0)} ms, kernels ${p.kernelMs.toFixed(0)} ms; CPU time per step: median ${cpuMs[4]!.toFixed(0)} ms, min ${cpuMs[0]!.toFixed(0)} ms`,
);
const byName = new Map<string, number>();
for (const k of p.kernels) byName.set(k.kernel, (byName.get(k.kernel) ?? 0) + k.totalMs);
console.table(
  [...byName]
    .sort((x, y) => y[1] - x[1])
    .slice(0, 16)
    .map(([kernel, ms]) => ({
      kernel,
      ms: +ms.toFixed(1),
      share: `${((100 * ms) / p.wallMs).toFixed(1)} %`,
    })),
);
console.table(
  p.kernels
    .slice(0, 24)
    .map((k) => ({ kernel: k.kernel, shapes: k.shapes, calls: k.calls, ms: +k.totalMs.toFixed(1) })),
);
