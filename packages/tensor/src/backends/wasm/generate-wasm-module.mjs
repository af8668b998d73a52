/**
 * Generates `wasm-module-bytes.ts`: the WebAssembly module of the `wasm` backend (GEMM, packing,
 * elementwise ops), written here as WAT and compiled with wabt, committed as base64 so that no build
 * step or file loading is needed at runtime (Node and browsers alike). Run from packages/tensor
 * after editing the WAT below:
 *
 *   node src/backends/wasm/generate-wasm-module.mjs
 *
 * Two variants are emitted from one text: one importing a shared memory (for the worker pool) and
 * one importing a plain memory (where SharedArrayBuffer is unavailable: browsers that are not
 * cross-origin isolated).
 *
 * The micro-kernel keeps an MR×NR tile of C in f32x4 registers (NR = 8: two vectors per row) and
 * streams packed panels of A ([K][MR] per MR rows) and B ([K][NR] per NR columns), as in BLIS
 * (Van Zee & van de Geijn, "BLIS: A Framework for Rapidly Instantiating BLAS Functionality", 2015).
 * It uses a separate multiply and add (no FMA: WebAssembly SIMD has none outside relaxed SIMD), and
 * every C element sums its K products in order 0..K-1 whatever the blocking or the thread that
 * computes it, so results do not depend on the thread count.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtFactory from 'wabt';

const MR = Number(process.env.GEMM_MR ?? 6);
/** Set while emitting the variant whose micro-kernel uses relaxed SIMD's fused multiply-add. */
let FMA = false;
const NR = 8;

/** Byte offsets of the job parameter block (i32 each) that `run_task` reads. */
const P = {
  aBase: 0,
  aStride: 4,
  bBase: 8,
  bStride: 12,
  cBase: 16,
  cStride: 20,
  mp: 24,
  np: 28,
  k: 32,
  kc: 36,
  mc: 40,
  nc: 44,
  rowBlocks: 48,
  colBlocks: 52,
  // packing (pack_task): raw operands, their per-batch strides in floats, op() strides, sizes
  aRaw: 56,
  bRaw: 60,
  aRawStride: 64,
  bRawStride: 68,
  aPackStride: 72,
  bPackStride: 76,
  soA: 80,
  sqA: 84,
  soB: 88,
  sqB: 92,
  m: 96,
  n: 100,
  aPackTasks: 104,
  // small batched problems (batch_task): items per task, batch, per-item strides in bytes of the raw
  // operands (0: broadcast) and of C, each task's scratch (packed A, packed B, C) and its size
  perTask: 108,
  batch: 112,
  aItemBytes: 116,
  bItemBytes: 120,
  cItemBytes: 124,
  slotBase: 128,
  slotBytes: 132,
  direct: 136,
};

const lines = (n, f) => Array.from({ length: n }, (_, i) => f(i)).join('\n');
const acc = (r, h) => `$c${r}${h}`;
const madd = (a, b, c) =>
  FMA ? `(f32x4.relaxed_madd ${a} ${b} ${c})` : `(f32x4.add ${c} (f32x4.mul ${a} ${b}))`;

function tileFunc() {
  const locals = lines(MR, (r) => `    (local ${acc(r, 0)} v128) (local ${acc(r, 1)} v128)`);
  const loadC = lines(
    MR,
    (r) => `        (local.set ${acc(r, 0)} (v128.load (local.get $p)))
        (local.set ${acc(r, 1)} (v128.load offset=16 (local.get $p)))
        (local.set $p (i32.add (local.get $p) (local.get $ldc)))`,
  );
  const step = lines(
    MR,
    (r) => `      (local.set $a (v128.load32_splat offset=${4 * r} (local.get $ap)))
      (local.set ${acc(r, 0)} ${madd('(local.get $a)', '(local.get $b0)', `(local.get ${acc(r, 0)})`)})
      (local.set ${acc(r, 1)} ${madd('(local.get $a)', '(local.get $b1)', `(local.get ${acc(r, 1)})`)})`,
  );
  const storeC = lines(
    MR,
    (r) => `    (v128.store (local.get $p) (local.get ${acc(r, 0)}))
    (v128.store offset=16 (local.get $p) (local.get ${acc(r, 1)}))
    (local.set $p (i32.add (local.get $p) (local.get $ldc)))`,
  );
  return `
  ;; C[MR×NR] (+)= Apanel[kc][MR] · Bpanel[kc][NR]; ldc in bytes; accum: add to C instead of overwriting.
  (func $tile (param $ap i32) (param $bp i32) (param $cp i32) (param $kc i32) (param $ldc i32) (param $accum i32)
${locals}
    (local $a v128) (local $b0 v128) (local $b1 v128) (local $end i32) (local $p i32)
    (local.set $p (local.get $cp))
    (if (local.get $accum)
      (then
${loadC}
      ))
    (local.set $end (i32.add (local.get $ap) (i32.mul (local.get $kc) (i32.const ${4 * MR}))))
    (block $done
      (loop $k
      (br_if $done (i32.ge_u (local.get $ap) (local.get $end)))
      (local.set $b0 (v128.load (local.get $bp)))
      (local.set $b1 (v128.load offset=16 (local.get $bp)))
${step}
      (local.set $ap (i32.add (local.get $ap) (i32.const ${4 * MR})))
      (local.set $bp (i32.add (local.get $bp) (i32.const ${4 * NR})))
      (br $k)))
    (local.set $p (local.get $cp))
${storeC}
  )`;
}

// ---- elementwise: f32x4 over whole vectors (callers pad buffers to a multiple of 4 floats) ----

const splat = (v) => `(f32x4.splat (f32.const ${v}))`;

/**
 * Loop constants: K(v) names a v128 local holding splat(v), set once at function entry, because V8
 * re-materializes an inline splat or v128.const on every loop iteration. `withConstants` collects
 * the constants a function body used and returns their declarations and initialisation.
 */
let constants = null;
const K = (v) => {
  if (!constants) return splat(v);
  if (!constants.has(v)) constants.set(v, `$k${constants.size}`);
  return `(local.get ${constants.get(v)})`;
};
function withConstants(build) {
  constants = new Map();
  const body = build();
  const used = [...constants];
  constants = null;
  return {
    body,
    locals: used.map(([, name]) => `(local ${name} v128)`).join(' '),
    init: used.map(([v, name]) => `(local.set ${name} ${splat(v)})`).join('\n    '),
  };
}
const UNARY_LOCAL_NAMES = ['$x', '$y', '$e', '$t', '$u', '$n', '$i1', '$i2'];
const UNARY_LOCALS = UNARY_LOCAL_NAMES.map((l) => `(local ${l} v128)`).join(' ');
/** The same locals for a second vector in flight (suffix 2). */
const UNARY_LOCALS_2 = UNARY_LOCAL_NAMES.map((l) => `(local ${l}2 v128)`).join(' ');
/** A body written for the first vector's locals, renamed to the second's. */
const second = (body) => body.replace(/\$(x|y|e|t|u|n|i1|i2)\b/g, '$$$1' + '2');

/**
 * e^x for the f32x4 in local $x, left in local $e (Cephes expf: n = round(x·log2 e), a degree-6
 * polynomial for e^r on |r| ≤ ln2/2, then ·2^n applied as 2^⌊n/2⌋·2^(n−⌊n/2⌋) so that both factors
 * stay normal: overflow gives +Infinity and underflow denormals or 0 like Math.exp). NaN propagates.
 * Written for V8's code generator: pmin/pmax are one instruction each (min/max need NaN fix-ups),
 * and n is rounded by adding 1.5·2²³, whose float bits then hold n as an integer (no nearest or
 * float-to-int conversion sequences).
 */
const ROUND_MAGIC = 12582912; // 1.5·2²³
const EXP = () => `
    (local.set $t (f32x4.pmin (f32x4.pmax (local.get $x) ${K(-104)}) ${K(88.73)}))
    (local.set $i1 (f32x4.add (f32x4.mul (local.get $t) ${K(Math.LOG2E)}) ${K(ROUND_MAGIC)}))
    (local.set $n (f32x4.sub (local.get $i1) ${K(ROUND_MAGIC)}))
    (local.set $t (f32x4.sub (f32x4.sub (local.get $t) (f32x4.mul (local.get $n) ${K(0.693359375)}))
                             (f32x4.mul (local.get $n) ${K(-2.1219444e-4)})))
    (local.set $u ${K(1.98756915e-4)})
${[1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1]
  .map((c) => `    (local.set $u (f32x4.add (f32x4.mul (local.get $u) (local.get $t)) ${K(c)}))`)
  .join('\n')}
    (local.set $u (f32x4.add (f32x4.add (f32x4.mul (local.get $u) (f32x4.mul (local.get $t) (local.get $t)))
                                        (local.get $t)) ${K(1)}))
    (local.set $i1 (i32x4.sub (local.get $i1) (i32x4.splat (i32.const 0x4b400000))))
    (local.set $i2 (i32x4.shr_s (local.get $i1) (i32.const 1)))
    (local.set $i1 (i32x4.sub (local.get $i1) (local.get $i2)))
    (local.set $e (f32x4.mul
      (f32x4.mul (local.get $u) (i32x4.shl (i32x4.add (local.get $i1) (i32x4.splat (i32.const 127))) (i32.const 23)))
      (i32x4.shl (i32x4.add (local.get $i2) (i32x4.splat (i32.const 127))) (i32.const 23))))`;

/** Per op: WAT that reads local $x and leaves the result in local $y. */
const UNARY_OPS = {
  relu: () => '(local.set $y (f32x4.max (local.get $x) (v128.const i32x4 0 0 0 0)))',
  exp: () => `${EXP()}
    (local.set $y (local.get $e))`,
  // 1/(1+e^−|x|) for x ≥ 0, e^−|x|/(1+e^−|x|) below: the same two forms as the JS kernel.
  sigmoid: () => `
    (local.set $y (local.get $x))
    (local.set $x (f32x4.neg (f32x4.abs (local.get $x))))${EXP()}
    (local.set $t (f32x4.div ${K(1)} (f32x4.add ${K(1)} (local.get $e))))
    (local.set $y (v128.bitselect (local.get $t) (f32x4.mul (local.get $e) (local.get $t))
                                  (f32x4.ge (local.get $y) ${K(0)})))`,
  // Cephes tanhf: an odd polynomial below |x| = 0.625, else sign(x)·(1 − 2/(e^{2|x|} + 1)).
  tanh: () => `
    (local.set $y (local.get $x))
    (local.set $x (f32x4.mul (f32x4.abs (local.get $y)) ${K(2)}))${EXP()}
    (local.set $t (f32x4.sub ${K(1)} (f32x4.div ${K(2)} (f32x4.add (local.get $e) ${K(1)}))))
    (local.set $x (f32x4.mul (local.get $y) (local.get $y)))
    (local.set $u ${K(-5.70498872745e-3)})
${[2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1]
  .map((c) => `    (local.set $u (f32x4.add (f32x4.mul (local.get $u) (local.get $x)) ${K(c)}))`)
  .join('\n')}
    (local.set $u (f32x4.add (f32x4.mul (f32x4.mul (local.get $u) (local.get $x)) (local.get $y)) (local.get $y)))
    (local.set $t (v128.bitselect (local.get $t) (local.get $u)
                                  (f32x4.gt (f32x4.abs (local.get $y)) ${K(0.625)})))
    ;; tanh is odd: the magnitude from above with x's sign (which also keeps tanh(−0) = −0)
    (local.set $y (v128.bitselect (local.get $y) (local.get $t) (i32x4.splat (i32.const 0x80000000))))`,
  // GELU, exact form x·Φ(x): Φ from erfc by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), as
  // Φ(−|x|) = ½·P(t)·t·e^{−x²/2} with t = 1/(1 + p·|x|/√2), so the small tail for x < 0 keeps its
  // relative accuracy (1 − erf would cancel). Same formula as the JS kernel (cpu/kernels/gelu.ts).
  gelu: () => `
    (local.set $y (local.get $x))
    (local.set $x (f32x4.neg (f32x4.mul (f32x4.mul (local.get $y) (local.get $y)) ${K(0.5)})))${EXP()}
    ${PHI('$y')}
    (local.set $y (f32x4.mul (local.get $y) (local.get $t)))`,
};

