/**
 * The derivative table: one entry per differentiable kernel, written in terms of ops so that it
 * runs on every backend. Composite ops (softmax, layerNorm, losses, attention) need no entry.
 */
import { ENGINE, getBackend } from '../engine.js';
import type { KernelAttrs } from '../kernel-names.js';
import { getKernel } from '../kernel-registry.js';
import * as ops from '../ops/index.js';
import { sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import type { GradConfig, GradContext } from './gradient-registry.js';

/** Sums `g` down to `shape`, undoing broadcasting (leading dims and size-1 dims). */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length > 0 ? ops.sum(g, axes, true) : g;
  return ops.reshape(summed, shape);
}

type Ctx<N extends keyof KernelAttrs> = GradContext<KernelAttrs[N]>;
const input = (c: GradContext, i = 0): Tensor => c.inputs[i]!;
/** `f()` when input i's gradient is wanted, else null (its work is skipped). */
const ifNeeded = (c: GradContext, i: number, f: () => Tensor): Tensor | null =>
  c.needsInputGrad[i] ? f() : null;
/** Whether the current backend registers an optional fused kernel (the composed form runs otherwise). */
const hasKernel = (name: keyof KernelAttrs): boolean => getKernel(name, getBackend()) !== undefined;

function grad<N extends keyof KernelAttrs>(
  kernelName: N,
  gradFunc: (dy: Tensor, ctx: Ctx<N>) => (Tensor | null)[],
): GradConfig {
  return { kernelName, gradFunc: gradFunc as GradConfig['gradFunc'] };
}

const noGradient = (name: keyof KernelAttrs) => grad(name, (_dy, c) => c.inputs.map(() => null));

/** The gradient of a max/min reduction goes to the arg-extreme entries, split evenly on ties. */
function extremeGrad(dy: Tensor, c: Ctx<'Max'>): Tensor[] {
  const x = input(c);
  const kept = x.shape.map((d, i) => (c.attrs.axes.includes(i) ? 1 : d));
  const y = ops.reshape(c.output, kept);
  const mask = ops.eq(x, y).float();
  const count = ops.sum(mask, c.attrs.axes, true);
  return [mask.div(count).mul(ops.reshape(dy, kept))];
}

function matmulGrad(dy: Tensor, c: Ctx<'BatchMatMul'>): (Tensor | null)[] {
  const [a, b] = [input(c, 0), input(c, 1)];
  const { transposeA: ta, transposeB: tb } = c.attrs;
  const mm = (x: Tensor, y: Tensor, tx: boolean, tyy: boolean) =>
    ENGINE.runKernel('BatchMatMul', [x, y], { transposeA: tx, transposeB: tyy });
  // Each side is one GEMM, computed only when that input wants a gradient (a layer's input
  // activations from data, or frozen weights, cost nothing).
  const da = () => {
    if (!ta) return tb ? mm(dy, b, false, false) : mm(dy, b, false, true);
    return tb ? mm(b, dy, true, true) : mm(b, dy, false, true);
  };
  const db = () => {
    if (!tb) return ta ? mm(a, dy, false, false) : mm(a, dy, true, false);
    return ta ? mm(dy, a, true, true) : mm(dy, a, true, false);
  };
  // A batch of one was broadcast over the others: its gradient is the sum.
  return [ifNeeded(c, 0, () => sumToShape(da(), a.shape)), ifNeeded(c, 1, () => sumToShape(db(), b.shape))];
}

