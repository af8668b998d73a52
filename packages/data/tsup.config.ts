import { libraryConfig } from '@polymodal/tsup-config';

// bin.ts is the `polymodal-data` bin; browser.ts the `./browser` entry (no `node:*` imports);
// shims give the CommonJS bundle `import.meta.url` (the image decode pool resolves its worker's
// codecs from it).
export default libraryConfig({ entry: ['src/index.ts', 'src/browser.ts', 'src/bin.ts'], shims: true });
