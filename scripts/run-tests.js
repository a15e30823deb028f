#!/usr/bin/env node
// Runs every compiled *.test.js under dist/ with node's own test runner.
// Node 20's `--test` takes no globs, so the file list is gathered here.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const filter = process.argv[2];
function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? walk(p) : e.name.endsWith('.test.js') ? [p] : [];
  });
}
const files = walk('dist').filter((f) => !filter || f.includes(filter)).sort();
if (files.length === 0) {
  // Without files, node --test would run every test it finds: never what a filter meant.
  console.error(`no test file matches ${JSON.stringify(filter ?? '')}`);
  process.exit(1);
}
// --test-timeout bounds every test (a hang fails with a message instead of stalling CI); --test-force-exit ends a
// file whose tests are done even if something it started forgot to stop (that is a bug, but not a CI hang).
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=180000', '--test-force-exit', ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
