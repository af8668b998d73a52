import { packageTestConfig } from '@polymodal/vitest-config';

export default packageTestConfig();
