// Imports point one way (STYLE.md §1): http → registry → storage, metadata → content; cli → app → everything
// server-side. `content/` does no I/O. A wrong-way import fails here, as go-containerregistry's depcheck does.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

/** Which top-level folders each folder may import (itself always allowed). */
const ALLOWED: Record<string, string[]> = {
  content: [],
  storage: ['content'],
  metadata: ['content'],
  registry: ['content', 'storage', 'metadata'],
  auth: ['content', 'metadata'],
  scan: ['content', 'client'],
  certify: ['content', 'client', 'scan'],
  http: ['registry', 'auth', 'content', 'storage', 'metadata'],
  app: ['http', 'registry', 'auth', 'scan', 'certify', 'content', 'storage', 'metadata'],
  cli: ['app', 'registry', 'content', 'client', 'scan', 'certify'],
  client: ['content'],
  testing: ['http', 'registry', 'auth', 'content', 'storage', 'metadata'],
  interop: ['testing', 'http', 'registry', 'auth', 'content', 'storage', 'metadata', 'client', 'scan', 'certify'],
  bench: ['content', 'testing', 'app', 'http', 'registry', 'storage', 'metadata', 'client'],
};
const FORBIDDEN_IN_CONTENT = ['node:fs', 'node:fs/promises', 'node:http', 'node:https', 'node:net', 'better-sqlite3', 'node:child_process'];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? files(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

describe('dependency direction', () => {
  it('every import points the allowed way', () => {
    const wrong: string[] = [];
    for (const file of files(SRC)) {
      const from = relative(SRC, file).split('/')[0]!;
      if (!(from in ALLOWED)) continue;
      for (const m of readFileSync(file, 'utf8').matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)) {
        const spec = m[1]!;
        if (from === 'content' && FORBIDDEN_IN_CONTENT.includes(spec)) wrong.push(`${relative(SRC, file)} imports ${spec}`);
        if (!spec.startsWith('.')) continue;
        const to = relative(SRC, resolve(dirname(file), spec)).split('/')[0]!;
        if (to !== from && !ALLOWED[from]!.includes(to)) wrong.push(`${relative(SRC, file)} imports ${spec}`);
      }
    }
    assert.deepEqual(wrong, []);
  });
});
