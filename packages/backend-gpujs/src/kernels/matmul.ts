import { idiv } from '../kernel-source.js';
import { gpujsKernel } from './common.js';

/**
 * One output cell per thread: C[p, i, j] = Σ_k A(p, i, k)·B(p, k, j), with the operands read through
 * strides, so transposed and batch-broadcast operands are never copied.
 */
const SOURCE = `function(a, b, m, n, k, aBatch, aRow, aCol, bBatch, bRow, bCol) {
  const mn = m * n;
  const p = ${idiv('this.thread.x', 'mn')};
  const r = this.thread.x - p * mn;
  const i = ${idiv('r', 'n')};
  const j = r - i * n;
  const ao = p * aBatch + i * aRow;
  const bo = p * bBatch + j * bCol;
  let s = 0;
  for (let q = 0; q < k; q++) {
    s = s + a[ao + q * aCol] * b[bo + q * bRow];
  }
  return s;
}`;

export const matmulKernel = gpujsKernel('BatchMatMul', (backend, [a, b], { transposeA, transposeB }) => {
  const [ba, a1, a2] = a!.shape as [number, number, number];
  const [bb, b1, b2] = b!.shape as [number, number, number];
  const [m, k] = transposeA ? [a2, a1] : [a1, a2];
  const n = transposeB ? b1 : b2;
  // strides of A(i, q) and B(q, j) in their stored layouts
  const [aRow, aCol] = transposeA ? [1, m] : [k, 1];
  const [bRow, bCol] = transposeB ? [1, k] : [n, 1];
  const batch = Math.max(ba, bb);
  return backend.run('BatchMatMul', SOURCE, [batch, m, n], 'float32', [
    backend.arg(a!.dataId),
    backend.arg(b!.dataId),
    m,
    n,
    k,
    ba === 1 ? 0 : m * k,
    aRow,
    aCol,
    bb === 1 ? 0 : k * n,
    bRow,
    bCol,
  ]);
});
