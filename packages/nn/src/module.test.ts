import {
  ArgumentError,
  Generator,
  memory,
  ones,
  PolymodalError,
  randn,
  scope,
  type Tensor,
  tensor,
  zeros,
} from '@polymodal/tensor';
import { describe, expect, it } from 'vitest';
import { Identity, ModuleDict, ModuleList, Sequential } from './containers.js';
import { Dropout } from './dropout.js';
import { StateDictError } from './errors.js';
import { Linear } from './linear.js';
import { MLP } from './mlp.js';
import { Module } from './module.js';

class Block extends Module {
  attn = this.registerModule('attn', new Linear(4, 4, { seed: 1 }));
  mlp = this.registerModule(
    'mlp',
    new Sequential(new Linear(4, 8, { seed: 2 }), new Linear(8, 4, { seed: 3 })),
  );
  scale = this.registerParameter('scale', ones([4]))!;
  stats = this.registerBuffer('stats', zeros([4]))!;
  cache = this.registerBuffer('cache', zeros([2]), false)!;
  forward(x: Tensor): Tensor {
    return scope(() => this.mlp.forward(this.attn.forward(x)).mul(this.scale));
  }
}

class Net extends Module {
  layers = this.registerModule('layers', new ModuleList([new Block(), new Block()]));
  head = this.registerModule('head', new Linear(4, 2, { seed: 4 }));
  forward(x: Tensor): Tensor {
    return scope(() => {
      let h = x;
      for (const b of this.layers) h = b.forward(h);
      return this.head.forward(h);
    });
  }
}

