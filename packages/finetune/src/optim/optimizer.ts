import { ArgumentError, keep, noGrad, scope, type Tensor } from '@polymodal/tensor';
import { stripUndefined } from '../util/strip-undefined.js';

/** Hyper-parameters every optimizer has; schedulers read and write `lr`. */
export interface BaseHyperParams {
  lr: number;
  weightDecay: number;
}

/** A parameter group as stored by an optimizer: its params and its (complete) hyper-parameters. */
export type ParamGroup<H extends BaseHyperParams = BaseHyperParams> = H & {
  params: Tensor[];
  /** Set by the first LR scheduler attached (PyTorch's `initial_lr`). */
  initialLr?: number;
};

/** What users pass: params plus any hyper-parameters that override the optimizer's defaults. */
export type ParamGroupInput<H extends BaseHyperParams = BaseHyperParams> = Partial<H> & { params: Tensor[] };

/** Per-parameter state: tensors (moment buffers) and numbers (the step count). */
export type ParamState = Record<string, Tensor | number>;

/** PyTorch's `optimizer.state_dict()` layout, camelCased: state keyed by parameter index. */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  paramGroups: Array<Record<string, unknown> & { params: number[] }>;
}

/**
 * Base class of the optimizers: parameter groups with per-group hyper-parameters, per-parameter
 * state, `zeroGrad`, `stateDict`/`loadStateDict` (PyTorch layout) and `addParamGroup`.
 * Subclasses implement `updateGroup`, which runs inside `noGrad` + `scope`, so a step leaks nothing.
 *
 * ```ts
 * const opt = new AdamW(model.parameters(), { lr: 1e-3 });
 * loss.backward(); opt.step(); opt.zeroGrad();
 * ```
 */
export abstract class Optimizer<H extends BaseHyperParams = BaseHyperParams> {
  readonly defaults: H;
  readonly paramGroups: ParamGroup<H>[] = [];
  /** State per parameter tensor (created lazily on the first step that sees a gradient). */
  readonly state = new Map<Tensor, ParamState>();
  /** The class's name for error messages (a getter, so it works during construction). */
  protected abstract get name(): string;

  constructor(params: Tensor[] | ParamGroupInput<H>[], defaults: H) {
    this.defaults = defaults;
    const groups: ParamGroupInput<H>[] = isTensorList(params)
      ? [{ params } as ParamGroupInput<H>]
      : (params as ParamGroupInput<H>[]);
    if (groups.length === 0) throw new ArgumentError('Optimizer', 'got an empty parameter list');
    for (const g of groups) this.addParamGroup(g);
  }

  /** Checks one group's hyper-parameters; subclasses extend it. */
  protected validate(group: ParamGroup<H>): void {
    if (!Number.isFinite(group.lr) || group.lr < 0)
      throw new ArgumentError(this.name, `lr must be a finite number ≥ 0, got ${group.lr}`);
    if (!Number.isFinite(group.weightDecay) || group.weightDecay < 0)
      throw new ArgumentError(this.name, `weightDecay must be ≥ 0, got ${group.weightDecay}`);
  }

  /** Adds a group (like `add_param_group`); a parameter may belong to one group only. */
  addParamGroup(input: ParamGroupInput<H>): void {
    if (!Array.isArray(input.params) || input.params.length === 0)
      throw new ArgumentError(this.name, 'a parameter group needs a non-empty params array');
    const seen = new Set<Tensor>();
    for (const g of this.paramGroups) for (const p of g.params) seen.add(p);
    const inGroup = new Set<Tensor>();
    for (const p of input.params) {
      if (seen.has(p))
        throw new ArgumentError(this.name, `parameter ${p.toString()} appears in more than one group`);
      if (inGroup.has(p))
        throw new ArgumentError(this.name, `parameter ${p.toString()} appears twice in one group`);
      inGroup.add(p);
    }
    const group = { ...this.defaults, ...stripUndefined(input), params: [...input.params] } as ParamGroup<H>;
    this.validate(group);
    this.paramGroups.push(group);
  }

  /** Clears the gradients of every parameter (like `zero_grad(set_to_none=True)`). */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) p.zeroGrad();
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    noGrad(() => {
      for (const group of this.paramGroups) scope(() => this.updateGroup(group));
    });
  }

  /** Updates one group's params in place (`p.assign`); runs inside `noGrad` and `scope`. */
  protected abstract updateGroup(group: ParamGroup<H>): void;

  /** The state of `p`, created (and kept out of the step's scope) on first use. */
  protected stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (!s) {
      s = {};
      this.state.set(p, s);
    }
    return s;
  }

  /** Sets a state tensor's value: assigns into the existing tensor, or creates a kept one. */
  protected setStateTensor(s: ParamState, key: string, value: Tensor): Tensor {
    const old = s[key];
    if (old !== undefined && typeof old !== 'number') return old.assign(value);
    const t = keep(value.clone());
    s[key] = t;
    return t;
  }

  /** PyTorch's layout: `state` keyed by the parameter's index over all groups, `paramGroups` with indices. */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups: OptimizerStateDict['paramGroups'] = this.paramGroups.map((g) => {
      const { params, ...hyper } = g;
      return {
        ...hyper,
        params: params.map((p) => {
          const i = index.size;
          index.set(p, i);
          return i;
        }),
      };
    });
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i !== undefined) state[i] = { ...s };
    }
    return { state, paramGroups };
  }

  /** Restores what `stateDict` returned (copies tensors, so the source can be disposed). */
  loadStateDict(sd: OptimizerStateDict): void {
    if (sd.paramGroups.length !== this.paramGroups.length)
      throw new ArgumentError(
        this.name,
        `loadStateDict: state has ${sd.paramGroups.length} groups, optimizer has ${this.paramGroups.length}`,
      );
    const byIndex: Tensor[] = [];
    sd.paramGroups.forEach((saved, gi) => {
      const group = this.paramGroups[gi]!;
      if (saved.params.length !== group.params.length)
        throw new ArgumentError(
          this.name,
          `loadStateDict: group ${gi} has ${saved.params.length} params in the state, ${group.params.length} here`,
        );
      saved.params.forEach((idx, j) => {
        byIndex[idx] = group.params[j]!;
      });
      const { params: _ignored, ...hyper } = saved;
      Object.assign(group, hyper);
    });
    for (const s of this.state.values()) disposeState(s);
    this.state.clear();
    for (const [key, saved] of Object.entries(sd.state)) {
      const p = byIndex[Number(key)];
      if (!p) throw new ArgumentError(this.name, `loadStateDict: state for unknown parameter index ${key}`);
      const copy: ParamState = {};
      for (const [name, v] of Object.entries(saved)) {
        if (typeof v === 'number') copy[name] = v;
        else {
          if (v.shape.join() !== p.shape.join() && v.size !== 1)
            throw new ArgumentError(
              this.name,
              `loadStateDict: state '${name}' of param ${key} has shape [${v.shape}], param has [${p.shape}]`,
            );
          copy[name] = keep(v.clone());
        }
      }
      this.state.set(p, copy);
    }
  }
}

function disposeState(s: ParamState): void {
  for (const v of Object.values(s)) if (typeof v !== 'number') v.dispose();
}

function isTensorList(x: unknown[]): x is Tensor[] {
  return x.length > 0 && x.every((v) => typeof v === 'object' && v !== null && !('params' in v));
}
