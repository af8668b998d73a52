import { main } from '@polymodal/app-kit';
import { retrievalApp } from './commands.js';

await main(retrievalApp);