/** A&S 7.1.26 coefficients, highest power first, and p. */
const ERFC_POLY = [1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592];
const ERFC_P = 0.3275911;
/**
 * Φ(v) into local $t, for v in the local named by `v` and $e = e^{−v²/2} already computed (uses $t and $u):
 * q = ½·P(t)·t·e is Φ(−|v|); Φ(v) = 1 − q for v ≥ 0, q below.
 */
const PHI = (v) => `
    (local.set $t (f32x4.div ${K(1)} (f32x4.add ${K(1)} (f32x4.mul (f32x4.abs (local.get ${v})) ${K(ERFC_P * Math.SQRT1_2)}))))
    (local.set $u ${K(ERFC_POLY[0])})
${ERFC_POLY.slice(1)
  .map((c) => `    (local.set $u (f32x4.add (f32x4.mul (local.get $u) (local.get $t)) ${K(c)}))`)
  .join('\n')}
    (local.set $u (f32x4.mul (f32x4.mul (f32x4.mul (local.get $u) (local.get $t)) (local.get $e)) ${K(0.5)}))
    (local.set $t (v128.bitselect (f32x4.sub ${K(1)} (local.get $u)) (local.get $u)
                                  (f32x4.ge (local.get ${v}) ${K(0)})))`;

/**
 * GELU's backward, dx = dy·(Φ(x) + x·φ(x)) with φ(x) = e^{−x²/2}/√(2π), for same-shape x (a) and
 * dy (b); the binary ops' signature, mode ignored (the driver passes only mode 0).
 */
function geluGradFunc() {
  const { body, locals, init } = withConstants(
    () => `
        (local.set $y (v128.load (local.get $a)))
        (local.set $x (f32x4.neg (f32x4.mul (f32x4.mul (local.get $y) (local.get $y)) ${K(0.5)})))${EXP()}
        ${PHI('$y')}
        ;; x·φ(x), with 0 where e underflowed (as |x| → ∞; ∞·0 would give NaN)
        (local.set $u (v128.andnot (f32x4.mul (f32x4.mul (local.get $y) (local.get $e)) ${K(1 / Math.sqrt(2 * Math.PI))})
                                   (f32x4.eq (local.get $e) ${K(0)})))
        (local.set $t (f32x4.add (local.get $t) (local.get $u)))
        (v128.store (local.get $dst) (f32x4.mul (v128.load (local.get $b)) (local.get $t)))`,
  );
  return `
  ;; dst = gelu'(a)·b over 4·count floats (a = x, b = dy, same shape)
  (func (export "gelu_grad") (param $a i32) (param $b i32) (param $dst i32) (param $count i32) (param $mode i32)
    ${UNARY_LOCALS} ${locals} (local $end i32)
    ${init}
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $count) (i32.const 4))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))${body}
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $next))))`;
}

/**
 * One Adam/AdamW update over 4·count floats, bit for bit the cpu kernel's float32 arithmetic
 * (cpu/kernels/adam-step.ts; no FMA, same operation order): params p, g, m, v in, the new p, m, v
 * out. `decay` is 1 unless the decay is decoupled (p·1 = p exactly); `mode` bit 0 negates the
 * gradient (maximize), bit 1 adds wd·p to it (L2 decay, selected so that g stays untouched otherwise).
 */
function adamStepFunc() {
  const f = (name) => `(f32x4.splat (local.get $${name}))`;
  return `
  (func (export "adam_step") (param $p i32) (param $g i32) (param $m i32) (param $v i32)
    (param $op i32) (param $om i32) (param $ov i32) (param $count i32)
    (param $decay f32) (param $wd f32) (param $oneMinusB1 f32) (param $b2 f32) (param $oneMinusB2 f32)
    (param $bc2Sqrt f32) (param $eps f32) (param $negStep f32) (param $mode i32)
    (local $end i32) (local $sign v128) (local $l2 v128)
    (local $kDecay v128) (local $kWd v128) (local $kB1 v128) (local $kB2 v128) (local $kOneMinusB2 v128)
    (local $kBc2 v128) (local $kEps v128) (local $kStep v128)
    (local $pi v128) (local $gi v128) (local $mi v128) (local $vi v128)
    (local.set $sign (i32x4.splat (i32.shl (i32.and (local.get $mode) (i32.const 1)) (i32.const 31))))
    (local.set $l2 (i32x4.splat (i32.sub (i32.const 0) (i32.and (i32.shr_u (local.get $mode) (i32.const 1)) (i32.const 1)))))
    (local.set $kDecay ${f('decay')}) (local.set $kWd ${f('wd')}) (local.set $kB1 ${f('oneMinusB1')})
    (local.set $kB2 ${f('b2')}) (local.set $kOneMinusB2 ${f('oneMinusB2')}) (local.set $kBc2 ${f('bc2Sqrt')})
    (local.set $kEps ${f('eps')}) (local.set $kStep ${f('negStep')})
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $count) (i32.const 4))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $pi (v128.load (local.get $p)))
        (local.set $gi (v128.xor (v128.load (local.get $g)) (local.get $sign)))
        (local.set $gi (v128.bitselect (f32x4.add (local.get $gi) (f32x4.mul (local.get $pi) (local.get $kWd)))
                                       (local.get $gi) (local.get $l2)))
        (local.set $pi (f32x4.mul (local.get $pi) (local.get $kDecay)))
        (local.set $mi (v128.load (local.get $m)))
        (local.set $mi (f32x4.add (local.get $mi) (f32x4.mul (f32x4.sub (local.get $gi) (local.get $mi)) (local.get $kB1))))
        (local.set $vi (f32x4.add (f32x4.mul (v128.load (local.get $v)) (local.get $kB2))
                                  (f32x4.mul (f32x4.mul (local.get $gi) (local.get $gi)) (local.get $kOneMinusB2))))
        (v128.store (local.get $op)
          (f32x4.add (local.get $pi)
            (f32x4.mul (f32x4.div (local.get $mi)
                                  (f32x4.add (f32x4.div (f32x4.sqrt (local.get $vi)) (local.get $kBc2)) (local.get $kEps)))
                       (local.get $kStep))))
        (v128.store (local.get $om) (local.get $mi))
        (v128.store (local.get $ov) (local.get $vi))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $g (i32.add (local.get $g) (i32.const 16)))
        (local.set $m (i32.add (local.get $m) (i32.const 16)))
        (local.set $v (i32.add (local.get $v) (i32.const 16)))
        (local.set $op (i32.add (local.get $op) (i32.const 16)))
        (local.set $om (i32.add (local.get $om) (i32.const 16)))
        (local.set $ov (i32.add (local.get $ov) (i32.const 16)))
        (br $next))))`;
}

function unaryFuncs() {
  return Object.entries(UNARY_OPS)
    .map(([name, op]) => {
      const { body, locals, init } = withConstants(op);
      // Two vectors per iteration: two independent dependency chains for the out-of-order core
      // (the exp polynomial is a long serial chain); an odd last vector runs alone.
      return `
  ;; dst[i] = ${name}(src[i]) for 4·count floats (byte addresses)
  (func $u_${name} (export "${name}") (param $src i32) (param $dst i32) (param $count i32)
    ${UNARY_LOCALS} ${UNARY_LOCALS_2} ${locals} (local $end i32)
    ${init}
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $count) (i32.const 4))))
    (block $pairsDone
      (loop $pairs
        (br_if $pairsDone (i32.gt_u (i32.add (local.get $src) (i32.const 32)) (local.get $end)))
        (local.set $x (v128.load (local.get $src)))
        (local.set $x2 (v128.load offset=16 (local.get $src)))${body}${second(body)}
        (v128.store (local.get $dst) (local.get $y))
        (v128.store offset=16 (local.get $dst) (local.get $y2))
        (local.set $src (i32.add (local.get $src) (i32.const 32)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (br $pairs)))
    (if (i32.lt_u (local.get $src) (local.get $end))
      (then
        (local.set $x (v128.load (local.get $src)))${body}
        (v128.store (local.get $dst) (local.get $y)))))`;
    })
    .join('\n');
}

/** Binary ops: one loop per operand layout (mode 0: both runs, 1: b one value, 2: a one value). */
const BINARY_OPS = {
  add: (a, b) => `(f32x4.add ${a} ${b})`,
  sub: (a, b) => `(f32x4.sub ${a} ${b})`,
  mul: (a, b) => `(f32x4.mul ${a} ${b})`,
  // relu's backward: b (dy) where a (x) > 0, else +0 — a mask, so no branch to mispredict
  relu_grad: (a, b) => `(v128.and ${b} (f32x4.gt ${a} (v128.const i32x4 0 0 0 0)))`,
};

function binaryFuncs() {
  const loop = (op, label, a, b) => `
        (block $${label}Done
          (loop $${label}
            (br_if $${label}Done (i32.ge_u (local.get $dst) (local.get $end)))
            (v128.store (local.get $dst) ${op(a, b)})
            (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
            ${a.includes('$a)') ? '(local.set $a (i32.add (local.get $a) (i32.const 16)))' : ''}
            ${b.includes('$b)') ? '(local.set $b (i32.add (local.get $b) (i32.const 16)))' : ''}
            (br $${label})))`;
  const va = '(v128.load (local.get $a))';
  const vb = '(v128.load (local.get $b))';
  const sa = '(local.get $sa)';
  const sb = '(local.get $sb)';
  return Object.entries(BINARY_OPS)
    .map(
      ([name, op]) => `
  ;; dst = a ${name} b over 4·count floats; a single value (splatted) stands for a broadcast operand
  (func (export "${name}") (param $a i32) (param $b i32) (param $dst i32) (param $count i32) (param $mode i32)
    (local $end i32) (local $sa v128) (local $sb v128)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $count) (i32.const 4))))
    (local.set $sa (v128.load32_splat (local.get $a)))
    (local.set $sb (v128.load32_splat (local.get $b)))
    (block $dispatch
      (if (i32.eq (local.get $mode) (i32.const 0)) (then ${loop(op, 'vv', va, vb)} (br $dispatch)))
      (if (i32.eq (local.get $mode) (i32.const 1)) (then ${loop(op, 'vs', va, sb)} (br $dispatch)))
      (if (i32.eq (local.get $mode) (i32.const 2)) (then ${loop(op, 'sv', sa, vb)} (br $dispatch)))
      ${loop(op, 'ss', sa, sb)}))`,
    )
    .join('\n');
}

/** Byte offsets of the i32 parameters of an elementwise job (see `unary_task`). */
const UP = { op: 0, src: 4, dst: 8, count: 12, chunk: 16 };

