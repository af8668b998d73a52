import type { KernelConfig } from '../../../kernel-registry.js';
import type { CpuBackend } from '../cpu-backend.js';
import { cpuKernel } from './cpu-kernel.js';

const cpu = (b: unknown) => b as CpuBackend;

/** Copies a (possibly transposed) [rows, cols] matrix at `offset` into row-major order. */
function packRows(
  src: ArrayLike<number>,
  offset: number,
  rows: number,
  cols: number,
  transposed: boolean,
): Float32Array {
  const out = new Float32Array(rows * cols);
  if (!transposed) {
    for (let i = 0; i < rows * cols; i++) out[i] = src[offset + i]!;
    return out;
  }
  // src holds [cols, rows]
  for (let i = 0; i < rows; i++)
    for (let k = 0; k < cols; k++) out[i * cols + k] = src[offset + k * rows + i]!;
  return out;
}

/**
 * Reference GEMM: `C = op(A)·op(B)` per batch. Rows of A and C stream contiguously; B is read
 * either as rows (i-k-j order) or, when transposed, as dot products with rows of A.
 */
export const matmulKernel: KernelConfig = cpuKernel('BatchMatMul', ({ inputs: [a, b], attrs, backend }) => {
  const { transposeA, transposeB } = attrs;
  const [ba, a1, a2] = a!.shape as [number, number, number];
  const [bb, b1, b2] = b!.shape as [number, number, number];
  const [m, k] = transposeA ? [a2, a1] : [a1, a2];
  const n = transposeB ? b1 : b2;
  const batch = Math.max(ba, bb);
  const av = cpu(backend).values(a!.dataId);
  const bv = cpu(backend).values(b!.dataId);
  const out = new Float32Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    const A = packRows(av, (ba === 1 ? 0 : p) * m * k, m, k, transposeA);
    const cOff = p * m * n;
    const bOff = (bb === 1 ? 0 : p) * k * n;
    if (transposeB) {
      // B is [n, k]: C[i, j] = A[i, :] · B[j, :]
      for (let i = 0; i < m; i++) {
        const ai = i * k;
        for (let j = 0; j < n; j++) {
          const bj = bOff + j * k;
          let s = 0;
          for (let q = 0; q < k; q++) s += A[ai + q]! * bv[bj + q]!;
          out[cOff + i * n + j] = s;
        }
      }
    } else {
      for (let i = 0; i < m; i++) {
        const ci = cOff + i * n;
        for (let q = 0; q < k; q++) {
          const aiq = A[i * k + q]!;
          const bq = bOff + q * n;
          for (let j = 0; j < n; j++) out[ci + j]! += aiq * bv[bq + j]!;
        }
      }
    }
  }
  return cpu(backend).output(out, [batch, m, n], 'float32');
});
