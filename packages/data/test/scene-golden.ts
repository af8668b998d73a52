import golden from '../fixtures/scene-pixels.json';
import type { SceneOptions } from '../src/generator/scene.js';

/** One scene of fixtures/scene-pixels.json (written by scripts/write-scene-golden.mjs). */
export interface GoldenScene extends Required<Pick<SceneOptions, 'size' | 'objects' | 'layout'>> {
  seed: number;
  objectList: string[];
  sha256: string;
}

export const goldenScenes = golden.scenes as GoldenScene[];

/** SHA-256 of bytes as hex, with WebCrypto (the same call in Node 20 and in the browser). */
export async function sha256Hex(bytes: Uint8Array | Uint8ClampedArray): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new Uint8Array(bytes));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
