/**
 * @polymodal/fusion: multimodal fusion strategies — early, late, hierarchical, self-attention,
 * feature-level (concat, sum, product, gated, bilinear), decision-level, intermediate (co-attention),
 * attention fusion, and conditioning/relational fusion over image cells (FiLM, Relation Network) —
 * behind one `FusionModule` interface, with a registry for your own.
 */
export { AttentionFusion, type AttentionFusionOptions } from './attention-fusion.js';
export { BilinearFusion, type BilinearFusionOptions } from './bilinear-fusion.js';
export { ConcatFusion, type ConcatFusionOptions } from './concat-fusion.js';
export { type DecisionCombine, DecisionFusion, type DecisionFusionOptions } from './decision-fusion.js';
export { EarlyFusion, type EarlyFusionOptions } from './early-fusion.js';
export { ElementwiseFusion, type ElementwiseFusionOptions } from './elementwise-fusion.js';
export { FusionInputError, UnknownFusionError } from './errors.js';
export { FiLMFusion, type FiLMFusionOptions, type FiLMNorm } from './film-fusion.js';
export {
  type CheckedInputs,
  checkInputDims,
  checkPositive,
  type FusionBaseOptions,
  type FusionInputKind,
  type FusionInputs,
  type FusionMasks,
  FusionModule,
  type FusionOutput,
  type SharedRows,
} from './fusion-module.js';
export { GatedFusion, type GatedFusionOptions } from './gated-fusion.js';
export { HierarchicalFusion, type HierarchicalFusionOptions } from './hierarchical-fusion.js';
export { IntermediateFusion, type IntermediateFusionOptions } from './intermediate-fusion.js';
export { LateFusion, type LateFusionOptions } from './late-fusion.js';
export { type ModalityRoles, resolveRoles } from './modality-roles.js';
export { ProductFusion, type ProductFusionOptions } from './product-fusion.js';
export {
  type BuiltinFusionOptions,
  createFusion,
  type FusionConfig,
  type FusionFactory,
  type FusionFactoryOptions,
  fusionFromConfig,
  listFusions,
  registerFusion,
  unregisterFusion,
} from './registry.js';
export { RelationalFusion, type RelationalFusionOptions } from './relational-fusion.js';
export { SelfAttentionFusion, type SelfAttentionFusionOptions } from './self-attention-fusion.js';
export { joinMasks, maskedMean, pooled, toPaddingMask } from './sequence-utils.js';
export { SumFusion, type SumFusionOptions } from './sum-fusion.js';
export type { TransformerFusionOptions } from './transformer-options.js';
