import { libraryConfig } from '@polymodal/tsup-config';

// node.ts is the `./node` entry: safetensors files on disk (node:fs).
export default libraryConfig({ entry: ['src/index.ts', 'src/node.ts'] });
