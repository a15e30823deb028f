#!/usr/bin/env node
import { main } from '../dist/bundle/main.js';

main(process.argv).catch((err) => {
  process.stderr.write(`berth: ${err?.message ?? err}\n`);
  process.exitCode = process.exitCode || 1;
});