/** Task t of an elementwise job: vectors [t·chunk, (t+1)·chunk) of op (an index into UNARY_OPS). */
function unaryTaskFunc() {
  const g = (k) => `(i32.load offset=${UP[k]} (local.get $params))`;
  const calls = Object.keys(UNARY_OPS)
    .map(
      (name, i) => `
    (if (i32.eq ${g('op')} (i32.const ${i}))
      (then (call $u_${name} (i32.add ${g('src')} (local.get $off)) (i32.add ${g('dst')} (local.get $off)) (local.get $n))))`,
    )
    .join('');
  return `
  (func (export "unary_task") (param $params i32) (param $t i32)
    (local $v0 i32) (local $n i32) (local $off i32)
    (local.set $v0 (i32.mul (local.get $t) ${g('chunk')}))
    (local.set $n (i32.sub ${g('count')} (local.get $v0)))
    (if (i32.gt_u (local.get $n) ${g('chunk')}) (then (local.set $n ${g('chunk')})))
    (local.set $off (i32.shl (local.get $v0) (i32.const 4)))${calls})`;
}

/**
 * Byte offsets of a dropout job's parameters (see `dropout_task`): i32 addresses and counts, the
 * keep threshold on the draw's 24 bits (keep where bits ≥ threshold), the float32 scale 1/(1−p) and
 * the generator's 64-bit PCG state before the first draw.
 */
const DP = { src: 0, dst: 4, count: 8, chunk: 12, threshold: 16, scale: 20, state: 24 };
const PCG_MULT = '6364136223846793005';
const PCG_INC = '1442695040888963407';
const MASK64 = (1n << 64n) - 1n;
/** Four PCG steps as one: state · A⁴ + C·(A³ + A² + A + 1), mod 2^64, as wasm hex literals. */
const [PCG_MULT4, PCG_INC4] = (() => {
  const a = BigInt(PCG_MULT);
  const c = BigInt(PCG_INC);
  const a2 = (a * a) & MASK64;
  const c2 = ((a + 1n) * c) & MASK64;
  return [(a2 * a2) & MASK64, ((a2 + 1n) * c2) & MASK64].map((v) => `0x${v.toString(16)}`);
})();
const pcgStep = (state) => `(i64.add (i64.mul ${state} (i64.const ${PCG_MULT})) (i64.const ${PCG_INC}))`;
const pcgStep4 = (state) => `(i64.add (i64.mul ${state} (i64.const ${PCG_MULT4})) (i64.const ${PCG_INC4}))`;
/** x · (scale or 0) at byte offset `at` for the draw PCG-XSH-RR outputs from `state`, as `dropout_task` keeps it. */
const dropoutStore = (state, at) => `
        (f32.store offset=${at} (local.get $dst)
          (f32.mul (f32.load offset=${at} (local.get $src))
            (select (local.get $scale) (f32.const 0)
              (i32.ge_u
                (i32.shr_u
                  (i32.rotr
                    (i32.wrap_i64 (i64.shr_u (i64.xor (i64.shr_u (local.get ${state}) (i64.const 18)) (local.get ${state})) (i64.const 27)))
                    (i32.wrap_i64 (i64.shr_u (local.get ${state}) (i64.const 59))))
                  (i32.const 8))
                (local.get $threshold)))))`;

/**
 * Inverted dropout fused with its mask: element i draws the generator's i-th uniform (PCG-XSH-RR,
 * the stream `Generator.fillUniform` gives) and writes x·scale or x·0. Task t starts the stream
 * t·chunk draws ahead by PCG's jump-ahead (Brown, "Random number generation with arbitrary
 * strides", 1994), so the result is the same on any number of threads.
 */
function dropoutTaskFunc() {
  const g = (k) => `(i32.load offset=${DP[k]} (local.get $params))`;
  return `
  (func (export "dropout_task") (param $params i32) (param $t i32)
    (local $i i32) (local $end i32) (local $state i64)
    (local $am i64) (local $ap i64) (local $cm i64) (local $cp i64) (local $delta i32) (local $s1 i64) (local $s2 i64) (local $s3 i64)
    (local $threshold i32) (local $scale f32) (local $src i32) (local $dst i32)
    (local.set $i (i32.mul (local.get $t) ${g('chunk')}))
    (local.set $end (i32.add (local.get $i) ${g('chunk')}))
    (if (i32.gt_u (local.get $end) ${g('count')}) (then (local.set $end ${g('count')})))
    ;; jump ahead i draws: state · A^i + C·(A^i − 1)/(A − 1), by squaring
    (local.set $am (i64.const 1))
    (local.set $ap (i64.const 0))
    (local.set $cm (i64.const ${PCG_MULT}))
    (local.set $cp (i64.const ${PCG_INC}))
    (local.set $delta (local.get $i))
    (block $jumped
      (loop $jump
        (br_if $jumped (i32.eqz (local.get $delta)))
        (if (i32.and (local.get $delta) (i32.const 1))
          (then
            (local.set $am (i64.mul (local.get $am) (local.get $cm)))
            (local.set $ap (i64.add (i64.mul (local.get $ap) (local.get $cm)) (local.get $cp)))))
        (local.set $cp (i64.mul (i64.add (local.get $cm) (i64.const 1)) (local.get $cp)))
        (local.set $cm (i64.mul (local.get $cm) (local.get $cm)))
        (local.set $delta (i32.shr_u (local.get $delta) (i32.const 1)))
        (br $jump)))
    (local.set $state (i64.add (i64.mul (local.get $am) (i64.load offset=${DP.state} (local.get $params))) (local.get $ap)))
    (local.set $threshold ${g('threshold')})
    (local.set $scale (f32.load offset=${DP.scale} (local.get $params)))
    (local.set $src (i32.add ${g('src')} (i32.shl (local.get $i) (i32.const 2))))
    (local.set $dst (i32.add ${g('dst')} (i32.shl (local.get $i) (i32.const 2))))
    ;; four interleaved chains (states i, i+1, i+2, i+3, each stepping 4 draws at once), so the
    ;; multiplies overlap instead of waiting on one another; then one draw at a time for the rest
    (local.set $s1 ${pcgStep('(local.get $state)')})
    (local.set $s2 ${pcgStep('(local.get $s1)')})
    (local.set $s3 ${pcgStep('(local.get $s2)')})
    (block $quadsDone
      (loop $quads
        (br_if $quadsDone (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $end)))${[
          '$state',
          '$s1',
          '$s2',
          '$s3',
        ]
          .map((st, j) => dropoutStore(st, j * 4))
          .join('')}
        (local.set $state ${pcgStep4('(local.get $state)')})
        (local.set $s1 ${pcgStep4('(local.get $s1)')})
        (local.set $s2 ${pcgStep4('(local.get $s2)')})
        (local.set $s3 ${pcgStep4('(local.get $s3)')})
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $quads)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))${dropoutStore('$state', 0)}
        (local.set $state ${pcgStep('(local.get $state)')})
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))`;
}

/**
 * Loops over columns [$c, $end) in blocks of each width in turn, widest first (the wide kernel
 * while a whole block is left, then the narrow one for the rest): `body(width)` handles one block
 * starting at column $c, which the loop then advances.
 */
const columnBlocks = (widths, body) =>
  widths
    .map(
      (w) => `
    (block $cols${w}Done
      (loop $cols${w}
        (br_if $cols${w}Done (i32.gt_u (i32.add (local.get $c) (i32.const ${w})) (local.get $end)))${body(w)}
        (local.set $c (i32.add (local.get $c) (i32.const ${w})))
        (br $cols${w})))`,
    )
    .join('');

/**
 * Byte offsets of a column-sum job's i32 parameters (see `colsum_task`): x is [outer, rows, inner]
 * (inner a multiple of 4), the output [outer, inner]; a task sums `chunk` columns of one outer slice.
 */
const CP = { src: 0, dst: 4, outer: 8, rows: 12, inner: 16, chunk: 20 };

/**
 * Sum over the middle axis of [outer, rows, inner] in float64 lanes (f64x2), each column adding its
 * rows in order 0..rows−1 and rounded to float32 once: the same operations as the JS kernel, so the
 * same bits, whatever the split of columns over tasks. Sixteen columns (eight f64x2 sums) per pass.
 */
function colsumFuncs() {
  const lanes = (n) => Array.from({ length: n }, (_, i) => i);
  const accs = (n) =>
    lanes(n)
      .map((i) => `(local $a${i} v128)`)
      .join(' ');
  const addRow = (n) =>
    lanes(n / 2)
      .map(
        (v) => `
        (local.set $v (v128.load offset=${v * 16} (local.get $p)))
        (local.set $a${2 * v} (f64x2.add (local.get $a${2 * v}) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $a${2 * v + 1} (f64x2.add (local.get $a${2 * v + 1})
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))`,
      )
      .join('');
  const store = (n) =>
    lanes(n / 2)
      .map(
        (v) => `
    (v128.store64_lane offset=${v * 16} 0 (local.get $dst) (f32x4.demote_f64x2_zero (local.get $a${2 * v})))
    (v128.store64_lane offset=${v * 16 + 8} 0 (local.get $dst) (f32x4.demote_f64x2_zero (local.get $a${2 * v + 1})))`,
      )
      .join('');
  const func = (cols) => {
    const n = cols / 2; // f64x2 accumulators
    return `
  ;; Sums ${cols} columns starting at $src over $rows rows $stride bytes apart into $dst.
  (func $colsum${cols} (param $src i32) (param $dst i32) (param $rows i32) (param $stride i32)
    (local $p i32) (local $r i32) (local $v v128) ${accs(n)}
    ${lanes(n)
      .map((i) => `(local.set $a${i} (v128.const i64x2 0 0))`)
      .join(' ')}
    (local.set $p (local.get $src))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))${addRow(n)}
        (local.set $p (i32.add (local.get $p) (local.get $stride)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row)))${store(n)})`;
  };
  const g = (k) => `(i32.load offset=${CP[k]} (local.get $params))`;
  return `${func(16)}
${func(4)}

  ;; Task t: columns [c0, c0 + chunk) of outer slice o, sixteen at a time, then four at a time.
  (func (export "colsum_task") (param $params i32) (param $t i32)
    (local $blocks i32) (local $o i32) (local $c i32) (local $end i32) (local $src i32) (local $dst i32) (local $stride i32)
    (local.set $blocks (i32.div_u (i32.add ${g('inner')} (i32.sub ${g('chunk')} (i32.const 1))) ${g('chunk')}))
    (local.set $o (i32.div_u (local.get $t) (local.get $blocks)))
    (local.set $c (i32.mul (i32.rem_u (local.get $t) (local.get $blocks)) ${g('chunk')}))
    (local.set $end (i32.add (local.get $c) ${g('chunk')}))
    (if (i32.gt_u (local.get $end) ${g('inner')}) (then (local.set $end ${g('inner')})))
    (local.set $stride (i32.shl ${g('inner')} (i32.const 2)))
    (local.set $src (i32.add ${g('src')} (i32.shl (i32.add (i32.mul (i32.mul (local.get $o) ${g('rows')}) ${g('inner')}) (local.get $c)) (i32.const 2))))
    (local.set $dst (i32.add ${g('dst')} (i32.shl (i32.add (i32.mul (local.get $o) ${g('inner')}) (local.get $c)) (i32.const 2))))
${columnBlocks(
  [16, 4],
  (w) => `
        (call $colsum${w} (local.get $src) (local.get $dst) ${g('rows')} (local.get $stride))
        (local.set $src (i32.add (local.get $src) (i32.const ${4 * w})))
        (local.set $dst (i32.add (local.get $dst) (i32.const ${4 * w})))`,
)})`;
}

