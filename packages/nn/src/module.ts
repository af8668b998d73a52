import { ArgumentError, Generator, keep, noGrad, Tensor } from '@polymodal/tensor';
import { StateDictError } from './errors.js';
import { setTrainable } from './set-trainable.js';

/** The outcome of `loadStateDict`: keys the module wanted but did not get, and keys it ignored. */
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

const join = (prefix: string, name: string): string => (prefix ? `${prefix}.${name}` : name);

/**
 * Base class of every layer and model (PyTorch's `nn.Module`): holds named parameters, buffers
 * and child modules, and gives dotted names, state dicts, train/eval and freezing over the tree.
 *
 * ```ts
 * class TwoLayer extends Module {
 *   fc1 = this.registerModule('fc1', new Linear(4, 8));
 *   fc2 = this.registerModule('fc2', new Linear(8, 2));
 *   forward(x: Tensor): Tensor { return scope(() => this.fc2.forward(this.fc1.forward(x).relu())); }
 * }
 * new TwoLayer().namedParameters().map(([n]) => n); // ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
 * ```
 */
export abstract class Module {
  /** Training mode (dropout active); `eval()` clears it for the whole tree. */
  training = true;
  private readonly _parameters = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, Tensor | null>();
  private readonly _nonPersistent = new Set<string>();
  private readonly _modules = new Map<string, Module>();

  /** The computation; each subclass types its own arguments and result. */
  // biome-ignore lint/suspicious/noExplicitAny: the shared contract lets subclasses narrow forward freely
  abstract forward(...args: any[]): any;

  private checkName(kind: string, name: string): void {
    if (typeof name !== 'string' || name === '' || name.includes('.')) {
      throw new ArgumentError(
        `${this.constructor.name}.${kind}`,
        `name must be a non-empty string without '.', got '${name}'`,
      );
    }
    const taken =
      (kind !== 'registerParameter' && this._parameters.has(name)) ||
      (kind !== 'registerBuffer' && this._buffers.has(name)) ||
      (kind !== 'registerModule' && this._modules.has(name));
    if (taken) {
      throw new ArgumentError(
        `${this.constructor.name}.${kind}`,
        `'${name}' is already used by another member`,
      );
    }
  }

  /**
   * Adds a trainable tensor under `name` (marks it `requiresGrad`, and keeps it out of any open
   * `scope` so it lives as long as the module). Returns it, for `this.weight = this.registerParameter(…)`.
   */
  registerParameter(name: string, t: Tensor | null): Tensor | null {
    this.checkName('registerParameter', name);
    if (t) {
      if (t.dtype !== 'float32') {
        throw new ArgumentError(
          `${this.constructor.name}.registerParameter`,
          `parameter '${name}' must be float32, got ${t.dtype}`,
        );
      }
      t.requiresGrad_(true);
      keep(t);
    }
    this._parameters.set(name, t);
    return t;
  }

  /** Adds non-trainable state (running statistics, fixed tables); `persistent` ones are in the state dict. */
  registerBuffer(name: string, t: Tensor | null, persistent = true): Tensor | null {
    this.checkName('registerBuffer', name);
    if (t) keep(t);
    this._buffers.set(name, t);
    if (persistent) this._nonPersistent.delete(name);
    else this._nonPersistent.add(name);
    return t;
  }

  /** Adds a child module under `name`; its parameters appear as `name.…`. */
  registerModule<M extends Module>(name: string, m: M): M {
    this.checkName('registerModule', name);
    if (!(m instanceof Module)) {
      throw new ArgumentError(`${this.constructor.name}.registerModule`, `'${name}' is not a Module`);
    }
    this._modules.set(name, m);
    return m;
  }

