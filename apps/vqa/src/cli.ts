import { cac } from 'cac';
import { DEFAULT_CONFIG, QUICK_CONFIG, type VqaConfig } from './config.js';
import { formatResult, runVqaPipeline } from './pipeline.js';

const cli = cac('polymodal-vqa');
cli
  .command(
    '[...args]',
    'Generate Sort-of-CLEVR, train a ViLT-style VQA model, evaluate with the official VQA accuracy',
  )
  .option('--quick', 'a tiny run (seconds) to check the pipeline')
  .option('--steps <n>', 'optimizer steps', { default: DEFAULT_CONFIG.maxSteps })
  .option('--train-images <n>', 'training images (10 questions each)', {
    default: DEFAULT_CONFIG.trainImages,
  })
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
    const config: Partial<VqaConfig> = {
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
    const result = await runVqaPipeline(config);
    console.log(`\n${formatResult(result)}`);
  });
cli.help();
cli.parse(process.argv, { run: false });
await cli.runMatchedCommand();
