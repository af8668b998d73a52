import { ArgumentError } from '@polymodal/tensor';
import { AttentionFusion, type AttentionFusionOptions } from './attention-fusion.js';
import { BilinearFusion, type BilinearFusionOptions } from './bilinear-fusion.js';
import { ConcatFusion, type ConcatFusionOptions } from './concat-fusion.js';
import { DecisionFusion, type DecisionFusionOptions } from './decision-fusion.js';
import { EarlyFusion, type EarlyFusionOptions } from './early-fusion.js';
import { UnknownFusionError } from './errors.js';
import { FiLMFusion, type FiLMFusionOptions } from './film-fusion.js';
import { FusionModule } from './fusion-module.js';
import { GatedFusion, type GatedFusionOptions } from './gated-fusion.js';
import { HierarchicalFusion, type HierarchicalFusionOptions } from './hierarchical-fusion.js';
import { IntermediateFusion, type IntermediateFusionOptions } from './intermediate-fusion.js';
import { LateFusion, type LateFusionOptions } from './late-fusion.js';
import { ProductFusion, type ProductFusionOptions } from './product-fusion.js';
import { RelationalFusion, type RelationalFusionOptions } from './relational-fusion.js';
import { SelfAttentionFusion, type SelfAttentionFusionOptions } from './self-attention-fusion.js';
import { SumFusion, type SumFusionOptions } from './sum-fusion.js';

/** Options of any strategy: at least `inputDims`, plus whatever that strategy reads. */
export type FusionFactoryOptions = { inputDims: Record<string, number> } & Record<string, unknown>;

/** Builds a strategy from its options. */
export type FusionFactory = (options: FusionFactoryOptions) => FusionModule;

/** A strategy described as plain JSON: `{ type: 'concat', inputDims: { image: 512, text: 768 }, outputDim: 64 }`. */
export type FusionConfig = { type: string } & FusionFactoryOptions;

/** `late`'s `combiner` may itself be a config; its `inputDims` are filled in from the encoder widths. */
type LateConfigOptions = Omit<LateFusionOptions, 'combiner'> & {
  combiner?: LateFusionOptions['combiner'] | ({ type: string } & Record<string, unknown>);
};

/** The options each built-in name takes (for typed `createFusion` calls). */
export interface BuiltinFusionOptions {
  attention: AttentionFusionOptions;
  bilinear: BilinearFusionOptions;
  concat: ConcatFusionOptions;
  decision: DecisionFusionOptions;
  early: EarlyFusionOptions;
  film: FiLMFusionOptions;
  gated: GatedFusionOptions;
  hierarchical: HierarchicalFusionOptions;
  intermediate: IntermediateFusionOptions;
  late: LateConfigOptions;
  product: ProductFusionOptions;
  relational: RelationalFusionOptions;
  'self-attention': SelfAttentionFusionOptions;
  sum: SumFusionOptions;
}

/** Options from the registry are trusted to be the strategy's own; its constructor validates them. */
const typed = <T>(o: FusionFactoryOptions): T => o as unknown as T;

function lateFromOptions(options: FusionFactoryOptions): FusionModule {
  const o = typed<LateConfigOptions>(options);
  const combiner = o.combiner;
  if (combiner === undefined || combiner instanceof FusionModule)
    return new LateFusion(o as LateFusionOptions);
  const names = Object.keys(o.inputDims);
  const encoderDims =
    o.encoderDims ?? Object.fromEntries(names.map((m) => [m, o.hiddenDim ?? 32] as [string, number]));
  const { type, ...rest } = combiner as { type: string } & Record<string, unknown>;
  return new LateFusion({
    ...(o as LateFusionOptions),
    combiner: createFusion(type, { ...rest, inputDims: encoderDims }),
  });
}

const BUILTINS: Record<keyof BuiltinFusionOptions, FusionFactory> = {
  attention: (o) => new AttentionFusion(typed(o)),
  bilinear: (o) => new BilinearFusion(typed(o)),
  concat: (o) => new ConcatFusion(typed(o)),
  decision: (o) => new DecisionFusion(typed(o)),
  early: (o) => new EarlyFusion(typed(o)),
  film: (o) => new FiLMFusion(typed(o)),
  gated: (o) => new GatedFusion(typed(o)),
  hierarchical: (o) => new HierarchicalFusion(typed(o)),
  intermediate: (o) => new IntermediateFusion(typed(o)),
  late: lateFromOptions,
  product: (o) => new ProductFusion(typed(o)),
  relational: (o) => new RelationalFusion(typed(o)),
  'self-attention': (o) => new SelfAttentionFusion(typed(o)),
  sum: (o) => new SumFusion(typed(o)),
};

