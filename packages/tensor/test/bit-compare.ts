/**
 * Index of the first element whose float32 bits differ, or −1. For bit-identity checks on large
 * arrays: vitest's toEqual walks typed arrays generically (about 4 s per million elements here).
 */
export function firstBitDifference(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (ua.length !== ub.length) return Math.min(ua.length, ub.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}
