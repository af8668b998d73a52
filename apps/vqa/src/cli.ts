import { main } from '@polymodal/app-kit';
import { vqaApp } from './commands.js';

await main(vqaApp);
