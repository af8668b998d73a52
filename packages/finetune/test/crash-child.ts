/**
 * Child process of the crash test (bundled with esbuild, run with node): trains with checkpoints,
 * prints each step's loss, and after step PAUSE_AT waits to be killed with SIGKILL by the test.
 */
import { makeTrainer } from './crash-setup.js';

const [checkpointDir, outputDir, pauseAt] = process.argv.slice(2) as [string, string, string];
const trainer = makeTrainer(checkpointDir, outputDir, [
  {
    onLog: (_t, logs) => {
      for (const l of logs) process.stdout.write(`step ${l.step} ${l.loss}\n`);
    },
    onStepEnd: async (t, step) => {
      if (step.step === Number(pauseAt)) {
        await t.flushLogs(); // the losses up to this step, before the pause
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
