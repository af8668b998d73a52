/**
 * Trains the VQA model once per fusion strategy (and per recipe variant) on the same generated data
 * with the same budget, and writes a table: official accuracy overall and per question type,
 * parameters, ms per fine-tuning step. Variants compare pretrain-then-fine-tune against fine-tuning
 * only at equal total steps, and layer-wise LR decay against none.
 *
 *   pnpm --dir apps/vqa exec tsx --conditions=@polymodal/source scripts/compare.ts \
 *     [--steps 600] [--fusions film,relational,...] [--variants] [--out results/compare]
 *
 * Results: `<out>.json` (every run, with its curve) and `<out>.md` (the table the README quotes).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { setBackend } from '@polymodal/tensor';
import { DEFAULT_CONFIG, type VqaRunConfig } from '../src/config.js';
import { prepareData, runSources, runVqaPipeline, type VqaRunResult } from '../src/pipeline.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '600' },
    'pretrain-steps': { type: 'string', default: '200' },
    fusions: {
      type: 'string',
      default: 'film,relational,attention,early,intermediate,self-attention,hierarchical,late,concat',
    },
    variants: { type: 'boolean', default: false },
    backend: { type: 'string' },
    merge: { type: 'string', default: '' },
    out: { type: 'string', default: 'results/compare' },
  },
});
const steps = Number(values.steps);
const pretrainSteps = Number(values['pretrain-steps']);
if (!Number.isInteger(steps) || steps < 1)
  throw new Error(`--steps must be a positive integer, got ${values.steps}`);

/** One run as `<out>.json` keeps it (what `--merge` reads back). */
interface Row {
  name: string;
  fusion: string;
  pretrain: number;
  finetune: number;
  layerDecay: number;
  parameters: number;
  steps: number;
  seconds: VqaRunResult['seconds'];
  curve: VqaRunResult['curve'];
  report: Omit<VqaRunResult['report'], 'predictions' | 'perQuestion'>;
}

const base = (
  name: string,
  fusion: string,
  pretrain: number,
  finetune: number,
  layerDecay: number,
): VqaRunConfig => ({
  ...DEFAULT_CONFIG,
  model: {
    ...DEFAULT_CONFIG.model,
    fusion: fusion === 'film' ? DEFAULT_CONFIG.model.fusion : { type: fusion },
  },
  pretrain: { ...DEFAULT_CONFIG.pretrain, steps: pretrain },
  finetune: {
    ...DEFAULT_CONFIG.finetune,
    steps: finetune,
    layerDecay,
    evalEvery: Math.max(1, Math.round(finetune / 4)),
    checkpointEvery: finetune,
  },
  runDir: join('runs/compare', name),
  progress: 'none',
  ...(values.backend ? { backend: values.backend } : {}),
});

const plans: { name: string; fusion: string; pretrain: number; finetune: number; layerDecay: number }[] = [];
// Every strategy: fine-tuning only, so the table compares fusions and nothing else.
for (const fusion of values.fusions!.split(',').filter(Boolean))
  plans.push({ name: fusion, fusion, pretrain: 0, finetune: steps, layerDecay: 1 });
if (values.variants) {
  const ld = DEFAULT_CONFIG.finetune.layerDecay;
  plans.push({ name: 'film+decay', fusion: 'film', pretrain: 0, finetune: steps, layerDecay: ld });
  plans.push({
    name: 'film pretrained+decay',
    fusion: 'film',
    pretrain: pretrainSteps,
    finetune: steps - pretrainSteps,
    layerDecay: ld,
  });
}

const pct = (f: number) => (100 * f).toFixed(1);
// `--merge a.json,b.json`: rows of earlier runs (e.g. two processes, one per core) join the table.
const rows: Row[] = values
  .merge!.split(',')
  .filter(Boolean)
  .flatMap((f) => JSON.parse(readFileSync(f, 'utf8')) as Row[]);
// Read and preprocess the scenes once: every run trains on the same tensors.
if (values.backend) setBackend(values.backend);
const prepared =
  plans.length === 0
    ? undefined
    : await prepareData(
        await runSources(DEFAULT_CONFIG, console.log),
        DEFAULT_CONFIG.data.imageSize,
        console.log,
      );
for (const p of plans) {
  const t = performance.now();
  console.log(
    `== ${p.name}: ${p.pretrain} pretraining + ${p.finetune} fine-tuning steps, layer decay ${p.layerDecay}`,
  );
  const result = await runVqaPipeline(
    base(p.name, p.fusion, p.pretrain, p.finetune, p.layerDecay),
    () => undefined,
    prepared,
  );
  const { predictions: _p, perQuestion: _q, ...report } = result.report;
  const { parameters, steps: done, seconds, curve } = result;
  rows.push({ ...p, parameters, steps: done, seconds, curve, report });
  const r = result.report;
  console.log(
    `   ${pct(r.overall)} % (blind ${pct(r.blindBaseline)} %) in ${((performance.now() - t) / 1000).toFixed(0)} s`,
  );
  writeResults();
}
writeResults();

function writeResults(): void {
  const out = values.out!;
  mkdirSync(dirname(out), { recursive: true });
  const types = [...new Set(rows.flatMap((r) => Object.keys(r.report.perQuestionType)))].sort();
  const head = [
    'run',
    'steps (pretrain + fine-tune)',
    'params',
    'ms/step',
    'overall',
    'non-rel',
    'rel',
    ...types,
  ];
  const lines = [
    `Generated by \`scripts/compare.ts --steps ${steps}${values.variants ? ' --variants' : ''}\` on ${new Date().toISOString().slice(0, 10)}; default data (${DEFAULT_CONFIG.data.trainImages} train / ${DEFAULT_CONFIG.data.valImages} val scenes); official VQA accuracy on the validation split; blind baseline: ${rows[0] ? pct(rows[0].report.blindBaseline) : '?'} %.`,
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
  ];
  for (const { name, pretrain, finetune, parameters, steps: done, seconds, curve, report: r } of rows) {
    // Training time only: the evaluations of the learning curve are not part of a step.
    const evalSeconds = curve.reduce((a, c) => a + c.evalSeconds, 0);
    const ms = (1000 * (seconds.finetune - evalSeconds)) / Math.max(1, done);
    lines.push(
      `| ${[
        name,
        `${pretrain} + ${finetune}`,
        parameters.toLocaleString('en-US'),
        ms.toFixed(0),
        pct(r.overall),
        pct(r.nonRelational),
        pct(r.relational),
        ...types.map((t) => (t in r.perQuestionType ? pct(r.perQuestionType[t]!) : '')),
      ].join(' | ')} |`,
    );
  }
  writeFileSync(`${out}.md`, `${lines.join('\n')}\n`);
  writeFileSync(`${out}.json`, JSON.stringify(rows, null, 1));
}
