import { TransformerEncoder } from '@polymodal/attention';
import { LayerNorm } from '@polymodal/nn';
import type { Generator } from '@polymodal/tensor';
import { checkPositiveInt } from '@polymodal/tensor';

/** The Transformer settings shared by the token-level strategies. */
export interface TransformerFusionOptions {
  /** Width of every token inside the fusion (each modality is projected to it). */
  dModel: number;
  /** Attention heads; must divide `dModel`. Default 4. */
  numHeads?: number;
  /** Encoder layers. Default 2. */
  numLayers?: number;
  /** Feed-forward width. Default 4·dModel. */
  dimFeedforward?: number;
  /** Dropout in attention and feed-forward blocks (training only). Default 0.1. */
  dropout?: number;
  /** Feed-forward activation. Default `'gelu'`. */
  activation?: 'relu' | 'gelu';
}

/** Resolved settings, validated. */
export interface ResolvedTransformerOptions {
  dModel: number;
  numHeads: number;
  numLayers: number;
  dimFeedforward: number;
  dropout: number;
  activation: 'relu' | 'gelu';
}

export function resolveTransformerOptions(
  op: string,
  o: TransformerFusionOptions,
): ResolvedTransformerOptions {
  const dModel = checkPositiveInt(op, 'dModel', o.dModel);
  const numHeads = checkPositiveInt(op, 'numHeads', o.numHeads ?? 4);
  if (dModel % numHeads !== 0) {
    checkPositiveInt(op, `dModel / numHeads (${dModel} / ${numHeads})`, dModel / numHeads);
  }
  return {
    dModel,
    numHeads,
    numLayers: checkPositiveInt(op, 'numLayers', o.numLayers ?? 2),
    dimFeedforward: checkPositiveInt(op, 'dimFeedforward', o.dimFeedforward ?? 4 * dModel),
    dropout: o.dropout ?? 0.1,
    activation: o.activation ?? 'gelu',
  };
}

/** A pre-norm `TransformerEncoder` with a final LayerNorm (ViT/ViLT layout). */
export function buildEncoder(o: ResolvedTransformerOptions, generator: Generator): TransformerEncoder {
  return new TransformerEncoder(
    {
      dModel: o.dModel,
      nHead: o.numHeads,
      dimFeedforward: o.dimFeedforward,
      dropout: o.dropout,
      activation: o.activation,
      normFirst: true,
      generator,
    },
    o.numLayers,
    { norm: new LayerNorm(o.dModel) },
  );
}