/** Byte offsets of the parameters of a row-wise job (see `rows_task`); eps is an f32. */
const RP = { op: 0, src: 4, dst: 8, w: 12, b: 16, rows: 20, d: 24, eps: 28, chunk: 32, eps64: 40 };
/** Row-wise kernels, by their index in RP.op. */
const ROW_OPS = ['softmax', 'layernorm', 'layernorm_grad', 'layernorm_stats'];

const hsum = (v) =>
  `(f32.add (f32.add (f32x4.extract_lane 0 ${v}) (f32x4.extract_lane 1 ${v})) (f32.add (f32x4.extract_lane 2 ${v}) (f32x4.extract_lane 3 ${v})))`;
const hmax = (v) =>
  `(f32.max (f32.max (f32x4.extract_lane 0 ${v}) (f32x4.extract_lane 1 ${v})) (f32.max (f32x4.extract_lane 2 ${v}) (f32x4.extract_lane 3 ${v})))`;

/**
 * Softmax and layerNorm of rows of d floats (d a multiple of 4): max / exp-and-sum / scale, and
 * mean / variance / normalize-scale-shift, each pass one f32x4 loop (sums in four float32 lanes).
 */
function rowFuncs() {
  const softmaxRow = () => {
    const { body, locals, init } = withConstants(() => SOFTMAX_BODY());
    return `  (func $softmax_row (param $src i32) (param $dst i32) (param $d i32)
    ${UNARY_LOCALS} ${UNARY_LOCALS_2} ${locals} (local $j i32) (local $bytes i32) (local $acc v128) (local $acc2 v128) (local $m f32)
    ${init}${body})`;
  };
  const vloop = (label, body) => `
    (local.set $j (i32.const 0))
    (block $${label}Done
      (loop $${label}
        (br_if $${label}Done (i32.ge_u (local.get $j) (local.get $bytes)))
${body}
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $${label})))`;
  const at = (base) => `(i32.add (local.get ${base}) (local.get $j))`;
  const SOFTMAX_BODY = () => `
    (local.set $bytes (i32.shl (local.get $d) (i32.const 2)))
    ;; pmax (acc < x ? x : acc) skips NaN like the JS kernel's \`x > m\`; NaN rows still come out NaN.
    (local.set $acc ${splat('-inf')})${vloop('max', `        (local.set $acc (f32x4.pmax (local.get $acc) (v128.load ${at('$src')})))`)}
    (local.set $m ${hmax('(local.get $acc)')})
    ;; an all −∞ row: exp(−∞ − 0) = 0, then 0/0, as the composed op gives
    (if (f32.eq (local.get $m) (f32.const -inf)) (then (local.set $m (f32.const 0))))
    (local.set $y (f32x4.splat (local.get $m)))
    ;; exp(x − max) two vectors at a time (two dependency chains, two partial sums), then an odd last one
    (local.set $acc ${splat(0)})
    (local.set $acc2 ${splat(0)})
    (local.set $j (i32.const 0))
    (block $pairsDone
      (loop $pairs
        (br_if $pairsDone (i32.gt_u (i32.add (local.get $j) (i32.const 32)) (local.get $bytes)))
        (local.set $x (f32x4.sub (v128.load ${at('$src')}) (local.get $y)))
        (local.set $x2 (f32x4.sub (v128.load offset=16 ${at('$src')}) (local.get $y)))${EXP()}${second(EXP())}
        (v128.store ${at('$dst')} (local.get $e))
        (v128.store offset=16 ${at('$dst')} (local.get $e2))
        (local.set $acc (f32x4.add (local.get $acc) (local.get $e)))
        (local.set $acc2 (f32x4.add (local.get $acc2) (local.get $e2)))
        (local.set $j (i32.add (local.get $j) (i32.const 32)))
        (br $pairs)))
    (if (i32.lt_u (local.get $j) (local.get $bytes))
      (then
        (local.set $x (f32x4.sub (v128.load ${at('$src')}) (local.get $y)))${EXP()}
        (v128.store ${at('$dst')} (local.get $e))
        (local.set $acc (f32x4.add (local.get $acc) (local.get $e)))))
    (local.set $acc (f32x4.add (local.get $acc) (local.get $acc2)))
    (local.set $y (f32x4.splat (f32.div (f32.const 1) ${hsum('(local.get $acc)')})))${vloop(
      'scale',
      `        (v128.store ${at('$dst')} (f32x4.mul (v128.load ${at('$dst')}) (local.get $y)))`,
    )}`;
  return `
${softmaxRow()}
  ;; One pass for both moments of a row, shifted by its first value k (so the sums stay small and
  ;; var = E[(x−k)²] − E[x−k]² does not cancel), two vectors at a time; returns the mean and
  ;; 1/√(var + eps). The forward and both backward kernels share it, so they see the same statistics.
  (func $row_moments (param $src i32) (param $d i32) (param $eps f32) (result f32 f32)
    (local $j i32) (local $bytes i32) (local $acc v128) (local $acc2 v128) (local $sq v128) (local $sq2 v128)
    (local $k v128) (local $c v128) (local $c2 v128) (local $n f32) (local $m1 f32) (local $m2 f32) (local $var f32)
    (local.set $bytes (i32.shl (local.get $d) (i32.const 2)))
    (local.set $n (f32.convert_i32_u (local.get $d)))
    (local.set $k (f32x4.splat (f32.load (local.get $src))))
    (local.set $acc ${splat(0)})
    (local.set $acc2 ${splat(0)})
    (local.set $sq ${splat(0)})
    (local.set $sq2 ${splat(0)})
    (local.set $j (i32.const 0))
    (block $momentsDone
      (loop $moments
        (br_if $momentsDone (i32.gt_u (i32.add (local.get $j) (i32.const 32)) (local.get $bytes)))
        (local.set $c (f32x4.sub (v128.load ${at('$src')}) (local.get $k)))
        (local.set $c2 (f32x4.sub (v128.load offset=16 ${at('$src')}) (local.get $k)))
        (local.set $acc (f32x4.add (local.get $acc) (local.get $c)))
        (local.set $acc2 (f32x4.add (local.get $acc2) (local.get $c2)))
        (local.set $sq (f32x4.add (local.get $sq) (f32x4.mul (local.get $c) (local.get $c))))
        (local.set $sq2 (f32x4.add (local.get $sq2) (f32x4.mul (local.get $c2) (local.get $c2))))
        (local.set $j (i32.add (local.get $j) (i32.const 32)))
        (br $moments)))
    (if (i32.lt_u (local.get $j) (local.get $bytes))
      (then
        (local.set $c (f32x4.sub (v128.load ${at('$src')}) (local.get $k)))
        (local.set $acc (f32x4.add (local.get $acc) (local.get $c)))
        (local.set $sq (f32x4.add (local.get $sq) (f32x4.mul (local.get $c) (local.get $c))))))
    (local.set $m1 (f32.div ${hsum('(f32x4.add (local.get $acc) (local.get $acc2))')} (local.get $n)))
    (local.set $m2 (f32.div ${hsum('(f32x4.add (local.get $sq) (local.get $sq2))')} (local.get $n)))
    ;; the biased variance, clamped at 0 against rounding
    (local.set $var (f32.max (f32.const 0) (f32.sub (local.get $m2) (f32.mul (local.get $m1) (local.get $m1)))))
    (f32.add (f32x4.extract_lane 0 (local.get $k)) (local.get $m1))
    (f32.div (f32.const 1) (f32.sqrt (f32.add (local.get $var) (local.get $eps)))))

  (func $layernorm_row (param $src i32) (param $dst i32) (param $w i32) (param $b i32) (param $d i32) (param $eps f32)
    (local $j i32) (local $bytes i32) (local $mu v128) (local $rstd v128)
    (local.set $bytes (i32.shl (local.get $d) (i32.const 2)))
    (call $row_moments (local.get $src) (local.get $d) (local.get $eps))
    (local.set $rstd (f32x4.splat))
    (local.set $mu (f32x4.splat))${vloop(
      'norm',
      `        (v128.store ${at('$dst')}
          (f32x4.add (f32x4.mul (f32x4.mul (f32x4.sub (v128.load ${at('$src')}) (local.get $mu)) (local.get $rstd))
                                (v128.load ${at('$w')}))
                     (v128.load ${at('$b')})))`,
    )})

  ;; The backward kernels compute in float64 with the JS kernels' operations in their order (each
  ;; sum over a row in index order), so they give the JS kernels' bits: a training run on wasm stays
  ;; the run it was before they moved here. Float32 values are promoted as JS reads them.
  ;; A row's mean and 1/√(var + eps), as the JS rowStats: the sum, then the centred squares.
  (func $row_stats64 (param $src i32) (param $d i32) (param $eps f64) (result f64 f64)
    (local $j i32) (local $bytes i32) (local $s f64) (local $mu f64) (local $c f64) (local $n f64)
    (local.set $bytes (i32.shl (local.get $d) (i32.const 2)))
    (local.set $n (f64.convert_i32_u (local.get $d)))
    (block $sumDone
      (loop $sum
        (br_if $sumDone (i32.ge_u (local.get $j) (local.get $bytes)))
        (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32.load ${at('$src')}))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $sum)))
    (local.set $mu (f64.div (local.get $s) (local.get $n)))
    (local.set $s (f64.const 0))
    (local.set $j (i32.const 0))
    (block $varDone
      (loop $var
        (br_if $varDone (i32.ge_u (local.get $j) (local.get $bytes)))
        (local.set $c (f64.sub (f64.promote_f32 (f32.load ${at('$src')})) (local.get $mu)))
        (local.set $s (f64.add (local.get $s) (f64.mul (local.get $c) (local.get $c))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $var)))
    (local.get $mu)
    (f64.div (f64.const 1) (f64.sqrt (f64.add (f64.div (local.get $s) (local.get $n)) (local.get $eps)))))

  ;; dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)), g = dy · w, x̂ recomputed from x.
  (func $layernorm_grad_row (param $src i32) (param $dst i32) (param $w i32) (param $dy i32) (param $d i32) (param $eps f64)
    (local $j i32) (local $bytes i32) (local $mu f64) (local $rstd f64) (local $g f64)
    (local $gm f64) (local $gxm f64) (local $n f64)
    (local.set $bytes (i32.shl (local.get $d) (i32.const 2)))
    (local.set $n (f64.convert_i32_u (local.get $d)))
    (call $row_stats64 (local.get $src) (local.get $d) (local.get $eps))
    (local.set $rstd)
    (local.set $mu)
    (block $sumsDone
      (loop $sums
        (br_if $sumsDone (i32.ge_u (local.get $j) (local.get $bytes)))
        (local.set $g (f64.mul (f64.promote_f32 (f32.load ${at('$dy')})) (f64.promote_f32 (f32.load ${at('$w')}))))
        (local.set $gm (f64.add (local.get $gm) (local.get $g)))
        (local.set $gxm (f64.add (local.get $gxm)
          (f64.mul (f64.mul (local.get $g) (f64.sub (f64.promote_f32 (f32.load ${at('$src')})) (local.get $mu))) (local.get $rstd))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $sums)))
    (local.set $gm (f64.div (local.get $gm) (local.get $n)))
    (local.set $gxm (f64.div (local.get $gxm) (local.get $n)))
    (local.set $j (i32.const 0))
    (block $dxDone
      (loop $dx
        (br_if $dxDone (i32.ge_u (local.get $j) (local.get $bytes)))
        (f32.store ${at('$dst')} (f32.demote_f64 (f64.mul (local.get $rstd)
          (f64.sub
            (f64.sub (f64.mul (f64.promote_f32 (f32.load ${at('$dy')})) (f64.promote_f32 (f32.load ${at('$w')}))) (local.get $gm))
            (f64.mul (f64.mul (f64.sub (f64.promote_f32 (f32.load ${at('$src')})) (local.get $mu)) (local.get $rstd)) (local.get $gxm))))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $dx))))

  ;;  Task t of a row-wise job: rows [t·chunk, (t+1)·chunk) of op (an index into ROW_OPS). $b is the
  ;;  bias (layernorm) or dy (layernorm_grad); layernorm_stats writes each row's float64 mean and
  ;;  1/√(var + eps) to dst, 16 bytes a row (for ln_param_task).
  (func (export "rows_task") (param $params i32) (param $t i32)
    (local $r i32) (local $end i32) (local $stride i32) (local $off i32) (local $op i32) (local $m f64) (local $q f64)
    (local.set $op ${rget('op')})
    (local.set $r (i32.mul (local.get $t) ${rget('chunk')}))
    (local.set $end (i32.add (local.get $r) ${rget('chunk')}))
    (if (i32.gt_u (local.get $end) ${rget('rows')}) (then (local.set $end ${rget('rows')})))
    (local.set $stride (i32.shl ${rget('d')} (i32.const 2)))
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $r) (local.get $end)))
        (local.set $off (i32.mul (local.get $r) (local.get $stride)))
        (if (i32.eqz (local.get $op))
          (then (call $softmax_row (i32.add ${rget('src')} (local.get $off)) (i32.add ${rget('dst')} (local.get $off)) ${rget('d')})))
        (if (i32.eq (local.get $op) (i32.const 1))
          (then (call $layernorm_row (i32.add ${rget('src')} (local.get $off)) (i32.add ${rget('dst')} (local.get $off))
                      ${rget('w')} ${rget('b')} ${rget('d')} (f32.load offset=${RP.eps} (local.get $params)))))
        (if (i32.eq (local.get $op) (i32.const 2))
          (then (call $layernorm_grad_row (i32.add ${rget('src')} (local.get $off)) (i32.add ${rget('dst')} (local.get $off))
                      ${rget('w')} (i32.add ${rget('b')} (local.get $off)) ${rget('d')} (f64.load offset=${RP.eps64} (local.get $params)))))
        (if (i32.eq (local.get $op) (i32.const 3))
          (then
            (call $row_stats64 (i32.add ${rget('src')} (local.get $off)) ${rget('d')} (f64.load offset=${RP.eps64} (local.get $params)))
            (local.set $q)
            (local.set $m)
            (local.set $off (i32.add ${rget('dst')} (i32.shl (local.get $r) (i32.const 4))))
            (f64.store (local.get $off) (local.get $m))
            (f64.store offset=8 (local.get $off) (local.get $q))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

  ;; LayerNorm's weight and bias gradients for 2·pairs columns: Σ over rows in order of
  ;; dy·(x − mean)·rstd and of dy, in float64 lanes, two columns a lane pair (each column summed in
  ;; the JS kernel's order: the same bits), rounded to float32 once.
${[4, 1]
  .map(
    (
      pairs,
    ) => `  (func $ln_param${pairs} (param $x i32) (param $dy i32) (param $stats i32) (param $rows i32) (param $stride i32) (param $dw i32) (param $db i32)
    (local $r i32) (local $mu v128) (local $rstd v128) (local $g v128)
    ${Array.from({ length: pairs }, (_, k) => `(local $w${k} v128) (local $b${k} v128)`).join(' ')}
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $mu (f64x2.splat (f64.load (local.get $stats))))
        (local.set $rstd (f64x2.splat (f64.load offset=8 (local.get $stats))))${Array.from(
          { length: pairs },
          (_, k) => `
        (local.set $g (f64x2.promote_low_f32x4 (v128.load64_zero offset=${8 * k} (local.get $dy))))
        (local.set $w${k} (f64x2.add (local.get $w${k}) (f64x2.mul (f64x2.mul (local.get $g)
          (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=${8 * k} (local.get $x))) (local.get $mu))) (local.get $rstd))))
        (local.set $b${k} (f64x2.add (local.get $b${k}) (local.get $g)))`,
        ).join('')}
        (local.set $x (i32.add (local.get $x) (local.get $stride)))
        (local.set $dy (i32.add (local.get $dy) (local.get $stride)))
        (local.set $stats (i32.add (local.get $stats) (i32.const 16)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row)))${Array.from(
          { length: pairs },
          (_, k) => `
    (v128.store64_lane offset=${8 * k} 0 (local.get $dw) (f32x4.demote_f64x2_zero (local.get $w${k})))
    (v128.store64_lane offset=${8 * k} 0 (local.get $db) (f32x4.demote_f64x2_zero (local.get $b${k})))`,
        ).join('')})`,
  )
  .join('\n')}

  ;; Task t of a layerNorm parameter-gradient job (see rows.ts): columns [t·chunk, (t+1)·chunk) of x
  ;; and dy [rows, d] ($src, $b), the row statistics at $w, the output [2, d] at $dst.
  (func (export "ln_param_task") (param $params i32) (param $t i32)
    (local $c i32) (local $end i32) (local $stride i32)
    (local.set $c (i32.mul (local.get $t) ${rget('chunk')}))
    (local.set $end (i32.add (local.get $c) ${rget('chunk')}))
    (if (i32.gt_u (local.get $end) ${rget('d')}) (then (local.set $end ${rget('d')})))
    (local.set $stride (i32.shl ${rget('d')} (i32.const 2)))
${columnBlocks(
  [8, 2],
  (w) => `
        (call $ln_param${w / 2} (i32.add ${rget('src')} (i32.shl (local.get $c) (i32.const 2))) (i32.add ${rget('b')} (i32.shl (local.get $c) (i32.const 2)))
          ${rget('w')} ${rget('rows')} (local.get $stride)
          (i32.add ${rget('dst')} (i32.shl (local.get $c) (i32.const 2))) (i32.add ${rget('dst')} (i32.shl (i32.add (local.get $c) ${rget('d')}) (i32.const 2))))`,
)})`;
}
const rget = (name) => `(i32.load offset=${RP[name]} (local.get $params))`;

