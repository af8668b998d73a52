/**
 * Example: a fusion strategy defined outside @polymodal/fusion, against its public API only, and
 * registered so `createFusion('mutan', …)` and `fusionFromConfig({ type: 'mutan', … })` build it.
 */
import { type FusionFactoryOptions, listFusions, registerFusion } from '@polymodal/fusion';
import { MutanFusion, type MutanFusionOptions } from './mutan-fusion.js';

export { MutanFusion, type MutanFusionOptions } from './mutan-fusion.js';

/**
 * Registers `MutanFusion` under `name` (default `'mutan'`); calling it again is a no-op.
 *
 * ```ts
 * registerMutanFusion();
 * const mutan = fusionFromConfig({ type: 'mutan', inputDims: { image: 8, text: 6 }, rank: 3, outputDim: 16 });
 * ```
 */
export function registerMutanFusion(name = 'mutan'): void {
  if (listFusions().includes(name)) return;
  registerFusion(
    name,
    (options: FusionFactoryOptions) => new MutanFusion(options as unknown as MutanFusionOptions),
  );
}
