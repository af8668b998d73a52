import { ArgumentError } from './errors/index.js';
import { PCG_CHUNK, pcgWasm } from './pcg-wasm.js';

/**
 * A seeded pseudo-random generator (PCG-XSH-RR, 64-bit state in two 32-bit halves), the same
 * stream on every backend because numbers are drawn here on the host and uploaded.
 *
 * ```ts
 * const g = new Generator(42);
 * const x = randn([2, 3], { generator: g });
 * ```
 */
export class Generator {
  private hi = 0;
  private lo = 0;
  private spareNormal: number | null = null;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  /** Restarts the stream from `seed` (like `torch.Generator.manual_seed`). */
  manualSeed(seed: number): this {
    if (!Number.isFinite(seed))
      throw new ArgumentError('Generator', `seed must be a finite number, got ${seed}`);
    this.hi = (Math.floor(seed / 2 ** 32) ^ 0x853c49e6) >>> 0;
    this.lo = (seed >>> 0) ^ 0x6a09e667;
    this.spareNormal = null;
    this.nextUint32();
    return this;
  }

  /** The full state, for checkpoints; `setState` restores it exactly. */
  getState(): { hi: number; lo: number; spareNormal: number | null } {
    return { hi: this.hi, lo: this.lo, spareNormal: this.spareNormal };
  }

  setState(state: { hi: number; lo: number; spareNormal: number | null }): this {
    this.hi = state.hi >>> 0;
    this.lo = state.lo >>> 0;
    this.spareNormal = state.spareNormal;
    return this;
  }

  nextUint32(): number {
    // state = state * 6364136223846793005 + 1442695040888963407 (mod 2^64), in 16-bit limbs.
    const oldHi = this.hi;
    const oldLo = this.lo;
    const [hi, lo] = mul64(oldHi, oldLo, 0x5851f42d, 0x4c957f2d);
    const sumLo = lo + 0xf767814f;
    this.lo = sumLo >>> 0;
    this.hi = (hi + 0x14057b7e + (sumLo > 0xffffffff ? 1 : 0)) >>> 0;
    // output = rotr32(((old >> 18) ^ old) >> 27, old >> 59)
    const tHi = (oldHi ^ (oldHi >>> 18)) >>> 0;
    const tLo = (oldLo ^ ((oldLo >>> 18) | (oldHi << 14))) >>> 0;
    const xorshifted = ((tLo >>> 27) | (tHi << 5)) >>> 0;
    const rot = oldHi >>> 27;
    return ((xorshifted >>> rot) | (xorshifted << ((32 - rot) & 31))) >>> 0;
  }

  /**
   * Skips `count` draws in O(log count) steps: the same state as `count` calls of `nextUint32`
   * (PCG's jump-ahead, Brown 1994). Ops that draw on a backend (fused dropout) advance the host's
   * generator by what they drew, so the stream continues as if the host had drawn them.
   */
  advance(count: number): this {
    if (!Number.isSafeInteger(count) || count < 0)
      throw new ArgumentError('Generator.advance', `count must be a non-negative integer, got ${count}`);
    // (accMult, accPlus) composes the steps taken so far; (curMult, curPlus) is 2^k steps.
    let [accMultHi, accMultLo, accPlusHi, accPlusLo] = [0, 1, 0, 0];
    let [curMultHi, curMultLo, curPlusHi, curPlusLo] = [0x5851f42d, 0x4c957f2d, 0x14057b7e, 0xf767814f];
    for (let n = count; n > 0; n = Math.floor(n / 2)) {
      if (n % 2 === 1) {
        [accMultHi, accMultLo] = mul64(accMultHi, accMultLo, curMultHi, curMultLo);
        [accPlusHi, accPlusLo] = add64(
          ...mul64(accPlusHi, accPlusLo, curMultHi, curMultLo),
          curPlusHi,
          curPlusLo,
        );
      }
      [curPlusHi, curPlusLo] = mul64(...add64(curMultHi, curMultLo, 0, 1), curPlusHi, curPlusLo);
      [curMultHi, curMultLo] = mul64(curMultHi, curMultLo, curMultHi, curMultLo);
    }
    [this.hi, this.lo] = add64(...mul64(accMultHi, accMultLo, this.hi, this.lo), accPlusHi, accPlusLo);
    return this;
  }

