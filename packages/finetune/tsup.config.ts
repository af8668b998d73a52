import { libraryConfig } from '@polymodal/tsup-config';

// node.ts is the `./node` entry: checkpoints, metrics logs, reports and LoRA adapters on disk, the
// terminal progress bar, and the Trainer that writes them.
export default libraryConfig({ entry: ['src/index.ts', 'src/node.ts'] });
