import { Linear, ModuleDict } from '@polymodal/nn';
import type { Generator } from '@polymodal/tensor';

/** One `Linear(inputDims[m] → width)` per modality, in a `ModuleDict` keyed by modality name. */
export function modalityProjections(
  modalities: readonly string[],
  inputDims: Readonly<Record<string, number>>,
  width: number,
  generator: Generator,
): ModuleDict<Linear> {
  return new ModuleDict(
    Object.fromEntries(modalities.map((m) => [m, new Linear(inputDims[m]!, width, { generator })])),
  );
}