const TABLE: GradConfig[] = [
  grad('Neg', (dy) => [dy.neg()]),
  grad('Exp', (dy, c) => [dy.mul(c.output)]),
  grad('Log', (dy, c) => [dy.div(input(c))]),
  grad('Sqrt', (dy, c) => [dy.div(c.output.mul(2))]),
  grad('Rsqrt', (dy, c) => [dy.mul(c.output.pow(3)).mul(-0.5)]),
  grad('Abs', (dy, c) => [dy.mul(input(c).sign())]),
  grad('Tanh', (dy, c) => [dy.mul(c.output.square().neg().add(1))]),
  grad('Sigmoid', (dy, c) => [dy.mul(c.output.mul(c.output.neg().add(1)))]),
  grad('Relu', (dy, c) =>
    hasKernel('ReluGrad')
      ? [ENGINE.runKernel('ReluGrad', [input(c), dy], {})]
      : [dy.mul(input(c).gt(0).float())],
  ),
  grad('Erf', (dy, c) => [
    dy.mul(
      input(c)
        .square()
        .neg()
        .exp()
        .mul(2 / Math.sqrt(Math.PI)),
    ),
  ]),
  grad('Sin', (dy, c) => [dy.mul(ops.cos(input(c)))]),
  grad('Cos', (dy, c) => [dy.mul(ops.sin(input(c))).neg()]),
  grad('Reciprocal', (dy, c) => [dy.mul(c.output.square()).neg()]),
  grad('Square', (dy, c) => [dy.mul(input(c)).mul(2)]),
  noGradient('Sign'),
  noGradient('Floor'),
  noGradient('Ceil'),
  noGradient('Round'),
  grad('Add', (dy, c) => [
    ifNeeded(c, 0, () => sumToShape(dy, input(c, 0).shape)),
    ifNeeded(c, 1, () => sumToShape(dy, input(c, 1).shape)),
  ]),
  grad('Sub', (dy, c) => [
    ifNeeded(c, 0, () => sumToShape(dy, input(c, 0).shape)),
    ifNeeded(c, 1, () => sumToShape(dy.neg(), input(c, 1).shape)),
  ]),
  grad('Mul', (dy, c) => [
    ifNeeded(c, 0, () => sumToShape(dy.mul(input(c, 1)), input(c, 0).shape)),
    ifNeeded(c, 1, () => sumToShape(dy.mul(input(c, 0)), input(c, 1).shape)),
  ]),
  grad('Div', (dy, c) => {
    const [a, b] = [input(c, 0), input(c, 1)];
    return [
      ifNeeded(c, 0, () => sumToShape(dy.div(b), a.shape)),
      ifNeeded(c, 1, () => sumToShape(dy.mul(a).div(b.square()).neg(), b.shape)),
    ];
  }),
  grad('Pow', (dy, c) => {
    const [a, b] = [input(c, 0), input(c, 1)];
    const da = () => dy.mul(b).mul(a.pow(b.sub(1)));
    // d/db a^b = a^b·ln a, defined for a > 0 (0 elsewhere, as PyTorch does for a = 0).
    const db = () => ops.where(a.gt(0), dy.mul(c.output).mul(ops.log(a.maximum(1e-38))), 0);
    return [ifNeeded(c, 0, () => sumToShape(da(), a.shape)), ifNeeded(c, 1, () => sumToShape(db(), b.shape))];
  }),
  grad('Maximum', (dy, c) => {
    const [a, b] = [input(c, 0), input(c, 1)];
    const wa = ops.where(a.gt(b), 1, ops.where(a.eq(b), 0.5, 0));
    return [sumToShape(dy.mul(wa), a.shape), sumToShape(dy.mul(wa.neg().add(1)), b.shape)];
  }),
  grad('Minimum', (dy, c) => {
    const [a, b] = [input(c, 0), input(c, 1)];
    const wa = ops.where(a.lt(b), 1, ops.where(a.eq(b), 0.5, 0));
    return [sumToShape(dy.mul(wa), a.shape), sumToShape(dy.mul(wa.neg().add(1)), b.shape)];
  }),
  grad('Where', (dy, c) => {
    const [cond, a, b] = [input(c, 0), input(c, 1), input(c, 2)];
    return [
      null,
      ifNeeded(c, 1, () => sumToShape(ops.where(cond, dy, 0), a.shape)),
      ifNeeded(c, 2, () => sumToShape(ops.where(cond, 0, dy), b.shape)),
    ];
  }),
  grad('Cast', (dy, c) => [input(c).dtype === 'float32' ? dy : null]),
  grad('Reshape' as keyof KernelAttrs, (dy, c) => [ops.reshape(dy, input(c).shape)]),
  grad('Sum', (dy, c) => {
    const x = input(c);
    const kept = x.shape.map((d, i) => (c.attrs.axes.includes(i) ? 1 : d));
    return [ops.expand(ops.reshape(dy, kept), x.shape)];
  }),
  grad('Max', extremeGrad),
  grad('Min', (dy, c) => extremeGrad(dy, c as Ctx<'Max'>)),
  grad('Prod', (dy, c) => {
    const x = input(c);
    const kept = x.shape.map((d, i) => (c.attrs.axes.includes(i) ? 1 : d));
    return [ops.reshape(dy, kept).mul(ops.reshape(c.output, kept)).div(x)];
  }),
  grad('BatchMatMul', matmulGrad),
  grad('Transpose', (dy, c) => {
    const inverse = new Array<number>(c.attrs.perm.length);
    c.attrs.perm.forEach((p, i) => {
      inverse[p] = i;
    });
    return [ops.permute(dy, inverse)];
  }),
  grad('BroadcastTo', (dy, c) => [sumToShape(dy, input(c).shape)]),
  grad('Slice', (dy, c) => {
    const x = input(c);
    const pads: [number, number][] = x.shape.map((d, i) => [
      c.attrs.begin[i]!,
      d - c.attrs.begin[i]! - c.attrs.size[i]!,
    ]);
    return [ENGINE.runKernel('Pad', [dy], { pads, value: 0 })];
  }),
  grad('Concat', (dy, c) =>
    ops.split(
      dy,
      c.inputs.map((t) => t.shape[c.attrs.axis]!),
      c.attrs.axis,
    ),
  ),
  grad('Pad', (dy, c) => {
    const x = input(c);
    return [
      ENGINE.runKernel('Slice', [dy], {
        begin: c.attrs.pads.map((p) => p[0]),
        size: [...x.shape],
        step: x.shape.map(() => 1),
      }),
    ];
  }),
  grad('Gather', (dy, c) => {
    const [x, index] = [input(c, 0), input(c, 1)];
    return [ENGINE.runKernel('IndexAdd', [ops.zerosLike(x), index, dy], { axis: c.attrs.axis }), null];
  }),
  grad('IndexAdd', (dy, c) => [
    dy,
    null,
    ENGINE.runKernel('Gather', [dy, input(c, 1)], { axis: c.attrs.axis }),
  ]),
  grad('GatherElements', (dy, c) => {
    const [x, index] = [input(c, 0), input(c, 1)];
    return [ENGINE.runKernel('ScatterAdd', [ops.zerosLike(x), index, dy], { axis: c.attrs.axis }), null];
  }),
  grad('ScatterAdd', (dy, c) => {
    const [index, src] = [input(c, 1), input(c, 2)];
    const picked = ENGINE.runKernel('GatherElements', [dy, index], { axis: c.attrs.axis });
    // index may cover only part of src: the rest of src got no gradient path.
    return [
      dy,
      null,
      sizeOf(index.shape) === sizeOf(src.shape) ? picked : ops.pad(picked, padTo(index.shape, src.shape)),
    ];
  }),
  grad('Im2Col', (dy, c) => {
    // The first convolution's input is data: no Col2Im for it.
    if (!c.needsInputGrad[0]) return [null];
    const x = input(c);
    const { kernelH, kernelW, strideH, strideW, padH, padW, batchInColumns } = c.attrs;
    return [
      ENGINE.runKernel('Col2Im', [dy], {
        kernelH,
        kernelW,
        strideH,
        strideW,
        padH,
        padW,
        channels: x.shape[1]!,
        height: x.shape[2]!,
        width: x.shape[3]!,
        batchInColumns,
      }),
    ];
  }),
  grad('Col2Im', (dy, c) => {
    const { kernelH, kernelW, strideH, strideW, padH, padW, batchInColumns } = c.attrs;
    const geometry = { kernelH, kernelW, strideH, strideW, padH, padW };
    return [ENGINE.runKernel('Im2Col', [dy], { ...geometry, padValue: 0, batchInColumns })];
  }),
  grad('Im2ColNhwc', (dy, c) => {
    if (!c.needsInputGrad[0]) return [null];
    const [batch, height, width, channels] = input(c).shape as [number, number, number, number];
    return [ENGINE.runKernel('Col2ImNhwc', [dy], { ...c.attrs, batch, height, width, channels })];
  }),
  grad('Col2ImNhwc', (dy, c) => {
    const { kernelH, kernelW, strideH, strideW, padH, padW } = c.attrs;
    return [ENGINE.runKernel('Im2ColNhwc', [dy], { kernelH, kernelW, strideH, strideW, padH, padW })];
  }),
  // Fused GELU, by its fused backward kernel where the backend has one, else composed:
  // dx = dy·(Φ(x) + x·φ(x)), or the tanh form's derivative.
  grad('Gelu', (dy, c) => {
    const x = input(c);
    const { approximate } = c.attrs;
    if (hasKernel('GeluGrad')) return [ENGINE.runKernel('GeluGrad', [x, dy], { approximate })];
    if (approximate === 'tanh') {
      const k = Math.sqrt(2 / Math.PI);
      const th = ops.tanh(x.add(x.pow(3).mul(0.044715)).mul(k));
      const du = x
        .square()
        .mul(3 * 0.044715)
        .add(1)
        .mul(k);
      return [
        dy.mul(
          th
            .add(1)
            .mul(0.5)
            .add(x.mul(0.5).mul(th.square().neg().add(1)).mul(du)),
        ),
      ];
    }
    const cdf = ops.erf(x.mul(Math.SQRT1_2)).add(1).mul(0.5);
    const pdf = x
      .square()
      .mul(-0.5)
      .exp()
      .mul(1 / Math.sqrt(2 * Math.PI));
    return [dy.mul(cdf.add(x.mul(pdf)))];
  }),
  // Fused dropout is linear and diagonal: the same mask (redrawn from the same state) applied to dy.
  grad('Dropout', (dy, c) => [ENGINE.runKernel('Dropout', [dy], c.attrs)]),
  // Fused softmax: dx = y · (dy − Σ dy·y), by its fused backward kernel where the backend has one.
  grad('SoftmaxLastAxis', (dy, c) => {
    const y = c.output;
    if (hasKernel('SoftmaxLastAxisGrad')) return [ENGINE.runKernel('SoftmaxLastAxisGrad', [y, dy], {})];
    return [y.mul(dy.sub(dy.mul(y).sum(-1, true)))];
  }),
  // Fused layerNorm, recomputing x̂ from x: dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)), g = dy · w.
  grad('LayerNormLastAxis', (dy, c) => {
    const [x, w] = [input(c, 0), input(c, 1)];
    const { eps } = c.attrs;
    if (hasKernel('LayerNormLastAxisGrad') && hasKernel('LayerNormLastAxisParamGrad')) {
      const dx = ENGINE.runKernel('LayerNormLastAxisGrad', [x, w, dy], { eps });
      const [dw, db] = ops.split(ENGINE.runKernel('LayerNormLastAxisParamGrad', [x, dy], { eps }), 1, 0);
      return [dx, ops.reshape(dw!, w.shape), ops.reshape(db!, w.shape)];
    }
    const mu = x.mean(-1, true);
    const rstd = x.var(-1, { correction: 0, keepDim: true }).add(eps).rsqrt();
    const xhat = x.sub(mu).mul(rstd);
    const g = dy.mul(w);
    const dx = rstd.mul(g.sub(g.mean(-1, true)).sub(xhat.mul(g.mul(xhat).mean(-1, true))));
    return [dx, sumToShape(dy.mul(xhat), w.shape), sumToShape(dy, w.shape)];
  }),
  // Fused batch norm (the statistics come in as an input, computed from x without a tape entry):
  // dx = w·rstd·(dy − mean(dy) − x̂·mean(dy·x̂)) over N·L per channel, dw = Σ dy·x̂, db = Σ dy.
  grad('BatchNormTrain', (dy, c) => {
    const [x, w, , stats] = [input(c, 0), input(c, 1), input(c, 2), input(c, 3)];
    const { eps } = c.attrs;
    const channels = w.shape[0]!;
    if (hasKernel('BatchNormParamGrad') && hasKernel('BatchNormGrad')) {
      const sums = ENGINE.runKernel('BatchNormParamGrad', [x, dy, stats], { eps });
      const dx = ifNeeded(c, 0, () => ENGINE.runKernel('BatchNormGrad', [x, w, dy, stats, sums], { eps }));
      const [dw, db] = ops.split(sums, 1, 0);
      return [dx, ops.reshape(dw!, [channels]), ops.reshape(db!, [channels]), null];
    }
    const [mu, v] = ops.split(stats, 1, 0).map((s) => ops.reshape(s, [1, channels, 1]));
    const rstd = v!.add(eps).rsqrt();
    const xhat = x.sub(mu!).mul(rstd);
    const meanDy = dy.mean([0, 2], true);
    const meanDyXhat = dy.mul(xhat).mean([0, 2], true);
    const dx = ifNeeded(c, 0, () =>
      dy
        .sub(meanDy)
        .sub(xhat.mul(meanDyXhat))
        .mul(rstd)
        .mul(ops.reshape(w, [1, channels, 1])),
    );
    return [
      dx,
      ops.reshape(dy.mul(xhat).sum([0, 2]), [channels]),
      ops.reshape(dy.sum([0, 2]), [channels]),
      null,
    ];
  }),
];

