import { Generator, getDefaultGenerator, type RandomOptions } from '@polymodal/tensor';

/**
 * The generator a layer initialises from: `options.generator`, else a fresh one seeded with
 * `options.seed`, else the global one (so `manualSeed(…)` makes unseeded models reproducible).
 */
export function generatorFrom(options: RandomOptions | undefined): Generator {
  if (options?.generator) return options.generator;
  return options?.seed !== undefined ? new Generator(options.seed) : getDefaultGenerator();
}