  /** Uniform in [0, 1) with 24 random bits, exactly representable in float32. */
  uniform(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  /**
   * Fills `out` with `uniform()` draws, in order: the same numbers and end state as calling it
   * `out.length` times, drawn in WebAssembly (much faster for dropout masks) where available.
   */
  fillUniform(out: Float32Array): Float32Array {
    const wasm = pcgWasm();
    if (!wasm) {
      for (let i = 0; i < out.length; i++) out[i] = this.uniform();
      return out;
    }
    wasm.set_state(this.hi, this.lo);
    const chunk = new Float32Array(wasm.memory.buffer, 0, PCG_CHUNK);
    for (let at = 0; at < out.length; at += PCG_CHUNK) {
      const n = Math.min(PCG_CHUNK, out.length - at);
      wasm.fill_uniform(n);
      out.set(n === PCG_CHUNK ? chunk : chunk.subarray(0, n), at);
    }
    this.hi = wasm.state_hi() >>> 0;
    this.lo = wasm.state_lo() >>> 0;
    return out;
  }

  /** Standard normal by the Box–Muller transform. */
  normal(): number {
    if (this.spareNormal !== null) {
      const s = this.spareNormal;
      this.spareNormal = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [low, high). */
  integer(low: number, high: number): number {
    return low + Math.floor(this.uniform() * (high - low));
  }
}

/** (a + b) mod 2^64 on 32-bit halves. */
function add64(aHi: number, aLo: number, bHi: number, bLo: number): [number, number] {
  const lo = aLo + bLo;
  return [(aHi + bHi + (lo > 0xffffffff ? 1 : 0)) >>> 0, lo >>> 0];
}

/** (a · b) mod 2^64 on 32-bit halves, in 16-bit limbs (exact in float64). */
function mul64(aHi: number, aLo: number, bHi: number, bLo: number): [number, number] {
  const a0 = aLo & 0xffff;
  const a1 = aLo >>> 16;
  const a2 = aHi & 0xffff;
  const a3 = aHi >>> 16;
  const b0 = bLo & 0xffff;
  const b1 = bLo >>> 16;
  const b2 = bHi & 0xffff;
  const b3 = bHi >>> 16;
  let c0 = a0 * b0;
  let c1 = (c0 >>> 16) + a1 * b0;
  let c2 = c1 >>> 16;
  c1 = (c1 & 0xffff) + a0 * b1;
  c2 += c1 >>> 16;
  c2 += a2 * b0;
  let c3 = c2 >>> 16;
  c2 = (c2 & 0xffff) + a1 * b1;
  c3 += c2 >>> 16;
  c2 = (c2 & 0xffff) + a0 * b2;
  c3 += c2 >>> 16;
  c3 += a3 * b0 + a2 * b1 + a1 * b2 + a0 * b3;
  c0 &= 0xffff;
  return [(((c3 & 0xffff) << 16) | (c2 & 0xffff)) >>> 0, (((c1 & 0xffff) << 16) | c0) >>> 0];
}

let defaultGenerator = new Generator(0);

/** The generator used when an op gets neither `generator` nor `seed`. */
export function getDefaultGenerator(): Generator {
  return defaultGenerator;
}

/** Seeds the default generator (like `torch.manual_seed`). */
export function manualSeed(seed: number): Generator {
  defaultGenerator = new Generator(seed);
  return defaultGenerator;
}

export interface RandomOptions {
  /** A generator to draw from (its state advances). */
  generator?: Generator;
  /** A seed for a fresh generator; ignored when `generator` is given. */
  seed?: number;
}

/**
 * The generator `options` asks for: its own `generator` (shared, its state advances), else a fresh
 * one seeded with `seed`, else the global default (so `manualSeed(…)` makes unseeded ops and
 * layers reproducible). The one rule every random op, layer initialiser and loss follows.
 *
 * @example
 * generatorFrom({ seed: 7 }).uniform(); // same number on every run
 * generatorFrom(undefined) === getDefaultGenerator(); // true
 */
export function generatorFrom(options: RandomOptions | undefined): Generator {
  if (options?.generator) return options.generator;
  if (options?.seed !== undefined) return new Generator(options.seed);
  return defaultGenerator;
}
