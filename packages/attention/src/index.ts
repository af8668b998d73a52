/**
 * @polymodal/attention: scaled dot-product and multi-head attention (self and cross-modal),
 * positional encodings and Transformer encoder layers, with PyTorch-compatible parameter names.
 */
export {
  type CrossAttentionForwardOptions,
  CrossAttentionLayer,
  type CrossAttentionLayerOptions,
} from './cross-attention-layer.js';
export { CrossModalAttention, type CrossModalAttentionOptions } from './cross-modal-attention.js';
export {
  LearnedPositionalEmbedding,
  type LearnedPositionalEmbeddingOptions,
} from './learned-positional-embedding.js';
export { attentionMaskFromPaddingMask, paddingMaskFromAttentionMask } from './masks.js';
export {
  MultiHeadAttention,
  type MultiHeadAttentionForwardOptions,
  type MultiHeadAttentionOptions,
} from './multi-head-attention.js';
export { sinCos2dPositionalEncoding, sinusoidalPositionalEncoding } from './positional-encoding.js';
export {
  type ScaledDotProductAttentionOptions,
  scaledDotProductAttention,
} from './scaled-dot-product-attention.js';
export { type EncoderLayerSpec, TransformerEncoder } from './transformer-encoder.js';
export {
  type EncoderForwardOptions,
  TransformerEncoderLayer,
  type TransformerEncoderLayerOptions,
} from './transformer-encoder-layer.js';
