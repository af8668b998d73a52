import { libraryConfig } from '@polymodal/tsup-config';

// backend-kit.ts is the `./backend` entry: helpers and the conformance table for backend packages.
export default libraryConfig({ entry: ['src/index.ts', 'src/backend-kit.ts'] });
