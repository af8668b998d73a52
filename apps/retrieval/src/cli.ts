import { cac } from 'cac';
import { DEFAULT_CONFIG, QUICK_CONFIG, type RetrievalConfig } from './config.js';
import { formatRetrievalResult, runRetrievalPipeline } from './pipeline.js';

const cli = cac('polymodal-retrieval');
cli
  .command(
    '[...args]',
    'Train a CLIP-style dual encoder on generated scenes and captions, report Recall@K both ways',
  )
  .option('--quick', 'a tiny run (seconds) to check the pipeline')
  .option('--steps <n>', 'optimizer steps', { default: DEFAULT_CONFIG.maxSteps })
  .option('--train-images <n>', 'training images (3 captions each)', { default: DEFAULT_CONFIG.trainImages })
  .option('--val-images <n>', 'validation images', { default: DEFAULT_CONFIG.valImages })
  .option('--batch-size <n>', 'batch size', { default: DEFAULT_CONFIG.batchSize })
  .option('--lr <lr>', 'peak learning rate', { default: DEFAULT_CONFIG.learningRate })
  .option('--backend <name>', 'tensor backend (cpu, gpujs, …)')
  .option('--data-dir <dir>', 'dataset folder (generated once)', { default: DEFAULT_CONFIG.dataDir })
  .option('--run-dir <dir>', 'checkpoints and reports', { default: DEFAULT_CONFIG.runDir })
  .option('--resume', 'continue from the last checkpoint in --run-dir')
  .option('--seed <n>', 'seed', { default: DEFAULT_CONFIG.seed })
  .option('--progress <mode>', 'auto (a bar on a terminal), bar, log or none', { default: 'auto' })
  .action(async (_args: string[], o: Record<string, unknown>) => {
    const config: Partial<RetrievalConfig> = {
      maxSteps: Number(o.steps),
      trainImages: Number(o.trainImages),
      valImages: Number(o.valImages),
      batchSize: Number(o.batchSize),
      learningRate: Number(o.lr),
      dataDir: String(o.dataDir),
      runDir: String(o.runDir),
      resume: Boolean(o.resume),
      seed: Number(o.seed),
      progress: String(o.progress) as 'auto' | 'bar' | 'log' | 'none',
      ...(o.backend ? { backend: String(o.backend) } : {}),
      ...(o.quick ? QUICK_CONFIG : {}),
    };
    console.log(`\n${formatRetrievalResult(await runRetrievalPipeline(config))}`);
  });
cli.help();
cli.parse(process.argv, { run: false });
await cli.runMatchedCommand();