describe('Module', () => {
  it('names parameters with dotted paths in registration order', () => {
    const names = new Net().namedParameters().map(([n]) => n);
    expect(names).toEqual([
      'layers.0.scale',
      'layers.0.attn.weight',
      'layers.0.attn.bias',
      'layers.0.mlp.0.weight',
      'layers.0.mlp.0.bias',
      'layers.0.mlp.1.weight',
      'layers.0.mlp.1.bias',
      'layers.1.scale',
      'layers.1.attn.weight',
      'layers.1.attn.bias',
      'layers.1.mlp.0.weight',
      'layers.1.mlp.0.bias',
      'layers.1.mlp.1.weight',
      'layers.1.mlp.1.bias',
      'head.weight',
      'head.bias',
    ]);
    expect(new Net().parameters().every((p) => p.requiresGrad)).toBe(true);
  });

  it('lists a shared parameter once but keeps every key in the state dict', () => {
    class Shared extends Module {
      w = this.registerParameter('w', ones([2]))!;
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const s1 = new Shared();
    const parent = new Sequential(s1, s1);
    expect(parent.parameters()).toHaveLength(1);
    expect(Object.keys(parent.stateDict())).toEqual(['0.w', '1.w']);
  });

  it('puts persistent buffers in the state dict and non-persistent ones only in buffers()', () => {
    const b = new Block();
    expect(b.namedBuffers().map(([n]) => n)).toEqual(['stats', 'cache']);
    const keys = Object.keys(b.stateDict());
    expect(keys).toContain('stats');
    expect(keys).not.toContain('cache');
    expect(b.stateDict()['scale']).toBe(b.scale); // live tensor, not a copy
  });

  it('round-trips a state dict into a fresh module and keeps tensor identity', () => {
    const a = new Net();
    const b = new Net();
    noop(b.head.weight.assign(zeros([2, 4])));
    const before = b.head.weight;
    const r = b.loadStateDict(a.stateDict());
    expect(r).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(b.head.weight).toBe(before);
    expect(b.head.weight.dataSync()).toEqual(a.head.weight.dataSync());
    const x = randn([3, 4], { seed: 9 });
    expect(b.forward(x).dataSync()).toEqual(a.forward(x).dataSync());
  });

  it('reports every missing, unexpected and mis-shaped key in one StateDictError and copies nothing', () => {
    const net = new Net();
    const sd = { ...net.stateDict() };
    delete sd['head.bias'];
    delete sd['layers.1.stats'];
    sd['extra.weight'] = zeros([1]);
    sd['head.weight'] = zeros([3, 4]);
    const original = net.layers.at(0).stateDict()['scale']!.dataSync();
    sd['layers.0.scale'] = full4(7);
    let err: unknown;
    try {
      net.loadStateDict(sd);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StateDictError);
    expect(err).toBeInstanceOf(PolymodalError);
    const e = err as StateDictError;
    expect(e.missingKeys.sort()).toEqual(['head.bias', 'layers.1.stats']);
    expect(e.unexpectedKeys).toEqual(['extra.weight']);
    expect(e.mismatchedKeys).toEqual([{ key: 'head.weight', expected: [2, 4], got: [3, 4] }]);
    expect(e.message).toMatch(/missing keys: .*head\.bias/);
    expect(e.message).toMatch(/unexpected keys: extra\.weight/);
    expect(e.message).toMatch(/head\.weight \(expected \[2,4\], got \[3,4\]\)/);
    // Atomic: the valid key was not copied either.
    expect(net.layers.at(0).stateDict()['scale']!.dataSync()).toEqual(original);
  });

  it('non-strict loading tolerates missing/unexpected keys but never mis-shaped ones', () => {
    const net = new Net();
    const r = net.loadStateDict({ 'head.bias': tensor([5, 6]), junk: zeros([1]) }, { strict: false });
    expect(r.unexpectedKeys).toEqual(['junk']);
    expect(r.missingKeys).toHaveLength(Object.keys(net.stateDict()).length - 1);
    expect(Array.from(net.head.bias!.dataSync())).toEqual([5, 6]);
    expect(() => net.loadStateDict({ 'head.bias': zeros([3]) }, { strict: false })).toThrow(StateDictError);
  });

  it('freezes by glob: * within a segment, ** across, RegExp, and all', () => {
    const net = new Net();
    const trainable = () =>
      net
        .namedParameters()
        .filter(([, p]) => p.requiresGrad)
        .map(([n]) => n);
    net.freeze('layers.*.attn.*');
    expect(trainable()).not.toContain('layers.0.attn.weight');
    expect(trainable()).toContain('layers.0.mlp.0.weight');
    net.unfreeze().freeze('layers.*.weight'); // '*' does not cross dots: matches nothing
    expect(trainable()).toHaveLength(16);
    net.freeze('layers.**.weight');
    expect(trainable()).toEqual([
      'layers.0.scale',
      'layers.0.attn.bias',
      'layers.0.mlp.0.bias',
      'layers.0.mlp.1.bias',
      'layers.1.scale',
      'layers.1.attn.bias',
      'layers.1.mlp.0.bias',
      'layers.1.mlp.1.bias',
      'head.weight',
      'head.bias',
    ]);
    net.unfreeze().freeze(/bias$/);
    expect(trainable().some((n) => n.endsWith('bias'))).toBe(false);
    net.freeze();
    expect(trainable()).toEqual([]);
  });

  it('freeze clears .grad of what it freezes (so no optimizer applies a stale one); unfreeze keeps grads', () => {
    const net = new Net();
    net
      .forward(randn([3, 4], { seed: 9 }))
      .sum()
      .backward();
    const grads = () => new Map(net.namedParameters().map(([n, p]) => [n, p.grad]));
    const before = grads();
    expect([...before.values()].every((g) => g !== null)).toBe(true);
    net.freeze('head.**');
    const after = grads();
    expect([after.get('head.weight'), after.get('head.bias')]).toEqual([null, null]);
    expect(net.head.weight.requiresGrad).toBe(false);
    // Everything not matched keeps the very same grad tensor.
    for (const [n, g] of after) if (!n.startsWith('head.')) expect(g).toBe(before.get(n));
    const kept = net.layers.at(0).attn.weight.grad;
    net.unfreeze();
    expect(net.layers.at(0).attn.weight.grad).toBe(kept);
    expect(net.head.weight.grad).toBeNull();
    expect(net.head.weight.requiresGrad).toBe(true);
  });

  it('train/eval reach every module; apply visits children first', () => {
    const net = new Net();
    net.eval();
    expect(net.modules().every((m) => !m.training)).toBe(true);
    net.train();
    expect(net.modules().every((m) => m.training)).toBe(true);
    const order: string[] = [];
    new Sequential(new Identity(), new Linear(1, 1)).apply((m) => order.push(m.constructor.name));
    expect(order).toEqual(['Identity', 'Linear', 'Sequential']);
  });

  it('navigates and replaces submodules by dotted path, repointing fields', () => {
    const net = new Net();
    expect(net.getSubmodule('layers.1.mlp.0')).toBe(net.layers.at(1).mlp.at(0));
    expect(net.getParameter('layers.0.attn.weight')).toBe(net.layers.at(0).attn.weight);
    expect(() => net.getSubmodule('layers.7')).toThrow(/no submodule 'layers\.7'.*children: 0, 1/);
    expect(() => net.getParameter('head.nope')).toThrow(ArgumentError);
    const replacement = new Linear(4, 4, { seed: 42 });
    net.setSubmodule('layers.0.attn', replacement);
    expect(net.layers.at(0).attn).toBe(replacement); // the field follows
    expect(net.getSubmodule('layers.0.attn')).toBe(replacement);
    const inner = new Linear(4, 8, { seed: 5 });
    net.setSubmodule('layers.1.mlp.0', inner);
    expect(net.layers.at(1).mlp.at(0)).toBe(inner); // the container's list follows
    expect(net.getParameter('layers.1.mlp.0.weight')).toBe(inner.weight);
    expect(() => net.setSubmodule('head.x', new Identity())).toThrow(ArgumentError);
  });

  it('finds every generator held by a module of the tree, by dotted name, shared ones once', () => {
    class Net extends Module {
      drop1 = this.registerModule('drop1', new Dropout(0.1, { seed: 1 }));
      mlp = this.registerModule('mlp', new MLP(4, [8, 2], { dropout: 0.2, seed: 2 }));
      // A layer of one's own that keeps a generator in a field of any name.
      custom = this.registerModule(
        'custom',
        new (class Noise extends Module {
          readonly rng = new Generator(3);
          forward(x: Tensor): Tensor {
            return x;
          }
        })(),
      );
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const net = new Net();
    const named = net.namedGenerators();
    expect(named.map(([n]) => n)).toEqual(['drop1.generator', 'mlp.2.generator', 'custom.rng']);
    expect(named[0]![1]).toBe(net.drop1.generator);
    // MLP passes one generator to both its Dropouts: listed once.
    expect(named[1]![1]).toBe((net.mlp.getSubmodule('4') as Dropout).generator);
    expect(net.generators()).toHaveLength(3);
    expect(net.namedGenerators('model').map(([n]) => n)[0]).toBe('model.drop1.generator');
    expect(new Linear(2, 2, { seed: 0 }).namedGenerators()).toEqual([]);
  });

  it('loadStateDict and name patterns refuse what is not a tensor or a pattern', () => {
    const m = new Linear(2, 2, { seed: 0 });
    expect(() => m.loadStateDict({ weight: 3 as unknown as Tensor, bias: zeros([2]) })).toThrow(
      new ArgumentError('Linear.loadStateDict', "'weight' is number, not a Tensor"),
    );
    expect(() => m.loadStateDict(null as unknown as Record<string, Tensor>)).toThrow(
      /expected an object of tensors/,
    );
    expect(() => m.freeze(undefined as unknown as string)).not.toThrow(); // undefined = all
    expect(() => m.freeze(3 as unknown as string)).toThrow(
      /namePattern: pattern must be a string or a RegExp, got number/,
    );
  });

  it('rejects duplicate or dotted member names', () => {
    class Bad extends Module {
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const m = new Bad();
    m.registerParameter('w', ones([1]));
    expect(() => m.registerModule('w', new Identity())).toThrow(/already used/);
    expect(() => m.registerBuffer('a.b', ones([1]))).toThrow(/without '\.'/);
    expect(() => m.registerParameter('i', tensor([1], { dtype: 'int32' }))).toThrow(/float32/);
  });

  it('keeps parameters of a module built inside a scope alive', () => {
    const fc = scope(() => new Linear(2, 2, { seed: 0 }));
    expect(fc.weight.isDisposed).toBe(false);
    expect(fc.forward(ones([1, 2])).shape).toEqual([1, 2]);
  });

  it('zeroGrad clears grads; forward in a loop does not leak', () => {
    const net = new Net();
    const x = randn([2, 4], { seed: 1 });
    scope(() => net.forward(x).mean().backward());
    expect(net.parameters().every((p) => p.grad !== null)).toBe(true);
    net.zeroGrad();
    expect(net.parameters().every((p) => p.grad === null)).toBe(true);
    const before = memory().tensors;
    for (let i = 0; i < 5; i++) scope(() => net.forward(x).mean().backward());
    net.zeroGrad();
    expect(memory().tensors).toBe(before);
  });
});

describe('containers', () => {
  it('Sequential chains; ModuleList indexes; ModuleDict keys', () => {
    const seq = new Sequential(new Linear(3, 5, { seed: 0 }), new Dropout(0.5), new Identity());
    seq.eval();
    const x = randn([2, 3], { seed: 1 });
    const l0 = seq.at(0) as Linear;
    expect(seq.forward(x).dataSync()).toEqual(l0.forward(x).dataSync());
    expect(seq.length).toBe(3);
    expect(seq.at(-1)).toBeInstanceOf(Identity);
    expect(() => seq.at(3)).toThrow(/out of range/);
    const list = new ModuleList<Linear>();
    expect(() => list.forward()).toThrow(ArgumentError);
    const dict = new ModuleDict({ image: new Linear(2, 2), text: new Linear(3, 2) });
    expect(dict.keys()).toEqual(['image', 'text']);
    expect(Object.keys(dict.stateDict())).toEqual(['image.weight', 'image.bias', 'text.weight', 'text.bias']);
    expect(() => dict.get('audio')).toThrow(/no module 'audio' \(keys: image, text\)/);
    const swapped = new Linear(2, 2);
    dict.set('image', swapped);
    expect(dict.get('image')).toBe(swapped);
    expect(dict.getSubmodule('image')).toBe(swapped);
  });
});

function full4(v: number): Tensor {
  return ones([4]).mul(v);
}

function noop(_t: Tensor): void {}
