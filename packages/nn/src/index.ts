/**
 * @polymodal/nn: modules, parameters, layers, initializers, state dicts and safetensors checkpoints,
 * on top of @polymodal/tensor (PyTorch `torch.nn` semantics and names, camelCased).
 */

/** Re-exported from @polymodal/tensor, where the one implementation lives (kept for existing imports). */
export { generatorFrom } from '@polymodal/tensor';
export { type ActivationName, activationFrom, GELU, ReLU, SiLU } from './activations.js';
export { BatchNorm, BatchNorm1d, BatchNorm2d, type BatchNormModuleOptions } from './batch-norm.js';
export { Identity, ModuleDict, ModuleList, Sequential } from './containers.js';
export { ConvStem, type ConvStemLayer, type ConvStemOptions } from './conv-stem.js';
export { Conv2d, type Conv2dModuleOptions } from './conv2d.js';
export {
  AddCoords,
  addCoordChannels,
  type CoordChannelsOptions,
  CoordConv2d,
  type CoordConv2dOptions,
  coordinateGrid,
  type FeatureMapToSequenceOptions,
  featureMapToSequence,
} from './coord-channels.js';
export { Dropout } from './dropout.js';
export { Embedding, type EmbeddingOptions } from './embedding.js';
export { SafetensorsError, StateDictError } from './errors.js';
export { gradCheckModule } from './grad-check-module.js';
export { GroupNorm, type GroupNormOptions } from './group-norm.js';
export { GRU, type GRUForwardOptions, type GRUOptions, type GRUOutput } from './gru.js';
export {
  calculateGain,
  computeFans,
  constant_,
  type KaimingOptions,
  kaimingNormal_,
  kaimingUniform_,
  type Nonlinearity,
  normal_,
  ones_,
  truncNormal_,
  uniform_,
  type XavierOptions,
  xavierNormal_,
  xavierUniform_,
  zeros_,
} from './init.js';
export { LayerNorm, type LayerNormOptions } from './layer-norm.js';
export { Linear, type LinearOptions } from './linear.js';
export { MLP, type MLPOptions } from './mlp.js';
export { type LoadStateDictResult, Module } from './module.js';
export { namePattern } from './name-pattern.js';
export { PatchEmbedding, type PatchEmbeddingOptions } from './patch-embedding.js';
export { AvgPool2d, GlobalAvgPool2d, GlobalMaxPool2d, MaxPool2d } from './pooling.js';
export {
  type HasProjectionSlots,
  hasProjectionSlots,
  type ProjectionAdapter,
  type ProjectionSlot,
} from './projection-slot.js';
export { deserializeSafetensors, serializeSafetensors } from './safetensors.js';
export {
  fetchSafetensors,
  loadModuleFrom,
  loadSafetensorsFrom,
  type SafetensorsSource,
} from './safetensors-source.js';
export { type ParameterPatterns, setTrainable } from './set-trainable.js';
export { updateBatchNorm } from './update-batch-norm.js';
export { withEval } from './with-eval.js';
