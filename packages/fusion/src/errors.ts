import { PolymodalError } from '@polymodal/tensor';

/**
 * Inputs a fusion cannot take: a missing or unexpected modality, batch sizes that differ, a wrong
 * feature width or rank, or a padding mask of the wrong shape or dtype. `modality` names the
 * offending input (absent when the problem spans several), and the message gives the shapes.
 *
 * ```ts
 * try { fusion.forward({ image }); } catch (e) {
 *   if (e instanceof FusionInputError) console.log(e.modality); // 'text'
 * }
 * ```
 */
export class FusionInputError extends PolymodalError {
  override readonly name = 'FusionInputError';
  constructor(
    op: string,
    message: string,
    readonly modality?: string,
  ) {
    super(op, message);
  }
}

/**
 * `createFusion`/`fusionFromConfig` was given a strategy name nobody registered; `known` lists the
 * registered ones (also in the message).
 *
 * ```ts
 * try { createFusion('nope', { inputDims: { a: 4 } }); } catch (e) {
 *   if (e instanceof UnknownFusionError) console.log(e.known); // ['attention', 'bilinear', …]
 * }
 * ```
 */
export class UnknownFusionError extends PolymodalError {
  override readonly name = 'UnknownFusionError';
  constructor(
    op: string,
    readonly requested: string,
    readonly known: readonly string[],
  ) {
    super(op, `unknown fusion '${requested}'; known fusions: ${known.join(', ')}`);
  }
}
