import { libraryConfig } from '@polymodal/tsup-config';

// bin.ts is the `polymodal-data` bin; shims give the CommonJS bundle `import.meta.url`
// (the image decode pool resolves its worker's codecs from it).
export default libraryConfig({ entry: ['src/index.ts', 'src/bin.ts'], shims: true });
