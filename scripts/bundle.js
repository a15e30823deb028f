#!/usr/bin/env node
// Bundles the CLI (dist/cli/main.js, as tsc wrote it) into dist/bundle/: a few files for Node to load instead of
// some hundred modules, which is most of a short command's time (a `berth copy` that moves no bytes spent 100 of its
// 180 ms resolving, reading and compiling modules). Each command's library stays a lazy chunk of its own.
// Native, large or rarely used packages stay external and load from node_modules as before.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const bundled = new Set(['commander']);

// Chunk names carry content hashes: clear the last build's, so none is left behind.
rmSync('dist/bundle', { recursive: true, force: true });

await build({
  entryPoints: { main: 'dist/cli/main.js' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: Object.keys(pkg.dependencies).filter((d) => !bundled.has(d)),
  // commander is CommonJS and calls require() for Node's own modules, which an ES module must be given.
  banner: { js: "import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);" },
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});
