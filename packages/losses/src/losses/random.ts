import { Generator, getDefaultGenerator, type RandomOptions } from '@polymodal/tensor';

/**
 * The generator `options` asks for, with @polymodal/tensor's rule: its own `generator`, else a
 * fresh one from `seed`, else the global default.
 */
export function generatorFrom(options: RandomOptions): Generator {
  if (options.generator) return options.generator;
  if (options.seed !== undefined) return new Generator(options.seed);
  return getDefaultGenerator();
}