  /** Unique parameters, in registration order, recursing into children. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** `[dottedName, parameter]` pairs; a parameter shared by two modules is listed once. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [name, t] of m._parameters) {
        if (!t || seen.has(t)) continue;
        seen.add(t);
        out.push([join(path, name), t]);
      }
    }
    return out;
  }

  /** `[dottedName, buffer]` pairs, recursing into children. */
  namedBuffers(prefix = ''): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [name, t] of m._buffers) {
        if (!t || seen.has(t)) continue;
        seen.add(t);
        out.push([join(path, name), t]);
      }
    }
    return out;
  }

  buffers(): Tensor[] {
    return this.namedBuffers().map(([, t]) => t);
  }

  /**
   * `[dottedName, generator]` for every random `Generator` the tree holds in a field of one of
   * its modules (a `Dropout`'s, an attention layer's, LoRA's …), found by walking the modules, so
   * a checkpoint can save and restore them all without a list to keep up to date (the Trainer
   * does). Names are `<module path>.<field>`; a generator shared by several modules is listed
   * once, under the first name met in pre-order.
   *
   * ```ts
   * new MLP(4, [8, 2], { dropout: 0.1, seed: 0 }).namedGenerators(); // [['2.generator', g]]: one, shared
   * new Dropout(0.1, { seed: 1 }).namedGenerators();                    // [['generator', g]]
   * ```
   */
  namedGenerators(prefix = ''): [string, Generator][] {
    const seen = new Set<Generator>();
    const out: [string, Generator][] = [];
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [field, value] of Object.entries(m)) {
        if (!(value instanceof Generator) || seen.has(value)) continue;
        seen.add(value);
        out.push([join(path, field), value]);
      }
    }
    return out;
  }

  /** Every generator of the tree, once each (see `namedGenerators`). */
  generators(): Generator[] {
    return this.namedGenerators().map(([, g]) => g);
  }

  /** Direct children. */
  children(): Module[] {
    return [...this._modules.values()];
  }

  namedChildren(): [string, Module][] {
    return [...this._modules.entries()];
  }

  /** This module and every descendant, pre-order. */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** `['', this]` then every descendant with its dotted path; shared modules are listed once. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const visit = (m: Module, path: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([path, m]);
      for (const [name, child] of m._modules) visit(child, join(path, name));
    };
    visit(this, prefix);
    return out;
  }

  /** Sets training mode on the whole tree (dropout on/off). */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** `train(false)`. */
  eval(): this {
    return this.train(false);
  }

  /** Calls `fn` on every module of the tree (children first, like PyTorch). */
  apply(fn: (m: Module) => void): this {
    for (const child of this._modules.values()) child.apply(fn);
    fn(this);
    return this;
  }

  /** Clears the `.grad` of every parameter. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /**
   * Stops training the parameters whose dotted names match (all when omitted): glob `*` matches
   * within one dot segment, `**` across segments; a RegExp is tested against the full name.
   * Frozen parameters lose their `.grad`, so no optimizer step applies a stale one (see
   * `setTrainable`, which finetune's `freezeParameters` shares).
   *
   * ```ts
   * model.freeze('encoder.**').unfreeze('encoder.layers.11.**');
   * ```
   */
  freeze(pattern?: string | RegExp): this {
    return this.setRequiresGrad(pattern, false);
  }

  /** The inverse of `freeze`. */
  unfreeze(pattern?: string | RegExp): this {
    return this.setRequiresGrad(pattern, true);
  }

  private setRequiresGrad(pattern: string | RegExp | undefined, value: boolean): this {
    setTrainable(this.namedParameters(), pattern, value);
    return this;
  }

  /**
   * Parameters and persistent buffers under dotted keys, in PyTorch's order. The tensors are the
   * live ones (not copies): clone them if you mean to keep a snapshot.
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    // Like PyTorch, a module reachable by two paths appears under both.
    const visit = (m: Module, prefix: string): void => {
      for (const [name, t] of m._parameters) if (t) out[join(prefix, name)] = t;
      for (const [name, t] of m._buffers) {
        if (t && !m._nonPersistent.has(name)) out[join(prefix, name)] = t;
      }
      for (const [name, child] of m._modules) visit(child, join(prefix, name));
    };
    visit(this, '');
    return out;
  }

  /**
   * Copies values from `sd` into this module's parameters and buffers (with `assign`, so existing
   * references stay valid). Nothing is copied unless every key fits: mis-shaped keys always throw;
   * in strict mode (default) missing and unexpected keys throw too, all listed in one `StateDictError`.
   */
  loadStateDict(sd: Record<string, Tensor>, options: { strict?: boolean } = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    if (sd === null || typeof sd !== 'object')
      throw new ArgumentError(
        `${this.constructor.name}.loadStateDict`,
        `expected an object of tensors, got ${sd}`,
      );
    for (const [key, value] of Object.entries(sd)) {
      if (!(value instanceof Tensor))
        throw new ArgumentError(
          `${this.constructor.name}.loadStateDict`,
          `'${key}' is ${value === null ? 'null' : typeof value}, not a Tensor`,
        );
    }
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !Object.hasOwn(sd, k));
    const unexpectedKeys = Object.keys(sd).filter((k) => !Object.hasOwn(own, k));
    const mismatchedKeys: { key: string; expected: number[]; got: number[] }[] = [];
    for (const [key, target] of Object.entries(own)) {
      const source = Object.hasOwn(sd, key) ? sd[key] : undefined;
      if (!source) continue;
      const same =
        source.shape.length === target.shape.length && source.shape.every((d, i) => d === target.shape[i]);
      if (!same) mismatchedKeys.push({ key, expected: [...target.shape], got: [...source.shape] });
    }
    if (mismatchedKeys.length || (strict && (missingKeys.length || unexpectedKeys.length))) {
      throw new StateDictError(
        `${this.constructor.name}.loadStateDict`,
        strict ? missingKeys : [],
        strict ? unexpectedKeys : [],
        mismatchedKeys,
      );
    }
    noGrad(() => {
      for (const [key, target] of Object.entries(own)) {
        const source = Object.hasOwn(sd, key) ? sd[key] : undefined;
        if (source && source !== target) target.assign(source);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  /** The module at a dotted path (`''` is this module). */
  getSubmodule(path: string): Module {
    if (path === '') return this;
    let m: Module = this;
    for (const part of path.split('.')) {
      const next = m._modules.get(part);
      if (!next) {
        throw new ArgumentError(
          `${this.constructor.name}.getSubmodule`,
          `no submodule '${path}' (${m.constructor.name} has no child '${part}'; children: ${[...m._modules.keys()].join(', ') || 'none'})`,
        );
      }
      m = next;
    }
    return m;
  }

  /** The parameter at a dotted path, e.g. `'encoder.layers.0.linear1.weight'`. */
  getParameter(path: string): Tensor {
    const cut = path.lastIndexOf('.');
    const owner = this.getSubmodule(cut < 0 ? '' : path.slice(0, cut));
    const name = path.slice(cut + 1);
    const t = owner._parameters.get(name);
    if (!t) {
      throw new ArgumentError(
        `${this.constructor.name}.getParameter`,
        `no parameter '${path}' (${owner.constructor.name} has: ${[...owner._parameters.keys()].join(', ') || 'none'})`,
      );
    }
    return t;
  }

  /**
   * Replaces the child at a dotted path (how LoRA wraps `Linear` layers). Fields of the parent that
   * pointed at the old child are repointed too, so `forward` code using `this.fc1` sees the new one.
   */
  setSubmodule(path: string, m: Module): void {
    if (path === '')
      throw new ArgumentError(`${this.constructor.name}.setSubmodule`, 'path must not be empty');
    const cut = path.lastIndexOf('.');
    const parent = this.getSubmodule(cut < 0 ? '' : path.slice(0, cut));
    const name = path.slice(cut + 1);
    const old = parent._modules.get(name);
    if (!old) {
      throw new ArgumentError(
        `${this.constructor.name}.setSubmodule`,
        `no submodule '${path}' to replace (children: ${[...parent._modules.keys()].join(', ') || 'none'})`,
      );
    }
    if (!(m instanceof Module)) {
      throw new ArgumentError(`${this.constructor.name}.setSubmodule`, `'${path}' must be set to a Module`);
    }
    parent._modules.set(name, m);
    const fields = parent as unknown as Record<string, unknown>;
    for (const key of Object.keys(fields)) if (fields[key] === old) fields[key] = m;
    parent.onSubmoduleReplaced(name, old, m);
  }

  /** Hook for containers that cache their children (called after `setSubmodule`). */
  protected onSubmoduleReplaced(_name: string, _old: Module, _replacement: Module): void {}

  /** Frees every parameter and buffer of the tree; the module is unusable afterwards. */
  dispose(): void {
    for (const t of this.parameters()) {
      t.zeroGrad();
      t.dispose();
    }
    for (const t of this.buffers()) t.dispose();
  }

  /** `Name(child: …)`, like PyTorch's repr. */
  toString(): string {
    const children = [...this._modules].map(([n, c]) => `  (${n}): ${c.toString().replace(/\n/g, '\n  ')}`);
    const extra = this.extraRepr();
    if (!children.length) return `${this.constructor.name}(${extra})`;
    return `${this.constructor.name}(${extra ? `${extra}\n` : '\n'}${children.join('\n')}\n)`;
  }

  /** Extra text for `toString()`, e.g. `in=4, out=8`. */
  protected extraRepr(): string {
    return '';
  }
}
