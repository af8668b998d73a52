/**
 * Child process of the crash test (bundled with esbuild, run with node): trains with checkpoints,
 * prints each step, and after step PAUSE_AT waits to be killed with SIGKILL by the test.
 */
import { makeTrainer } from './crash-setup.js';

const [checkpointDir, outputDir, pauseAt] = process.argv.slice(2) as [string, string, string];
const trainer = makeTrainer(checkpointDir, outputDir, [
  {
    onStepEnd: async (_t, logs) => {
      process.stdout.write(`step ${logs.step} ${logs.loss}\n`);
      if (logs.step === Number(pauseAt)) {
        process.stdout.write('paused\n');
        await new Promise((resolve) => setTimeout(resolve, 120_000));
      }
    },
  },
]);
trainer.train({ resume: true }).then(
  () => process.stdout.write('finished\n'),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