const get = (name) => `(i32.load offset=${P[name]} (local.get $params))`;

/**
 * Byte offsets of the i32 parameters of a channels-last im2col job (see `taps_task`). A job works
 * in units (op 0, gather: taps; op 1, scatter-add: whole images, so that two tasks never add into
 * the same pixel), `chunk` units per task; unit u covers taps [u·tapsPerUnit, (u+1)·tapsPerUnit),
 * and a scatter first zeroes its units' `zeroBytes` each of dst.
 */
const TP = {
  op: 0,
  src: 4,
  dst: 8,
  offsets: 12,
  c: 16,
  chunk: 20,
  units: 24,
  tapsPerUnit: 28,
  zeroBytes: 32,
};

/**
 * Channels-last im2col and its adjoint over a table of tap offsets (in floats; −1 for padding):
 * tap t is the C floats at src + 4·offsets[t] (gather: copied to row block t of dst, zeros for
 * padding) or, going back, row block t of src added into dst at 4·offsets[t]. C is a multiple of 4.
 */
function tapsFuncs() {
  const vloop = (label, body) => `
        (local.set $j (i32.const 0))
        (block $${label}Done
          (loop $${label}
            (br_if $${label}Done (i32.ge_u (local.get $j) (local.get $cb)))
            ${body}
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $${label})))`;
  const tg = (k) => `(i32.load offset=${TP[k]} (local.get $params))`;
  return `
  ;; taps [t0, t1): gather (op 0) or scatter-add (op 1)
  (func $taps (param $op i32) (param $src i32) (param $dst i32) (param $offs i32) (param $cb i32) (param $t0 i32) (param $t1 i32)
    (local $t i32) (local $s i32) (local $o i32) (local $j i32)
    (local.set $t (local.get $t0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $t) (local.get $t1)))
        (local.set $s (i32.load (i32.add (local.get $offs) (i32.shl (local.get $t) (i32.const 2)))))
        (local.set $o (i32.mul (local.get $t) (local.get $cb)))
        (if (i32.eqz (local.get $op))
          (then
            (if (i32.lt_s (local.get $s) (i32.const 0))
              (then ${vloop('zero', `(v128.store (i32.add (local.get $dst) (i32.add (local.get $o) (local.get $j))) (v128.const i32x4 0 0 0 0))`)})
              (else
                (local.set $s (i32.add (local.get $src) (i32.shl (local.get $s) (i32.const 2))))
                ${vloop(
                  'copy',
                  `(v128.store (i32.add (local.get $dst) (i32.add (local.get $o) (local.get $j)))
              (v128.load (i32.add (local.get $s) (local.get $j))))`,
                )})))
          (else
            (if (i32.ge_s (local.get $s) (i32.const 0))
              (then
                (local.set $s (i32.add (local.get $dst) (i32.shl (local.get $s) (i32.const 2))))
                ${vloop(
                  'add',
                  `(v128.store (i32.add (local.get $s) (local.get $j))
              (f32x4.add (v128.load (i32.add (local.get $s) (local.get $j)))
                         (v128.load (i32.add (local.get $src) (i32.add (local.get $o) (local.get $j))))))`,
                )}))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $next))))

  (func (export "taps_task") (param $params i32) (param $t i32)
    (local $u0 i32) (local $u1 i32) (local $z i32)
    (local.set $u0 (i32.mul (local.get $t) ${tg('chunk')}))
    (local.set $u1 (i32.add (local.get $u0) ${tg('chunk')}))
    (if (i32.gt_u (local.get $u1) ${tg('units')}) (then (local.set $u1 ${tg('units')})))
    (local.set $z ${tg('zeroBytes')})
    (if (local.get $z)
      (then
        (memory.fill (i32.add ${tg('dst')} (i32.mul (local.get $u0) (local.get $z))) (i32.const 0)
                     (i32.mul (i32.sub (local.get $u1) (local.get $u0)) (local.get $z)))))
    (call $taps ${tg('op')} ${tg('src')} ${tg('dst')} ${tg('offsets')} (i32.shl ${tg('c')} (i32.const 2))
      (i32.mul (local.get $u0) ${tg('tapsPerUnit')}) (i32.mul (local.get $u1) ${tg('tapsPerUnit')})))`;
}

/**
 * Batch-norm passes over x `[N, C, L]` (rows: L = 1, C a multiple of 4; runs: L a multiple of 4),
 * per-channel coefficients and sums in float64 as the JS kernels keep them (batch-norm.ts):
 * `bn_sums` adds into acc1 (and acc2) per channel — mode 0: Σx; 1: Σ(x − mean)²; 2: Σy and
 * Σy·(x − mean), y being dy — and `bn_affine` writes dst = x·k + b (mode 0) or y·k + x·a + b (mode 1)
 * per channel, computed in float64 and rounded once (the JS kernels' arithmetic). With L = 1 each
 * channel sums its rows in order, as the JS loop does, so those sums are bit-identical to it.
 */
