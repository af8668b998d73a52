/**
 * Example: a fusion strategy defined outside @polymodal/fusion, against its public API only, and
 * registered so `createFusion('film', …)` and `fusionFromConfig({ type: 'film', … })` build it.
 */
import { type FusionFactoryOptions, listFusions, registerFusion } from '@polymodal/fusion';
import { FiLMFusion, type FiLMFusionOptions } from './film-fusion.js';

export { FiLMFusion, type FiLMFusionOptions } from './film-fusion.js';

/**
 * Registers `FiLMFusion` under `name` (default `'film'`); calling it again is a no-op.
 *
 * ```ts
 * registerFiLMFusion();
 * const film = fusionFromConfig({ type: 'film', inputDims: { image: 8, text: 6 }, target: 'image', outputDim: 16 });
 * ```
 */
export function registerFiLMFusion(name = 'film'): void {
  if (listFusions().includes(name)) return;
  registerFusion(
    name,
    (options: FusionFactoryOptions) => new FiLMFusion(options as unknown as FiLMFusionOptions),
  );
}
