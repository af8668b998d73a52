/** `polymodal-data` command line: `polymodal-data generate --images 10000 --seed 1 --out dir`. */
import { cac } from 'cac';
import cliProgress from 'cli-progress';
import { generateDataset } from './generator/generate-dataset.js';

/** Builds the CLI (exported for tests); `run(argv)` parses and executes. */
export function createCli(log: (line: string) => void = console.log, isTTY = Boolean(process.stdout.isTTY)) {
  const cli = cac('polymodal-data');
  cli
    .command('generate', 'Generate a Sort-of-CLEVR dataset in the VQA v2 + COCO captions layouts')
    .option('--images <n>', 'Number of images', { default: 1000 })
    .option('--seed <n>', 'Random seed', { default: 0 })
    .option('--out <dir>', 'Output folder')
    .option('--size <px>', 'Image side in pixels', { default: 75 })
    .option('--objects <n>', 'Objects per image', { default: 6 })
    .option('--layout <grid|free>', 'Object placement', { default: 'free' })
    .option('--split <name>', 'Split name in file names', { default: 'train2014' })
    .option('--questions <n>', 'Questions per image', { default: 10 })
    .option('--repeat-colors', 'Allow several objects of one colour (default: one colour per object)')
    .action(async (opts: Record<string, string | number>) => {
      if (!opts.out) throw new Error('--out <dir> is required');
      const total = Number(opts.images);
      const bar = isTTY ? new cliProgress.SingleBar({}, cliProgress.Presets.shades_classic) : null;
      bar?.start(total, 0);
      const step = Math.max(1, Math.round(total / 10));
      const result = await generateDataset({
        images: total,
        seed: Number(opts.seed),
        out: String(opts.out),
        size: Number(opts.size),
        objects: Number(opts.objects),
        layout: opts.layout === 'grid' ? 'grid' : 'free',
        split: String(opts.split),
        questionsPerImage: Number(opts.questions),
        uniqueColors: !opts.repeatColors,
        onProgress: (done) => {
          if (bar) bar.update(done);
          else if (done % step === 0 || done === total) log(`generated ${done}/${total} images`);
        },
      });
      bar?.stop();
      log(
        `wrote ${result.images} images, ${result.questions} questions, ${result.captions} captions to ${String(opts.out)}`,
      );
    });
  cli.help();
  return {
    cli,
    async run(argv: string[]) {
      cli.parse(['node', 'polymodal-data', ...argv], { run: false });
      await cli.runMatchedCommand();
    },
  };
}