function bnFuncs() {
  const hi = (v) =>
    `(f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 ${v} ${v}))`;
  const lo = (v) => `(f64x2.promote_low_f32x4 ${v})`;
  const join = (l, h) =>
    `(i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.demote_f64x2_zero ${l}) (f32x4.demote_f64x2_zero ${h}))`;
  // sums of one vector of 4 channels (rows layout): coefficients/accumulators at byte ch·8
  const rowSums = (mode) => {
    const acc = (a, off, v) =>
      `(v128.store offset=${off} (local.get ${a}) (f64x2.add (v128.load offset=${off} (local.get ${a})) ${v}))`;
    const dev = (half, off) => `(f64x2.sub ${half} (v128.load offset=${off} (local.get $mp)))`;
    if (mode === 0) return `${acc('$ap', 0, lo('(local.get $xv)'))} ${acc('$ap', 16, hi('(local.get $xv)'))}`;
    if (mode === 1)
      return `(local.set $d0 ${dev(lo('(local.get $xv)'), 0)}) (local.set $d1 ${dev(hi('(local.get $xv)'), 16)})
        ${acc('$ap', 0, '(f64x2.mul (local.get $d0) (local.get $d0))')} ${acc('$ap', 16, '(f64x2.mul (local.get $d1) (local.get $d1))')}`;
    return `(local.set $y0 ${lo('(local.get $yv)')}) (local.set $y1 ${hi('(local.get $yv)')})
        ${acc('$ap', 0, '(local.get $y0)')} ${acc('$ap', 16, '(local.get $y1)')}
        ${acc('$bp', 0, `(f64x2.mul (local.get $y0) ${dev(lo('(local.get $xv)'), 0)})`)}
        ${acc('$bp', 16, `(f64x2.mul (local.get $y1) ${dev(hi('(local.get $xv)'), 16)})`)}`;
  };
  // sums of one vector of a run (runs layout): into v128 partials $s0/$s1 (and $t0/$t1), mean splatted in $mv
  const runSums = (mode) => {
    if (mode === 0)
      return `(local.set $s0 (f64x2.add (local.get $s0) ${lo('(local.get $xv)')})) (local.set $s1 (f64x2.add (local.get $s1) ${hi('(local.get $xv)')}))`;
    const d0 = `(f64x2.sub ${lo('(local.get $xv)')} (local.get $mv))`;
    const d1 = `(f64x2.sub ${hi('(local.get $xv)')} (local.get $mv))`;
    if (mode === 1)
      return `(local.set $d0 ${d0}) (local.set $d1 ${d1})
        (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (local.get $d0) (local.get $d0))))
        (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul (local.get $d1) (local.get $d1))))`;
    return `(local.set $y0 ${lo('(local.get $yv)')}) (local.set $y1 ${hi('(local.get $yv)')})
        (local.set $s0 (f64x2.add (local.get $s0) (local.get $y0))) (local.set $s1 (f64x2.add (local.get $s1) (local.get $y1)))
        (local.set $t0 (f64x2.add (local.get $t0) (f64x2.mul (local.get $y0) ${d0})))
        (local.set $t1 (f64x2.add (local.get $t1) (f64x2.mul (local.get $y1) ${d1})))`;
  };
  const hsum = (a, b) =>
    `(f64.add (f64x2.extract_lane 0 (f64x2.add ${a} ${b})) (f64x2.extract_lane 1 (f64x2.add ${a} ${b})))`;
  const addTo = (addr, v) => `(f64.store ${addr} (f64.add (f64.load ${addr}) ${v}))`;
  const modes = (f) =>
    `(if (i32.eqz (local.get $mode)) (then ${f(0)}) (else (if (i32.eq (local.get $mode) (i32.const 1)) (then ${f(1)}) (else ${f(2)}))))`;
  const affineRow = (mode) => {
    const k0 = '(v128.load offset=0 (local.get $kp))';
    const k1 = '(v128.load offset=16 (local.get $kp))';
    const b0 = '(v128.load offset=0 (local.get $bp))';
    const b1 = '(v128.load offset=16 (local.get $bp))';
    if (mode === 0)
      return join(
        `(f64x2.add (f64x2.mul ${lo('(local.get $xv)')} ${k0}) ${b0})`,
        `(f64x2.add (f64x2.mul ${hi('(local.get $xv)')} ${k1}) ${b1})`,
      );
    const a0 = '(v128.load offset=0 (local.get $ap))';
    const a1 = '(v128.load offset=16 (local.get $ap))';
    return join(
      `(f64x2.add (f64x2.add (f64x2.mul ${lo('(local.get $yv)')} ${k0}) (f64x2.mul ${lo('(local.get $xv)')} ${a0})) ${b0})`,
      `(f64x2.add (f64x2.add (f64x2.mul ${hi('(local.get $yv)')} ${k1}) (f64x2.mul ${hi('(local.get $xv)')} ${a1})) ${b1})`,
    );
  };
  const affineRun = (mode) => {
    if (mode === 0)
      return join(
        `(f64x2.add (f64x2.mul ${lo('(local.get $xv)')} (local.get $kv)) (local.get $bv))`,
        `(f64x2.add (f64x2.mul ${hi('(local.get $xv)')} (local.get $kv)) (local.get $bv))`,
      );
    return join(
      `(f64x2.add (f64x2.add (f64x2.mul ${lo('(local.get $yv)')} (local.get $kv)) (f64x2.mul ${lo('(local.get $xv)')} (local.get $av))) (local.get $bv))`,
      `(f64x2.add (f64x2.add (f64x2.mul ${hi('(local.get $yv)')} (local.get $kv)) (f64x2.mul ${hi('(local.get $xv)')} (local.get $av))) (local.get $bv))`,
    );
  };
  const locals = `(local $i i32) (local $ch i32) (local $j i32) (local $end i32) (local $xp i32) (local $yp i32)
    (local $ap i32) (local $bp i32) (local $mp i32) (local $kp i32)
    (local $xv v128) (local $yv v128) (local $d0 v128) (local $d1 v128) (local $y0 v128) (local $y1 v128)
    (local $s0 v128) (local $s1 v128) (local $t0 v128) (local $t1 v128) (local $mv v128) (local $kv v128) (local $av v128) (local $bv v128)`;
  return `
  ;; x, y: [n, c, l] f32 (y = dy, mode 2 only); mean, acc1, acc2: [c] f64
  (func (export "bn_sums") (param $x i32) (param $y i32) (param $n i32) (param $c i32) (param $l i32)
                           (param $mean i32) (param $acc1 i32) (param $acc2 i32) (param $mode i32)
    ${locals}
    (local.set $xp (local.get $x)) (local.set $yp (local.get $y))
    (if (i32.eq (local.get $l) (i32.const 1))
      (then
        ;; rows: every channel adds its rows in order
        (local.set $end (i32.add (local.get $x) (i32.shl (i32.mul (local.get $n) (local.get $c)) (i32.const 2))))
        (block $rowsDone (loop $rows
          (br_if $rowsDone (i32.ge_u (local.get $xp) (local.get $end)))
          (local.set $ap (local.get $acc1)) (local.set $bp (local.get $acc2)) (local.set $mp (local.get $mean))
          (local.set $ch (i32.const 0))
          (block $chDone (loop $chs
            (br_if $chDone (i32.ge_u (local.get $ch) (local.get $c)))
            (local.set $xv (v128.load (local.get $xp)))
            (if (i32.eq (local.get $mode) (i32.const 2)) (then (local.set $yv (v128.load (local.get $yp)))))
            ${modes(rowSums)}
            (local.set $xp (i32.add (local.get $xp) (i32.const 16))) (local.set $yp (i32.add (local.get $yp) (i32.const 16)))
            (local.set $ap (i32.add (local.get $ap) (i32.const 32))) (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
            (local.set $mp (i32.add (local.get $mp) (i32.const 32)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 4)))
            (br $chs)))
          (br $rows))))
      (else
        ;; runs: each (sample, channel) run of l summed in f64x2 partials, then added to its channel
        (local.set $i (i32.const 0))
        (block $nDone (loop $samples
          (br_if $nDone (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $ch (i32.const 0))
          (block $chDone2 (loop $chs2
            (br_if $chDone2 (i32.ge_u (local.get $ch) (local.get $c)))
            (local.set $s0 (v128.const i64x2 0 0)) (local.set $s1 (v128.const i64x2 0 0))
            (local.set $t0 (v128.const i64x2 0 0)) (local.set $t1 (v128.const i64x2 0 0))
            (local.set $mv (f64x2.splat (f64.load (i32.add (local.get $mean) (i32.shl (local.get $ch) (i32.const 3))))))
            (local.set $end (i32.add (local.get $xp) (i32.shl (local.get $l) (i32.const 2))))
            (block $runDone (loop $run
              (br_if $runDone (i32.ge_u (local.get $xp) (local.get $end)))
              (local.set $xv (v128.load (local.get $xp)))
              (if (i32.eq (local.get $mode) (i32.const 2)) (then (local.set $yv (v128.load (local.get $yp)))))
              ${modes(runSums)}
              (local.set $xp (i32.add (local.get $xp) (i32.const 16))) (local.set $yp (i32.add (local.get $yp) (i32.const 16)))
              (br $run)))
            ${addTo('(i32.add (local.get $acc1) (i32.shl (local.get $ch) (i32.const 3)))', hsum('(local.get $s0)', '(local.get $s1)'))}
            (if (i32.eq (local.get $mode) (i32.const 2))
              (then ${addTo('(i32.add (local.get $acc2) (i32.shl (local.get $ch) (i32.const 3)))', hsum('(local.get $t0)', '(local.get $t1)'))}))
            (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
            (br $chs2)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $samples))))))

  ;; dst = x·k + b (mode 0) or y·k + x·a + b (mode 1); k, a, b: [c] f64
  (func (export "bn_affine") (param $x i32) (param $y i32) (param $n i32) (param $c i32) (param $l i32)
                             (param $k i32) (param $a i32) (param $b i32) (param $dst i32) (param $mode i32)
    ${locals} (local $op i32)
    (local.set $xp (local.get $x)) (local.set $yp (local.get $y)) (local.set $op (local.get $dst))
    (if (i32.eq (local.get $l) (i32.const 1))
      (then
        (local.set $end (i32.add (local.get $x) (i32.shl (i32.mul (local.get $n) (local.get $c)) (i32.const 2))))
        (block $rowsDone (loop $rows
          (br_if $rowsDone (i32.ge_u (local.get $xp) (local.get $end)))
          (local.set $kp (local.get $k)) (local.set $ap (local.get $a)) (local.set $bp (local.get $b))
          (local.set $ch (i32.const 0))
          (block $chDone (loop $chs
            (br_if $chDone (i32.ge_u (local.get $ch) (local.get $c)))
            (local.set $xv (v128.load (local.get $xp)))
            (if (local.get $mode)
              (then (local.set $yv (v128.load (local.get $yp))) (v128.store (local.get $op) ${affineRow(1)}))
              (else (v128.store (local.get $op) ${affineRow(0)})))
            (local.set $xp (i32.add (local.get $xp) (i32.const 16))) (local.set $yp (i32.add (local.get $yp) (i32.const 16)))
            (local.set $op (i32.add (local.get $op) (i32.const 16)))
            (local.set $kp (i32.add (local.get $kp) (i32.const 32))) (local.set $ap (i32.add (local.get $ap) (i32.const 32)))
            (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 4)))
            (br $chs)))
          (br $rows))))
      (else
        (local.set $i (i32.const 0))
        (block $nDone (loop $samples
          (br_if $nDone (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $ch (i32.const 0))
          (block $chDone2 (loop $chs2
            (br_if $chDone2 (i32.ge_u (local.get $ch) (local.get $c)))
            (local.set $kv (f64x2.splat (f64.load (i32.add (local.get $k) (i32.shl (local.get $ch) (i32.const 3))))))
            (local.set $av (f64x2.splat (f64.load (i32.add (local.get $a) (i32.shl (local.get $ch) (i32.const 3))))))
            (local.set $bv (f64x2.splat (f64.load (i32.add (local.get $b) (i32.shl (local.get $ch) (i32.const 3))))))
            (local.set $end (i32.add (local.get $xp) (i32.shl (local.get $l) (i32.const 2))))
            (block $runDone (loop $run
              (br_if $runDone (i32.ge_u (local.get $xp) (local.get $end)))
              (local.set $xv (v128.load (local.get $xp)))
              (if (local.get $mode)
                (then (local.set $yv (v128.load (local.get $yp))) (v128.store (local.get $op) ${affineRun(1)}))
                (else (v128.store (local.get $op) ${affineRun(0)})))
              (local.set $xp (i32.add (local.get $xp) (i32.const 16))) (local.set $yp (i32.add (local.get $yp) (i32.const 16)))
              (local.set $op (i32.add (local.get $op) (i32.const 16)))
              (br $run)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
            (br $chs2)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $samples))))))`;
}

