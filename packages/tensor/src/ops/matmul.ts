import { ENGINE, scope } from '../engine.js';
import { ShapeError } from '../errors/index.js';
import { broadcastShapes, formatShape, shapesEqual, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { assertTensor } from '../validation.js';
import { asDType } from './operand.js';
import { expand, reshape } from './shape-ops.js';

/**
 * `[..., M, K] × [..., K, N]` on rank-3 views, reading transposed operands in place. Batch dims
 * broadcast; a batch that is all ones is read with stride 0 instead of being copied.
 */
function batchMatMul(a: Tensor, b: Tensor, transposeA: boolean, transposeB: boolean, op: string): Tensor {
  const [m, ka] = transposeA ? [a.shape.at(-1)!, a.shape.at(-2)!] : [a.shape.at(-2)!, a.shape.at(-1)!];
  const [kb, n] = transposeB ? [b.shape.at(-1)!, b.shape.at(-2)!] : [b.shape.at(-2)!, b.shape.at(-1)!];
  if (ka !== kb) {
    throw new ShapeError(
      op,
      `cannot multiply ${formatShape(a.shape)} by ${formatShape(b.shape)}: inner dimensions ${ka} and ${kb} differ`,
    );
  }
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  let batch: number[];
  try {
    batch = broadcastShapes(op, batchA, batchB);
  } catch {
    throw new ShapeError(
      op,
      `cannot multiply ${formatShape(a.shape)} by ${formatShape(b.shape)}: batch dimensions ${formatShape(batchA)} and ${formatShape(batchB)} do not broadcast`,
    );
  }
  return scope(() => {
    const as3 = (t: Tensor, tb: readonly number[]) => {
      if (sizeOf(tb) === 1) return reshape(t, [1, t.shape.at(-2)!, t.shape.at(-1)!]);
      const full = shapesEqual(tb, batch) ? t : expand(t, [...batch, t.shape.at(-2)!, t.shape.at(-1)!]);
      return reshape(full, [sizeOf(batch), t.shape.at(-2)!, t.shape.at(-1)!]);
    };
    // A plain 2-D right operand: fold the left batch into M (one big GEMM, no batch loop).
    if (batchB.length === 0 && !transposeA && batchA.length > 0) {
      const flat = reshape(a, [1, sizeOf(batchA) * m, ka]);
      const out = ENGINE.runKernel('BatchMatMul', [flat, reshape(b, [1, ...b.shape])], {
        transposeA,
        transposeB,
      });
      return reshape(out, [...batchA, m, n]);
    }
    const out = ENGINE.runKernel('BatchMatMul', [as3(a, batchA), as3(b, batchB)], { transposeA, transposeB });
    return reshape(out, [...batch, m, n]);
  });
}

/**
 * Matrix product with PyTorch's rules: 1-D operands are promoted (and the added dim removed),
 * batch dims broadcast.
 *
 * ```ts
 * matmul(randn([8, 4, 3]), randn([3, 5])); // [8, 4, 5]
 * ```
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  assertTensor('matmul', 'input', a);
  assertTensor('matmul', 'other', b);
  if (a.rank === 0 || b.rank === 0) {
    throw new ShapeError(
      'matmul',
      `both arguments need at least 1 dim, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
    );
  }
  return asDType(a, 'float32', (af) =>
    asDType(b, 'float32', (bf) =>
      scope(() => {
        const a2 = af.rank === 1 ? reshape(af, [1, af.shape[0]!]) : af;
        const b2 = bf.rank === 1 ? reshape(bf, [bf.shape[0]!, 1]) : bf;
        if (a2.shape.at(-1) !== b2.shape.at(-2)) {
          throw new ShapeError(
            'matmul',
            `cannot multiply ${formatShape(a.shape)} by ${formatShape(b.shape)}: inner dimensions ${a2.shape.at(-1)} and ${b2.shape.at(-2)} differ`,
          );
        }
        let out = batchMatMul(a2, b2, false, false, 'matmul');
        if (af.rank === 1) out = reshape(out, [...out.shape.slice(0, -2), out.shape.at(-1)!]);
        if (bf.rank === 1) out = reshape(out, out.shape.slice(0, -1));
        return out;
      }),
    ),
  );
}

/**
 * `x · Wᵀ + b` (PyTorch `F.linear`): `x [..., in]`, `weight [out, in]`, `bias [out]`. The weight is
 * read transposed in place, never copied.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  assertTensor('linear', 'input', x);
  assertTensor('linear', 'weight', weight);
  if (weight.rank !== 2)
    throw new ShapeError('linear', `weight must be [out, in], got ${formatShape(weight.shape)}`);
  if (x.rank === 0 || x.shape.at(-1) !== weight.shape[1]) {
    throw new ShapeError(
      'linear',
      `input ${formatShape(x.shape)} has ${x.shape.at(-1)} features but weight ${formatShape(weight.shape)} expects ${weight.shape[1]}`,
    );
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== weight.shape[0])) {
    throw new ShapeError('linear', `bias ${formatShape(bias.shape)} must be [${weight.shape[0]}]`);
  }
  return scope(() => {
    const x2 = x.rank === 1 ? reshape(x, [1, x.shape[0]!]) : x;
    let out = batchMatMul(x2, weight, false, true, 'linear');
    if (x.rank === 1) out = reshape(out, [weight.shape[0]!]);
    return bias ? out.add(bias) : out;
  });
}

/** Matrix product of `op(a)·op(b)` where op transposes the last two dims when asked (no copies). */
export function matmulTransposed(a: Tensor, b: Tensor, transposeA: boolean, transposeB: boolean): Tensor {
  assertTensor('matmul', 'input', a);
  assertTensor('matmul', 'other', b);
  if (a.rank < 2 || b.rank < 2) {
    throw new ShapeError(
      'matmul',
      `matmulTransposed needs rank ≥ 2, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
    );
  }
  return batchMatMul(a, b, transposeA, transposeB, 'matmul');
}
