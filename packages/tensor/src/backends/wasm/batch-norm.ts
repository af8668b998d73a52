import type { TensorInfo } from '../../backend.js';
import type { KernelConfig } from '../../kernel-registry.js';
import type { WasmBackend } from './wasm-backend.js';
import { WasmCall } from './wasm-call.js';

/**
 * Batch normalization's four fused kernels (the JS ones are in ../cpu/kernels/batch-norm.ts) as
 * WebAssembly SIMD passes over tensors in wasm memory: per-channel sums and coefficients in
 * float64, the outputs computed in float64 and rounded once, as the JS kernels do. For `[N, C]`
 * rows (L = 1, the channels-last layout the FiLM blocks use) every sum adds in the JS kernel's
 * order, so all four results are bit-identical to it; for `[N, C, L]` runs the sums are split into
 * four float64 partials per run (within float64 rounding of the JS sums). Declined (the JS kernel
 * runs) unless C (rows) or L (runs) is a multiple of 4, or for other dtypes.
 */

/** `[N, C, L]` of a batch-norm input, and whether the SIMD passes take it. */
function layout(x: TensorInfo): [n: number, c: number, l: number] | null {
  const [n, c, l] = x.shape as [number, number, number];
  if (x.dtype !== 'float32') return null;
  return (l === 1 && c % 4 === 0) || (l > 1 && l % 4 === 0) ? [n, c, l] : null;
}

/** The float32 values of `inputs`, or null when one is stored otherwise. */
function floats(backend: WasmBackend, inputs: readonly TensorInfo[]): Float32Array[] | null {
  const values = inputs.map((t) => backend.values(t.dataId));
  return values.every((v) => v instanceof Float32Array) ? (values as Float32Array[]) : null;
}

/** A scratch float64 array of one call: its address and a view. */
type F64 = [address: number, view: Float64Array];

/**
 * `arrays` × `count` float64s of scratch, zeroed, or null when they do not fit. The views are made
 * after every allocation of the call (a plain memory's growth would detach earlier ones), so call
 * this after the call's inputs and output.
 */
function f64Scratch(call: WasmCall, backend: WasmBackend, arrays: number, count: number): F64[] | null {
  const addresses = Array.from({ length: arrays }, () => call.scratch(2 * count));
  if (addresses.some((at) => at < 0)) return null;
  return addresses.map((at) => {
    const view = new Float64Array(backend.runtime.memory.buffer, at, count);
    view.fill(0);
    return [at, view];
  });
}

/** What each batch-norm kernel body gets: its inputs' float32 values, `[N, C, L]`, eps and a call. */
interface BnArgs {
  backend: WasmBackend;
  values: Float32Array[];
  n: number;
  c: number;
  l: number;
  eps: number;
  call: WasmCall;
  shape: readonly number[];
}

/** A batch-norm kernel: declines what the SIMD passes do not take, frees the call's scratch after. */
function bnKernel(
  kernelName: 'BatchNormStats' | 'BatchNormTrain' | 'BatchNormParamGrad' | 'BatchNormGrad',
  backendName: string,
  body: (args: BnArgs) => TensorInfo | null,
): KernelConfig {
  return {
    kernelName,
    backendName,
    kernelFunc: ({ inputs, attrs, backend: b }) => {
      const backend = b as WasmBackend;
      const dims = layout(inputs[0]!);
      const values = floats(backend, inputs);
      if (!dims || !values) return null;
      const [n, c, l] = dims;
      const eps = (attrs as { eps?: number }).eps ?? 0;
      const call = new WasmCall(backend.runtime);
      try {
        return body({ backend, values, n, c, l, eps, call, shape: inputs[0]!.shape });
      } finally {
        call.end();
      }
    },
  };
}