/**
 * What each gradient reads besides `dy` (`GradConfig.saved`): `backward()` refuses to run one whose
 * saved tensors were changed in place since the forward op. Shapes need no saving; a kernel not
 * listed here is checked on every input and its output.
 */
const SHAPES_ONLY = { inputs: [], output: false } as const;
const INPUT = { inputs: [0], output: false } as const;
const OUTPUT = { inputs: [], output: true } as const;
const INPUTS_01 = { inputs: [0, 1], output: false } as const;
const INDEX = { inputs: [1], output: false } as const;
const INPUT_AND_OUTPUT = { inputs: [0], output: true } as const;
const SAVED: Partial<Record<string, NonNullable<GradConfig['saved']>>> = {
  ...Object.fromEntries(
    ['Neg', 'Sign', 'Floor', 'Ceil', 'Round', 'Add', 'Sub', 'Cast', 'Reshape', 'Sum', 'Transpose'].map(
      (k) => [k, SHAPES_ONLY],
    ),
  ),
  ...Object.fromEntries(
    ['BroadcastTo', 'Slice', 'Concat', 'Pad', 'Im2Col', 'Col2Im', 'Im2ColNhwc', 'Col2ImNhwc'].map((k) => [
      k,
      SHAPES_ONLY,
    ]),
  ),
  ...Object.fromEntries(
    ['Exp', 'Sqrt', 'Rsqrt', 'Tanh', 'Sigmoid', 'Reciprocal', 'SoftmaxLastAxis'].map((k) => [k, OUTPUT]),
  ),
  ...Object.fromEntries(['Log', 'Abs', 'Relu', 'Erf', 'Sin', 'Cos', 'Square', 'Gelu'].map((k) => [k, INPUT])),
  ...Object.fromEntries(
    ['Mul', 'Div', 'Maximum', 'Minimum', 'BatchMatMul', 'LayerNormLastAxis'].map((k) => [k, INPUTS_01]),
  ),
  ...Object.fromEntries(['Gather', 'IndexAdd', 'GatherElements', 'ScatterAdd'].map((k) => [k, INDEX])),
  ...Object.fromEntries(['Max', 'Min', 'Prod'].map((k) => [k, INPUT_AND_OUTPUT])),
  Pow: { inputs: [0, 1], output: true },
  Where: { inputs: [0], output: false },
};

export const BUILTIN_GRADIENTS: GradConfig[] = TABLE.map((g) => {
  const saved = SAVED[g.kernelName];
  return saved ? { ...g, saved } : g;
});

function padTo(shape: readonly number[], target: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = shape.length - 1; i >= 0; i--) out.push(0, target[i]! - shape[i]!);
  return out;
}
