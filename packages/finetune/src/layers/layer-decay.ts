import { ArgumentError, type Tensor } from '@polymodal/tensor';
import type { ParamGroupInput } from '../optim/optimizer.js';
import { defaultNoDecay } from '../optim/param-groups.js';
import { defaultLayerId, type LayerIdFn } from './layer-id.js';

export interface LayerDecayOptions {
  /** The lr of the top layer (head); lower layers get `lr · scale`. */
  lr: number;
  /** The per-layer multiplier, e.g. 0.65 or 0.75 (1 = no decay). */
  layerDecay: number;
  /** Number of transformer blocks (ids 1..numLayers); embeddings are 0, the head numLayers + 1. */
  numLayers: number;
  /** Weight decay of the decayed parameters (default 0). */
  weightDecay?: number;
  /** Parameters without weight decay (default: biases and 1-D tensors). */
  noDecay?: (name: string, p: Tensor) => boolean;
  /** The layer-id rule; a hook for custom models (default `defaultLayerId`). */
  getLayerId?: LayerIdFn;
  /** Keep frozen parameters (default false). */
  includeFrozen?: boolean;
}

/** A group made by `layerWiseLrDecayGroups`: records its layer id and lr scale. */
export type LayerDecayGroup = ParamGroupInput & { layerId: number; lrScale: number; names: string[] };

/**
 * The lr scale of a layer: `layerDecay^(numLayers + 1 − layerId)`, BEiT's
 * `LayerDecayValueAssigner` (Bao et al. 2022, "BEiT", and Clark et al. 2020, "ELECTRA"), so the
 * head (id numLayers + 1) has scale 1, the top block `layerDecay`, the embeddings
 * `layerDecay^(numLayers + 1)`.
 *
 * ```ts
 * layerScale(0, 12, 0.75); // 0.75 ** 13
 * ```
 */
export function layerScale(layerId: number, numLayers: number, layerDecay: number): number {
  return layerDecay ** (numLayers + 1 - layerId);
}

/**
 * Parameter groups with layer-wise lr decay (and the usual no-weight-decay split), for fine-tuning
 * pretrained encoders: one group per (layer id, decay / no decay), each with `lr · scale`.
 * LR schedulers then scale every group's lr by the same factor, preserving the ratios.
 *
 * ```ts
 * const groups = layerWiseLrDecayGroups(model.namedParameters(), { lr: 1e-3, layerDecay: 0.75, numLayers: 12, weightDecay: 0.05 });
 * const opt = new AdamW(groups);
 * ```
 */
export function layerWiseLrDecayGroups(
  namedParameters: Iterable<[string, Tensor]>,
  options: LayerDecayOptions,
): LayerDecayGroup[] {
  const { lr, layerDecay, numLayers } = options;
  if (!(lr >= 0)) throw new ArgumentError('layerWiseLrDecayGroups', `lr must be ≥ 0, got ${lr}`);
  if (!(layerDecay > 0 && layerDecay <= 1))
    throw new ArgumentError('layerWiseLrDecayGroups', `layerDecay must lie in (0, 1], got ${layerDecay}`);
  if (!Number.isInteger(numLayers) || numLayers < 0)
    throw new ArgumentError('layerWiseLrDecayGroups', `numLayers must be an integer ≥ 0, got ${numLayers}`);
  const getLayerId = options.getLayerId ?? defaultLayerId;
  const noDecay = options.noDecay ?? defaultNoDecay;
  const weightDecay = options.weightDecay ?? 0;
  const groups = new Map<string, LayerDecayGroup>();
  for (const [name, p] of namedParameters) {
    if (!options.includeFrozen && !p.requiresGrad) continue;
    const id = getLayerId(name, numLayers);
    if (!Number.isInteger(id) || id < 0 || id > numLayers + 1)
      throw new ArgumentError(
        'layerWiseLrDecayGroups',
        `layer id of '${name}' is ${id}; expected an integer in [0, ${numLayers + 1}]`,
      );
    const decays = weightDecay !== 0 && !noDecay(name, p);
    const key = `${id}:${decays ? 'decay' : 'no_decay'}`;
    let g = groups.get(key);
    if (!g) {
      const lrScale = layerScale(id, numLayers, layerDecay);
      g = {
        params: [],
        names: [],
        layerId: id,
        lrScale,
        lr: lr * lrScale,
        weightDecay: decays ? weightDecay : 0,
      };
      groups.set(key, g);
    }
    g.params.push(p);
    g.names.push(name);
  }
  return [...groups.values()].sort((a, b) => a.layerId - b.layerId);
}
