import { ArgumentError, scope, type Tensor } from '@polymodal/tensor';
import { Module } from './module.js';

/**
 * A list of modules whose parameters are named `0.…`, `1.…` (PyTorch's `nn.ModuleList`). Holds
 * layers; it has no `forward` of its own.
 *
 * ```ts
 * const layers = new ModuleList([new Linear(4, 4), new Linear(4, 4)]);
 * for (const layer of layers) x = layer.forward(x);
 * ```
 */
export class ModuleList<M extends Module = Module> extends Module {
  private items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  get length(): number {
    return this.items.length;
  }

  /** The module at `index` (negative counts from the end). */
  at(index: number): M {
    const m = this.items.at(index);
    if (!m || !Number.isInteger(index)) {
      throw new ArgumentError(
        'ModuleList.at',
        `index ${index} is out of range for ${this.items.length} modules`,
      );
    }
    return m;
  }

  append(m: M): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }

  extend(modules: Iterable<M>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }

  forward(..._args: unknown[]): unknown {
    throw new ArgumentError('ModuleList.forward', 'a ModuleList has no forward; iterate over its modules');
  }

  protected override onSubmoduleReplaced(name: string, _old: Module, replacement: Module): void {
    this.items[Number(name)] = replacement as M;
  }
}

/**
 * Modules under string keys (PyTorch's `nn.ModuleDict`): parameters are named `key.…`.
 *
 * ```ts
 * const heads = new ModuleDict({ image: new Linear(8, 4), text: new Linear(6, 4) });
 * heads.get('image').forward(x);
 * ```
 */
export class ModuleDict<M extends Module = Module> extends Module {
  private readonly items = new Map<string, M>();

  constructor(modules: Record<string, M> = {}) {
    super();
    for (const [k, m] of Object.entries(modules)) this.set(k, m);
  }

  get size(): number {
    return this.items.size;
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  get(key: string): M {
    const m = this.items.get(key);
    if (!m) {
      throw new ArgumentError(
        'ModuleDict.get',
        `no module '${key}' (keys: ${[...this.items.keys()].join(', ') || 'none'})`,
      );
    }
    return m;
  }

  set(key: string, m: M): this {
    if (this.items.has(key)) this.setSubmodule(key, m);
    else {
      this.registerModule(key, m);
      this.items.set(key, m);
    }
    return this;
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  values(): M[] {
    return [...this.items.values()];
  }

  entries(): [string, M][] {
    return [...this.items.entries()];
  }

  forward(): never {
    throw new ArgumentError('ModuleDict.forward', 'a ModuleDict has no forward; pick a module with get()');
  }

  protected override onSubmoduleReplaced(name: string, _old: Module, replacement: Module): void {
    this.items.set(name, replacement as M);
  }
}

/**
 * Chains modules, feeding each one's output to the next (PyTorch's `nn.Sequential`); parameters
 * are named `0.…`, `1.…`.
 *
 * ```ts
 * const mlp = new Sequential(new Linear(4, 16), new ReLU(), new Linear(16, 2));
 * mlp.forward(randn([8, 4])); // [8, 2]
 * ```
 */
export class Sequential extends ModuleList {
  constructor(...modules: Module[]) {
    super(modules);
  }

  override forward(x: Tensor): Tensor {
    return scope(() => {
      let y = x;
      for (const m of this) y = m.forward(y) as Tensor;
      return y;
    });
  }
}

/**
 * Returns its input unchanged (PyTorch's `nn.Identity`): a placeholder where a layer is optional.
 *
 * ```ts
 * const norm = useNorm ? new LayerNorm([64]) : new Identity();
 * ```
 */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
