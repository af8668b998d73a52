import { libraryConfig } from '@polymodal/tsup-config';

export default libraryConfig();
