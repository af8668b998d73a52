/** A float64 GEMM reference with per-element error bounds, shared by the wasm GEMM tests. */

/** op(A)[i, q] for A stored [batch, rows, cols] (transposed: stored [batch, k, m]). */
function opAt(
  v: Float32Array,
  batchIdx: number,
  rows: number,
  cols: number,
  t: boolean,
  i: number,
  q: number,
) {
  const base = batchIdx * rows * cols;
  return t ? v[base + q * cols + i]! : v[base + i * cols + q]!;
}

/**
 * Float64 reference and, per element, the forward error bound of a float32 dot product of length
 * k: |fl(s) − s| ≤ γ_k Σ|aᵢbᵢ| with γ_k ≈ k·2⁻²⁴ (Higham, "Accuracy and Stability of Numerical
 * Algorithms", §3.1), doubled for the reference's own rounding to float32.
 */
export function reference(
  a: Float32Array,
  aShape: [number, number, number],
  b: Float32Array,
  bShape: [number, number, number],
  ta: boolean,
  tb: boolean,
) {
  const [ba, a1, a2] = aShape;
  const [bb, b1, b2] = bShape;
  const [m, k] = ta ? [a2, a1] : [a1, a2];
  const n = tb ? b1 : b2;
  const batch = Math.max(ba, bb);
  const values = new Float64Array(batch * m * n);
  const bound = new Float64Array(batch * m * n);
  for (let p = 0; p < batch; p++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        let abs = 0;
        for (let q = 0; q < k; q++) {
          const x = opAt(a, ba === 1 ? 0 : p, a1, a2, ta, i, q) * opAt(b, bb === 1 ? 0 : p, b1, b2, tb, q, j);
          s += x;
          abs += Math.abs(x);
        }
        values[(p * m + i) * n + j] = s;
        bound[(p * m + i) * n + j] = 2 * (k + 2) * 2 ** -24 * abs + 1e-30;
      }
  return { values, bound, shape: [batch, m, n] };
}
