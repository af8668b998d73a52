import type { ConvStemLayer } from '@polymodal/nn';
import { ArgumentError } from '@polymodal/tensor';

/** `"32:2,64:2"` → `ConvStem` layers (the `--stem` flag's and the twin's `--bn-layers` format). */
export function parseStemLayers(spec: string): ConvStemLayer[] {
  const layers = spec.split(',').map((part) => {
    const m = /^\s*(\d+):(\d+)\s*$/.exec(part);
    if (!m) throw new ArgumentError('parseStemLayers', `'${part}' is not channels:stride (in '${spec}')`);
    return { channels: Number(m[1]), stride: Number(m[2]) };
  });
  if (layers.some((l) => l.channels < 1 || l.stride < 1)) {
    throw new ArgumentError('parseStemLayers', `channels and stride must be ≥ 1 in '${spec}'`);
  }
  return layers;
}
