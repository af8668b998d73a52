import { libraryConfig } from '@polymodal/tsup-config';

// bin.ts is the `polymodal-data` bin; browser.ts the `./browser` entry (no `node:*` imports).
export default libraryConfig({ entry: ['src/index.ts', 'src/browser.ts', 'src/bin.ts'] });