const registry = new Map<string, FusionFactory>(Object.entries(BUILTINS));

/**
 * Makes a strategy available by name to `createFusion` and `fusionFromConfig` (how code outside
 * this package plugs in its own; see `examples/fusion-extension`). Names are case-sensitive; taking a
 * registered name throws unless `{ override: true }`.
 *
 * ```ts
 * registerFusion('max', (o) => new MaxFusion(o as MaxFusionOptions));
 * createFusion('max', { inputDims: { image: 8, text: 8 } });
 * ```
 */
export function registerFusion(
  name: string,
  factory: FusionFactory,
  options: { override?: boolean } = {},
): void {
  if (typeof name !== 'string' || name === '') {
    throw new ArgumentError('registerFusion', `name must be a non-empty string, got '${name}'`);
  }
  if (typeof factory !== 'function') {
    throw new ArgumentError('registerFusion', `factory for '${name}' must be a function`);
  }
  if (registry.has(name) && !options.override) {
    throw new ArgumentError(
      'registerFusion',
      `'${name}' is already registered (pass { override: true } to replace it)`,
    );
  }
  registry.set(name, factory);
}

/**
 * Removes a registered strategy (built-ins included); returns whether it was there.
 *
 * ```ts
 * unregisterFusion('max'); // true
 * ```
 */
export function unregisterFusion(name: string): boolean {
  return registry.delete(name);
}

/**
 * Registered strategy names, sorted.
 *
 * ```ts
 * listFusions(); // ['attention', 'bilinear', 'concat', 'decision', 'early', …]
 * ```
 */
export function listFusions(): string[] {
  return [...registry.keys()].sort();
}

/**
 * Builds the strategy registered as `name` from its options. An unknown name throws
 * `UnknownFusionError` listing the known ones; a factory that returns something other than a
 * `FusionModule` throws `ArgumentError`.
 *
 * ```ts
 * const fusion = createFusion('gated', { inputDims: { image: 512, text: 768 }, outputDim: 128, seed: 0 });
 * ```
 */
export function createFusion<K extends keyof BuiltinFusionOptions>(
  name: K,
  options: BuiltinFusionOptions[K],
): FusionModule;
export function createFusion(name: string, options: FusionFactoryOptions): FusionModule;
export function createFusion(name: string, options: unknown): FusionModule {
  const factory = registry.get(name);
  if (!factory) throw new UnknownFusionError('createFusion', String(name), listFusions());
  if (typeof options !== 'object' || options === null) {
    throw new ArgumentError('createFusion', `options for '${name}' must be an object with inputDims`);
  }
  const made = factory(options as FusionFactoryOptions);
  if (!(made instanceof FusionModule)) {
    throw new ArgumentError(
      'createFusion',
      `the factory registered as '${name}' did not return a FusionModule`,
    );
  }
  return made;
}

/**
 * Builds any registered strategy from plain JSON: `type` picks the strategy, every other field is
 * its options (so configs can live in files).
 *
 * ```ts
 * const fusion = fusionFromConfig({ type: 'concat', inputDims: { image: 512, text: 768 }, outputDim: 64 });
 * const late = fusionFromConfig({ type: 'late', inputDims: { a: 8, b: 8 }, hiddenDim: 16, combiner: { type: 'gated', outputDim: 16 } });
 * ```
 */
export function fusionFromConfig(config: FusionConfig): FusionModule {
  if (typeof config !== 'object' || config === null || typeof config.type !== 'string') {
    throw new ArgumentError(
      'fusionFromConfig',
      `config must be an object with a string 'type' (one of ${listFusions().join(', ')}), got ${JSON.stringify(config)}`,
    );
  }
  const { type, ...options } = config;
  if (!registry.has(type)) throw new UnknownFusionError('fusionFromConfig', type, listFusions());
  // Configs are written by hand: a key the strategy never reads is a typo, not a default.
  const read = new Set<PropertyKey>();
  const tracked = new Proxy(options, {
    get(target, key, receiver) {
      read.add(key);
      return Reflect.get(target, key, receiver);
    },
    ownKeys(target) {
      for (const k of Reflect.ownKeys(target)) read.add(k);
      return Reflect.ownKeys(target);
    },
  });
  const fusion = createFusion(type, tracked as FusionFactoryOptions);
  const unused = Object.keys(options).filter((k) => !read.has(k));
  if (unused.length > 0) {
    throw new ArgumentError(
      'fusionFromConfig',
      `'${type}' does not take option${unused.length > 1 ? 's' : ''} ${unused.map((k) => `'${k}'`).join(', ')}`,
    );
  }
  return fusion;
}
