#!/usr/bin/env node
/** The `polymodal-data` executable. */
import { createCli } from './cli.js';

createCli()
  .run(process.argv.slice(2))
  .catch((e: Error) => {
    console.error(`polymodal-data: ${e.message}`);
    process.exitCode = 1;
  });
