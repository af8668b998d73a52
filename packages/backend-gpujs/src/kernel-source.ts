/**
 * Builders for gpu.js kernel sources. Every kernel writes a 1-D output and decodes its thread
 * index into coordinates itself, so one compiled kernel serves every shape (sizes arrive as
 * arguments). gpu.js transpiles this JavaScript subset to GLSL, WGSL or WebAssembly.
 */

/**
 * `Math.floor((i + 0.5) / n)`: integer division that stays exact in float32 arithmetic (a plain
 * `i / n` can land just below an integer on GPUs). Exact while i·n < 2^23.
 */
export const idiv = (i: string, n: string) => `Math.floor((${i} + 0.5) / ${n})`;

/**
 * Source lines decoding `index` into coordinates c0..c{rank-1} of a row-major shape whose dims
 * 1..rank-1 are the arguments s1..s{rank-1}.
 */
export function decodeIndex(index: string, rank: number, prefix = 'c', shape = 's'): string {
  const lines: string[] = [];
  let rest = index;
  for (let d = rank - 1; d >= 1; d--) {
    lines.push(`const q${prefix}${d} = ${idiv(rest, `${shape}${d}`)};`);
    lines.push(`const ${prefix}${d} = ${rest} - q${prefix}${d} * ${shape}${d};`);
    rest = `q${prefix}${d}`;
  }
  lines.push(`const ${prefix}0 = ${rest};`);
  return lines.join('\n  ');
}

/** `c0*a0 + c1*a1 + …` */
export function dot(prefix: string, strides: string, rank: number): string {
  return Array.from({ length: rank }, (_, d) => `${prefix}${d} * ${strides}${d}`).join(' + ');
}

export const names = (prefix: string, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);

/**
 * The most (merged) dims the broadcast and strided-copy kernels index; one kernel is compiled per
 * rank up to it. Beyond it (rare: dims merge first) an op runs on the cpu backend.
 */
export const MAX_RANK = 6;

/** The most dims the pad and element-gather kernels index. */
export const MAX_DIMS = 4;

/** Pads a shape/stride list on the left to `rank` (default MAX_DIMS). */
export function padLeft(values: readonly number[], fill: number, rank = MAX_DIMS): number[] {
  return [...new Array<number>(Math.max(rank - values.length, 0)).fill(fill), ...values];
}