export function wasmBatchNormKernels(backendName: string): KernelConfig[] {
  const stats = bnKernel('BatchNormStats', backendName, ({ backend, values: [xs], n, c, l, call }) => {
    const m = n * l;
    const xAt = call.input(xs!);
    const scratch = xAt < 0 ? null : f64Scratch(call, backend, 2, c);
    if (!scratch) return null;
    const [mean, acc] = scratch as [F64, F64];
    const bn = backend.runtime.exports;
    bn.bn_sums(xAt, 0, n, c, l, mean[0], mean[0], 0, 0);
    // The variance around the mean, in a second pass (no cancellation).
    for (let ch = 0; ch < c; ch++) mean[1][ch] = mean[1][ch]! / m;
    bn.bn_sums(xAt, 0, n, c, l, mean[0], acc[0], 0, 1);
    const out = new Float32Array(2 * c);
    for (let ch = 0; ch < c; ch++) {
      out[ch] = mean[1][ch]!;
      out[c + ch] = acc[1][ch]! / m;
    }
    return backend.output(out, [2, c], 'float32');
  });
  // y = x·scale + shift with scale = w·rstd, shift = b − mean·scale, per channel.
  const train = bnKernel('BatchNormTrain', backendName, ({ backend, values, n, c, l, eps, call, shape }) => {
    const [xs, ws, bs, ss] = values as [Float32Array, Float32Array, Float32Array, Float32Array];
    const xAt = call.input(xs);
    const out = call.output(xs.length, backend.allocateOutput);
    const scratch = xAt < 0 || out.address < 0 ? null : f64Scratch(call, backend, 2, c);
    if (!scratch) return null;
    const [scale, shift] = scratch as [F64, F64];
    for (let ch = 0; ch < c; ch++) {
      scale[1][ch] = ws[ch]! / Math.sqrt(ss[c + ch]! + eps);
      shift[1][ch] = bs[ch]! - ss[ch]! * scale[1][ch]!;
    }
    backend.runtime.exports.bn_affine(xAt, 0, n, c, l, scale[0], scale[0], shift[0], out.address, 0);
    return backend.output(out.values(), shape, 'float32');
  });
  // [2, C]: Σ dy·x̂ = rstd·Σ dy·(x − mean), and Σ dy, per channel.
  const paramGrad = bnKernel('BatchNormParamGrad', backendName, ({ backend, values, n, c, l, eps, call }) => {
    const [xs, gs, ss] = values as [Float32Array, Float32Array, Float32Array];
    const xAt = call.input(xs);
    const gAt = call.input(gs);
    const scratch = xAt < 0 || gAt < 0 ? null : f64Scratch(call, backend, 3, c);
    if (!scratch) return null;
    const [mean, sumG, sumGx] = scratch as [F64, F64, F64];
    for (let ch = 0; ch < c; ch++) mean[1][ch] = ss[ch]!;
    backend.runtime.exports.bn_sums(xAt, gAt, n, c, l, mean[0], sumG[0], sumGx[0], 2);
    const out = new Float32Array(2 * c);
    for (let ch = 0; ch < c; ch++) {
      out[ch] = sumGx[1][ch]! / Math.sqrt(ss[c + ch]! + eps);
      out[c + ch] = sumG[1][ch]!;
    }
    return backend.output(out, [2, c], 'float32');
  });
  // dx = k·(dy − Σdy/M − x̂·Σ(dy·x̂)/M) with k = w·rstd, as dy·k + x·a + b per channel.
  const grad = bnKernel('BatchNormGrad', backendName, ({ backend, values, n, c, l, eps, call, shape }) => {
    const m = n * l;
    const [xs, ws, gs, ss, ps] = values as [
      Float32Array,
      Float32Array,
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    const xAt = call.input(xs);
    const gAt = call.input(gs);
    const out = call.output(xs.length, backend.allocateOutput);
    const scratch = xAt < 0 || gAt < 0 || out.address < 0 ? null : f64Scratch(call, backend, 3, c);
    if (!scratch) return null;
    const [k, a, shift] = scratch as [F64, F64, F64];
    for (let ch = 0; ch < c; ch++) {
      const rstd = 1 / Math.sqrt(ss[c + ch]! + eps);
      k[1][ch] = ws[ch]! * rstd;
      a[1][ch] = (-k[1][ch]! * rstd * ps[ch]!) / m;
      shift[1][ch] = -a[1][ch]! * ss[ch]! - (k[1][ch]! * ps[c + ch]!) / m;
    }
    backend.runtime.exports.bn_affine(xAt, gAt, n, c, l, k[0], a[0], shift[0], out.address, 1);
    return backend.output(out.values(), shape, 'float32');
  });
  return [stats, train, paramGrad, grad];
}
