import { layerWiseLrDecayGroups, type ParamGroupInput } from '@polymodal/finetune';
import type { Tensor } from '@polymodal/tensor';

/**
 * Depth of each parameter of `VqaModel` for layer-wise LR decay (BEiT/ELECTRA's rule, top = 1):
 * the answer head is the top (id 4), the fusion 3, the text encoder's Transformer layers 2, and
 * the bottom (id 1) holds what pretraining learned first: the conv stem, its projection, the token
 * and position embeddings. Pretraining heads never reach the fine-tuning optimizer.
 */
export function vqaLayerId(name: string): number {
  if (name.startsWith('head.')) return 4;
  if (name.startsWith('fusion.')) return 3;
  if (name.startsWith('text.layers.')) return 2;
  return 1;
}

const NUM_LAYERS = 3;

/**
 * AdamW parameter groups for fine-tuning: lr · decay^(4 − id) per depth, biases and norms without
 * weight decay. With `decay` 1 every group gets the same lr.
 *
 * ```ts
 * new AdamW(vqaParamGroups(model.namedParameters(), { lr: 1e-3, decay: 0.75, weightDecay: 0.01 }));
 * ```
 */
export function vqaParamGroups(
  namedParameters: Iterable<[string, Tensor]>,
  options: { lr: number; decay: number; weightDecay: number },
): ParamGroupInput[] {
  return layerWiseLrDecayGroups(namedParameters, {
    lr: options.lr,
    layerDecay: options.decay,
    numLayers: NUM_LAYERS,
    weightDecay: options.weightDecay,
    getLayerId: vqaLayerId,
    // Frozen parameters stay in their group, so unfreezing them later needs no new optimizer.
    includeFrozen: true,
  });
}