function moduleText(shared) {
  return `(module
  (import "env" "memory" (memory 1${shared ? ' 65536 shared' : ''}))
${tileFunc()}
${dropoutTaskFunc()}
${colsumFuncs()}
${tapsFuncs()}
${bnFuncs()}

  ;; Rows [i0, i1) × columns [j0, j1) of one GEMM (multiples of MR and NR), blocked over K by kc so
  ;; that a kc×NR slice of packed B stays in L1 while the row block of packed A streams past it.
  (func $gemm (param $pa i32) (param $pb i32) (param $c i32) (param $ldc i32) (param $k i32) (param $kcMax i32)
               (param $i0 i32) (param $i1 i32) (param $j0 i32) (param $j1 i32)
    (local $k0 i32) (local $kc i32) (local $i i32) (local $j i32) (local $bp i32)
    (block $kDone
      (loop $kLoop
        (br_if $kDone (i32.ge_u (local.get $k0) (local.get $k)))
        (local.set $kc (i32.sub (local.get $k) (local.get $k0)))
        (if (i32.gt_u (local.get $kc) (local.get $kcMax)) (then (local.set $kc (local.get $kcMax))))
        (local.set $j (local.get $j0))
        (block $jDone
          (loop $jLoop
            (br_if $jDone (i32.ge_u (local.get $j) (local.get $j1)))
            ;; packed B panel j/NR starts at (j/NR)·K·NR floats; its k0 slice k0·NR floats further
            (local.set $bp (i32.add (local.get $pb)
              (i32.shl (i32.add (i32.mul (local.get $j) (local.get $k)) (i32.mul (local.get $k0) (i32.const ${NR}))) (i32.const 2))))
            (local.set $i (local.get $i0))
            (block $iDone
              (loop $iLoop
                (br_if $iDone (i32.ge_u (local.get $i) (local.get $i1)))
                (call $tile
                  (i32.add (local.get $pa)
                    (i32.shl (i32.add (i32.mul (local.get $i) (local.get $k)) (i32.mul (local.get $k0) (i32.const ${MR}))) (i32.const 2)))
                  (local.get $bp)
                  (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $ldc)) (i32.shl (local.get $j) (i32.const 2))))
                  (local.get $kc)
                  (local.get $ldc)
                  (local.get $k0))
                (local.set $i (i32.add (local.get $i) (i32.const ${MR})))
                (br $iLoop)))
            (local.set $j (i32.add (local.get $j) (i32.const ${NR})))
            (br $jLoop)))
        (local.set $k0 (i32.add (local.get $k0) (local.get $kc)))
        (br $kLoop))))

  ;; One full panel of r (6 or 8) rows, each contiguous in q, $so floats apart: writes
  ;; dst[q·r + i] = row_i[q] for q < k rounded down to 4, four q per step, and returns that q.
  ;; Rows 0–3 go through a 4×4 transpose; rows 4–7 (r = 8) through another, rows 4–5 (r = 6) by
  ;; interleaving pairs. Other r: returns 0 (the caller's scalar loop packs everything).
  (func $pack_rows4 (param $src i32) (param $dst i32) (param $k i32) (param $so i32) (param $r i32) (result i32)
    (local $q i32) (local $k4 i32) (local $step i32) (local $rb i32) (local $p i32)
    (local $a v128) (local $b v128) (local $c v128) (local $d v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (if (i32.and (i32.ne (local.get $r) (i32.const 8)) (i32.ne (local.get $r) (i32.const 6))) (then (return (i32.const 0))))
    (local.set $k4 (i32.and (local.get $k) (i32.const -4)))
    (local.set $rb (i32.shl (local.get $so) (i32.const 2)))
    (local.set $step (i32.shl (local.get $r) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $q) (local.get $k4)))
        (local.set $p (i32.add (local.get $src) (i32.shl (local.get $q) (i32.const 2))))
        (local.set $a (v128.load (local.get $p)))
        (local.set $b (v128.load (i32.add (local.get $p) (local.get $rb))))
        (local.set $c (v128.load (i32.add (local.get $p) (i32.shl (local.get $rb) (i32.const 1)))))
        (local.set $d (v128.load (i32.add (local.get $p) (i32.mul (local.get $rb) (i32.const 3)))))
        (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a) (local.get $b)))
        (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a) (local.get $b)))
        (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c) (local.get $d)))
        (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c) (local.get $d)))
        (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
        (v128.store (i32.add (local.get $dst) (local.get $step))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
        (v128.store (i32.add (local.get $dst) (i32.shl (local.get $step) (i32.const 1)))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
        (v128.store (i32.add (local.get $dst) (i32.mul (local.get $step) (i32.const 3)))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
        (local.set $p (i32.add (local.get $p) (i32.shl (local.get $rb) (i32.const 2))))
        (local.set $a (v128.load (local.get $p)))
        (local.set $b (v128.load (i32.add (local.get $p) (local.get $rb))))
        (if (i32.eq (local.get $r) (i32.const 8))
          (then
            (local.set $c (v128.load (i32.add (local.get $p) (i32.shl (local.get $rb) (i32.const 1)))))
            (local.set $d (v128.load (i32.add (local.get $p) (i32.mul (local.get $rb) (i32.const 3)))))
            (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a) (local.get $b)))
            (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a) (local.get $b)))
            (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c) (local.get $d)))
            (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c) (local.get $d)))
            (v128.store offset=16 (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
            (v128.store offset=16 (i32.add (local.get $dst) (local.get $step))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
            (v128.store offset=16 (i32.add (local.get $dst) (i32.shl (local.get $step) (i32.const 1)))
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
            (v128.store offset=16 (i32.add (local.get $dst) (i32.mul (local.get $step) (i32.const 3)))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3))))
          (else
            ;; rows 4 and 5: (a0 b0 a1 b1) and (a2 b2 a3 b3), 8 bytes per q
            (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a) (local.get $b)))
            (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a) (local.get $b)))
            (v128.store64_lane offset=16 0 (local.get $dst) (local.get $t0))
            (v128.store64_lane offset=16 1 (i32.add (local.get $dst) (local.get $step)) (local.get $t0))
            (v128.store64_lane offset=16 0 (i32.add (local.get $dst) (i32.shl (local.get $step) (i32.const 1))) (local.get $t1))
            (v128.store64_lane offset=16 1 (i32.add (local.get $dst) (i32.mul (local.get $step) (i32.const 3))) (local.get $t1))))
        (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $step) (i32.const 2))))
        (local.set $q (i32.add (local.get $q) (i32.const 4)))
        (br $next)))
    (local.get $k4))

  ;; Packs op(X) into panels of r outer indices: dst[o0·k + q·r + (o − o0)] = X(o, q), zeros past
  ;; outer (the padding of the last panel). X(o, q) is the f32 at src + 4·(o·so + q·sq), so one
  ;; function packs A (outer = M rows, r = MR) and B (outer = N columns, r = NR), transposed or not.
  (func $pack (export "pack") (param $src i32) (param $dst i32) (param $outer i32) (param $k i32)
                        (param $so i32) (param $sq i32) (param $r i32)
    (local $o0 i32) (local $q i32) (local $i i32) (local $o i32) (local $row i32)
    (block $oDone
      (loop $oLoop
        (br_if $oDone (i32.ge_u (local.get $o0) (local.get $outer)))
        (local.set $q (i32.const 0))
        ;; rows of X contiguous in q (A as stored, B transposed) and a full panel: four q at a time
        ;; by 4×4 transposes in registers (the loop below moves one float per load and store)
        (if (i32.and (i32.and (i32.eq (local.get $sq) (i32.const 1)) (i32.ne (local.get $so) (i32.const 1)))
                     (i32.le_u (i32.add (local.get $o0) (local.get $r)) (local.get $outer)))
          (then
            (local.set $q (call $pack_rows4
              (i32.add (local.get $src) (i32.shl (i32.mul (local.get $o0) (local.get $so)) (i32.const 2)))
              (local.get $dst) (local.get $k) (local.get $so) (local.get $r)))
            (local.set $dst (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $q) (local.get $r)) (i32.const 2))))))
        (block $qDone
          (loop $qLoop
            (br_if $qDone (i32.ge_u (local.get $q) (local.get $k)))
            ;; address of X(o0, q)
            (local.set $row (i32.add (local.get $src)
              (i32.shl (i32.add (i32.mul (local.get $o0) (local.get $so)) (i32.mul (local.get $q) (local.get $sq))) (i32.const 2))))
            (if (i32.and (i32.eq (local.get $so) (i32.const 1))
                         (i32.le_u (i32.add (local.get $o0) (local.get $r)) (local.get $outer)))
              (then
                ;; contiguous and a full panel: copy r floats four at a time, then the rest one by one
                (local.set $i (i32.const 0))
                (block $vDone
                  (loop $vLoop
                    (br_if $vDone (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $r)))
                    (v128.store (local.get $dst) (v128.load (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 2)))))
                    (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
                    (local.set $i (i32.add (local.get $i) (i32.const 4)))
                    (br $vLoop)))
                (block $tDone
                  (loop $tLoop
                    (br_if $tDone (i32.ge_u (local.get $i) (local.get $r)))
                    (f32.store (local.get $dst) (f32.load (i32.add (local.get $row) (i32.shl (local.get $i) (i32.const 2)))))
                    (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $tLoop))))
              (else
                (local.set $i (i32.const 0))
                (block $sDone
                  (loop $sLoop
                    (br_if $sDone (i32.ge_u (local.get $i) (local.get $r)))
                    (local.set $o (i32.add (local.get $o0) (local.get $i)))
                    (f32.store (local.get $dst)
                      (if (result f32) (i32.lt_u (local.get $o) (local.get $outer))
                        (then (f32.load (i32.add (local.get $row) (i32.shl (i32.mul (local.get $i) (local.get $so)) (i32.const 2)))))
                        (else (f32.const 0))))
                    (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $sLoop)))))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $qLoop)))
        (local.set $o0 (i32.add (local.get $o0) (local.get $r)))
        (br $oLoop))))

  ;; Packing task t: one MC-row block of one batch of A (t < aPackTasks), else one NC-column block
  ;; of one batch of B; so packing is spread over the pool like the GEMM itself.
  (func (export "pack_task") (param $params i32) (param $t i32)
    (local $p i32) (local $o0 i32) (local $cnt i32)
    (if (i32.lt_u (local.get $t) ${get('aPackTasks')})
      (then
        (local.set $p (i32.div_u (local.get $t) ${get('rowBlocks')}))
        (local.set $o0 (i32.mul (i32.rem_u (local.get $t) ${get('rowBlocks')}) ${get('mc')}))
        (local.set $cnt (i32.sub ${get('m')} (local.get $o0)))
        (if (i32.gt_u (local.get $cnt) ${get('mc')}) (then (local.set $cnt ${get('mc')})))
        (call $pack
          (i32.add ${get('aRaw')} (i32.shl (i32.add (i32.mul (local.get $p) ${get('aRawStride')}) (i32.mul (local.get $o0) ${get('soA')})) (i32.const 2)))
          (i32.add ${get('aBase')} (i32.shl (i32.add (i32.mul (local.get $p) ${get('aPackStride')}) (i32.mul (local.get $o0) ${get('k')})) (i32.const 2)))
          (local.get $cnt) ${get('k')} ${get('soA')} ${get('sqA')} (i32.const ${MR})))
      (else
        (local.set $t (i32.sub (local.get $t) ${get('aPackTasks')}))
        (local.set $p (i32.div_u (local.get $t) ${get('colBlocks')}))
        (local.set $o0 (i32.mul (i32.rem_u (local.get $t) ${get('colBlocks')}) ${get('nc')}))
        (local.set $cnt (i32.sub ${get('n')} (local.get $o0)))
        (if (i32.gt_u (local.get $cnt) ${get('nc')}) (then (local.set $cnt ${get('nc')})))
        (call $pack
          (i32.add ${get('bRaw')} (i32.shl (i32.add (i32.mul (local.get $p) ${get('bRawStride')}) (i32.mul (local.get $o0) ${get('soB')})) (i32.const 2)))
          (i32.add ${get('bBase')} (i32.shl (i32.add (i32.mul (local.get $p) ${get('bPackStride')}) (i32.mul (local.get $o0) ${get('k')})) (i32.const 2)))
          (local.get $cnt) ${get('k')} ${get('soB')} ${get('sqB')} (i32.const ${NR})))))

  ;; Task t of a batch of small products (each one MC×NC block at most; see gemm.ts): items
  ;; [t·perTask, (t+1)·perTask), each packed into the task's own scratch slot and multiplied there, so
  ;; its panels stay in cache and one pool job covers packing and products (the general path runs a
  ;; packing job and a product job, a task per batch item each). The same $gemm sums, so the same bits.
  (func (export "batch_task") (param $params i32) (param $t i32)
    (local $p i32) (local $end i32) (local $pa i32) (local $pb i32) (local $pc i32) (local $c i32) (local $ldc i32)
    (local $row i32) (local $rowBytes i32)
    (local.set $pa (i32.add ${get('slotBase')} (i32.mul (local.get $t) ${get('slotBytes')})))
    ;; packed A, packed B and the C tile, each 16-byte aligned
    (local.set $pb (i32.and (i32.add (i32.add (local.get $pa) (i32.shl (i32.mul ${get('mp')} ${get('k')}) (i32.const 2))) (i32.const 15)) (i32.const -16)))
    (local.set $pc (i32.and (i32.add (i32.add (local.get $pb) (i32.shl (i32.mul ${get('k')} ${get('np')}) (i32.const 2))) (i32.const 15)) (i32.const -16)))
    (local.set $rowBytes (i32.shl ${get('n')} (i32.const 2)))
    (local.set $p (i32.mul (local.get $t) ${get('perTask')}))
    (local.set $end (i32.add (local.get $p) ${get('perTask')}))
    (if (i32.gt_u (local.get $end) ${get('batch')}) (then (local.set $end ${get('batch')})))
    (block $done
      (loop $item
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (call $pack (i32.add ${get('aRaw')} (i32.mul (local.get $p) ${get('aItemBytes')})) (local.get $pa)
          ${get('m')} ${get('k')} ${get('soA')} ${get('sqA')} (i32.const ${MR}))
        (call $pack (i32.add ${get('bRaw')} (i32.mul (local.get $p) ${get('bItemBytes')})) (local.get $pb)
          ${get('n')} ${get('k')} ${get('soB')} ${get('sqB')} (i32.const ${NR}))
        (local.set $c (i32.add ${get('cBase')} (i32.mul (local.get $p) ${get('cItemBytes')})))
        (if ${get('direct')}
          (then (call $gemm (local.get $pa) (local.get $pb) (local.get $c) (local.get $rowBytes) ${get('k')} ${get('kc')}
                            (i32.const 0) ${get('mp')} (i32.const 0) ${get('np')}))
          (else
            ;; padded tile in the slot, then its m rows of n floats into the output
            (call $gemm (local.get $pa) (local.get $pb) (local.get $pc) (i32.shl ${get('np')} (i32.const 2)) ${get('k')} ${get('kc')}
                        (i32.const 0) ${get('mp')} (i32.const 0) ${get('np')})
            (local.set $row (i32.const 0))
            (block $copied
              (loop $copy
                (br_if $copied (i32.ge_u (local.get $row) ${get('m')}))
                (memory.copy
                  (i32.add (local.get $c) (i32.mul (local.get $row) (local.get $rowBytes)))
                  (i32.add (local.get $pc) (i32.shl (i32.mul (local.get $row) ${get('np')}) (i32.const 2)))
                  (local.get $rowBytes))
                (local.set $row (i32.add (local.get $row) (i32.const 1)))
                (br $copy)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $item))))

${unaryFuncs()}
${binaryFuncs()}
${geluGradFunc()}
${adamStepFunc()}
${rowFuncs()}
${unaryTaskFunc()}

  ;; Task t of the job described at $params: batch p, row block, column block (see gemm.ts).
  (func (export "run_task") (param $params i32) (param $t i32)
    (local $per i32) (local $p i32) (local $r i32) (local $rb i32) (local $cb i32)
    (local $i0 i32) (local $i1 i32) (local $j0 i32) (local $j1 i32)
    (local.set $per (i32.mul ${get('rowBlocks')} ${get('colBlocks')}))
    (local.set $p (i32.div_u (local.get $t) (local.get $per)))
    (local.set $r (i32.rem_u (local.get $t) (local.get $per)))
    (local.set $rb (i32.div_u (local.get $r) ${get('colBlocks')}))
    (local.set $cb (i32.rem_u (local.get $r) ${get('colBlocks')}))
    (local.set $i0 (i32.mul (local.get $rb) ${get('mc')}))
    (local.set $i1 (i32.add (local.get $i0) ${get('mc')}))
    (if (i32.gt_u (local.get $i1) ${get('mp')}) (then (local.set $i1 ${get('mp')})))
    (local.set $j0 (i32.mul (local.get $cb) ${get('nc')}))
    (local.set $j1 (i32.add (local.get $j0) ${get('nc')}))
    (if (i32.gt_u (local.get $j1) ${get('np')}) (then (local.set $j1 ${get('np')})))
    (call $gemm
      (i32.add ${get('aBase')} (i32.mul (local.get $p) ${get('aStride')}))
      (i32.add ${get('bBase')} (i32.mul (local.get $p) ${get('bStride')}))
      (i32.add ${get('cBase')} (i32.mul (local.get $p) ${get('cStride')}))
      (i32.shl ${get('np')} (i32.const 2))
      ${get('k')}
      ${get('kc')}
      (local.get $i0) (local.get $i1) (local.get $j0) (local.get $j1)))
)
`;
}

const wabt = await wabtFactory();
function compile(shared, fma) {
  FMA = fma;
  const mod = wabt.parseWat(`gemm${shared ? '-shared' : ''}${fma ? '-fma' : ''}.wat`, moduleText(shared), {
    simd: true,
    threads: true,
    relaxed_simd: true,
    bulk_memory: true,
  });
  mod.validate({ simd: true, threads: true, relaxed_simd: true, bulk_memory: true });
  const { buffer } = mod.toBinary({});
  mod.destroy();
  return Buffer.from(buffer).toString('base64');
}

const here = dirname(fileURLToPath(import.meta.url));
const out = `// Generated by generate-wasm-module.mjs — do not edit; edit the generator and rerun it.

/** Rows of C per micro-kernel tile; packed A holds [K][GEMM_MR] per GEMM_MR rows. */
export const GEMM_MR = ${MR};
/** Columns of C per micro-kernel tile; packed B holds [K][GEMM_NR] per GEMM_NR columns. */
export const GEMM_NR = ${NR};
/** Byte offsets of the i32 job parameters that \`run_task(params, t)\` reads. */
export const GEMM_PARAMS = ${JSON.stringify(P)} as const;
/** Elementwise functions the module exports, each \`(src, dst, count4)\`. */
export const UNARY_OPS = ${JSON.stringify(Object.keys(UNARY_OPS))} as const;
/** Byte offsets of the i32 parameters that \`unary_task(params, t)\` reads. */
export const UNARY_PARAMS = ${JSON.stringify(UP)} as const;
/** Row-wise kernels \`rows_task\` runs, by their index in the job's \`op\`. */
export const ROW_OPS = ${JSON.stringify(ROW_OPS)} as const;
/** Byte offsets of the parameters that \`rows_task(params, t)\` reads (\`eps\` is a float32). */
export const ROW_PARAMS = ${JSON.stringify(RP)} as const;
/** Byte offsets of the i32 parameters that \`taps_task(params, t)\` reads (channels-last im2col). */
export const TAPS_PARAMS = ${JSON.stringify(TP)} as const;
/** Byte offsets of the parameters that \`dropout_task(params, t)\` reads (\`scale\` a float32, \`state\` an i64). */
export const DROPOUT_PARAMS = ${JSON.stringify(DP)} as const;
/** Byte offsets of the i32 parameters that \`colsum_task(params, t)\` reads. */
export const COLSUM_PARAMS = ${JSON.stringify(CP)} as const;
/** Binary functions the module exports, each \`(a, b, dst, count4, mode)\`. */
export const BINARY_OPS = ${JSON.stringify([...Object.keys(BINARY_OPS), 'gelu_grad'])} as const;
/** The module importing \`env.memory\` as a shared memory (threads). */
export const WASM_MODULE_SHARED = '${compile(true, false)}';
/** The same module importing a plain (unshared) memory. */
export const WASM_MODULE_PLAIN = '${compile(false, false)}';
/** The shared-memory module with a fused multiply-add GEMM micro-kernel (needs relaxed SIMD). */
export const WASM_MODULE_SHARED_FMA = '${compile(true, true)}';
/** The plain-memory module with a fused multiply-add GEMM micro-kernel (needs relaxed SIMD). */
export const WASM_MODULE_PLAIN_FMA = '${compile(false, true)}';
`;
const target = join(here, 'wasm-module-bytes.ts');
writeFileSync(target, out);
// Format as the repository does, so that a regenerated file only differs where the module changed.
execFileSync('npx', ['biome', 'format', '--write', target], { stdio: 'ignore' });
console.log(`wrote wasm-module-bytes.ts (MR=${MR}, NR=${NR})`);
