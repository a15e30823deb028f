// The OpenAPI document and the route table must describe the same API: an endpoint added to one and forgotten
// in the other fails here. Also: the document is served without credentials, its references resolve, and the
// error codes docs/api.md lists are exactly the ones the API sends.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startTestRegistry, type TestRegistry } from '../../testing/registry.js';
import { API_ERROR_CODES, API_STATUS } from './errors.js';
import { OPENAPI_DOCUMENT } from './openapi.js';
import { API_ROUTES, matchApiRoute } from './routes.js';

type Json = Record<string, unknown>;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

function documentOperations(doc: Json): string[] {
  const out: string[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const [method, op] of Object.entries(item)) {
      if (METHODS.includes(method)) out.push(`${method.toUpperCase()} ${path} ${(op as { operationId: string }).operationId}`);
    }
  }
  return out.sort();
}

function tableOperations(): string[] {
  return API_ROUTES.flatMap((r) => Object.entries(r.methods).map(([m, op]) => `${m} ${r.path} ${op.id}`)).sort();
}

describe('OpenAPI document', () => {
  it('lists exactly the operations of the route table, with the same operation ids', () => {
    assert.deepEqual(documentOperations(OPENAPI_DOCUMENT), tableOperations());
    const ids = tableOperations().map((s) => s.split(' ')[2]);
    assert.equal(new Set(ids).size, ids.length, 'operation ids are unique');
  });

  it('declares every path parameter of every operation', () => {
    const doc = OPENAPI_DOCUMENT as { paths: Record<string, Json>; components: { parameters: Record<string, Json> } };
    const resolve = (p: Json): Json => (typeof p.$ref === 'string' ? doc.components.parameters[p.$ref.split('/').pop()!]! : p);
    for (const [path, item] of Object.entries(doc.paths)) {
      const wanted = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();
      for (const [method, op] of Object.entries(item)) {
        if (!METHODS.includes(method)) continue;
        const params = [...((item.parameters as Json[] | undefined) ?? []), ...(((op as Json).parameters as Json[] | undefined) ?? [])].map(resolve);
        const declared = params.filter((p) => p.in === 'path').map((p) => p.name as string).sort();
        assert.deepEqual(declared, wanted, `${method} ${path}`);
      }
    }
  });

  it('has no dangling $ref', () => {
    const doc = OPENAPI_DOCUMENT;
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const r of new Set(refs)) {
      const pointer = r.slice(8, -1);
      assert.ok(pointer.startsWith('#/'), pointer);
      let node: unknown = doc;
      for (const part of pointer.slice(2).split('/')) node = (node as Json | undefined)?.[part];
      assert.ok(node !== undefined, `${pointer} resolves`);
    }
  });

  it('matches concrete paths as documented: {repo} spans components, suffix routes win', () => {
    assert.equal(matchApiRoute('/repositories/a/b/c/tags')?.route.path, '/repositories/{repo}/tags');
    assert.deepEqual(matchApiRoute('/repositories/a/b/c/tags')?.params, { repo: 'a/b/c' });
    assert.deepEqual(matchApiRoute('/repositories/acme/app/permissions/team/devs')?.params, { repo: 'acme/app', kind: 'team', name: 'devs' });
    assert.deepEqual(matchApiRoute('/repositories/acme/app')?.params, { repo: 'acme/app' });
    assert.deepEqual(matchApiRoute('/namespaces/acme/robots/ci%2Bx')?.params, { namespace: 'acme', robot: 'ci+x' });
    assert.equal(matchApiRoute('/users/a/b'), undefined);
  });
});

describe('error codes', () => {
  it('docs/api.md lists exactly the codes the API sends, with their statuses', async () => {
    const md = await readFile(new URL('../../../docs/api.md', import.meta.url), 'utf8');
    const documented = [...md.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
    assert.deepEqual(documented, API_ERROR_CODES.map((c) => `${c} ${API_STATUS[c]}`).sort());
  });
});

describe('served document', () => {
  let withAuth: TestRegistry;
  let withoutAuth: TestRegistry;
  before(async () => {
    [withAuth, withoutAuth] = await Promise.all([startTestRegistry({ auth: true }), startTestRegistry()]);
  });
  after(async () => {
    await Promise.all([withAuth.close(), withoutAuth.close()]);
  });

  it('is served to anyone, with or without auth on the server', async () => {
    for (const reg of [withAuth, withoutAuth]) {
      const res = await fetch(`${reg.url}/api/v1/openapi.json`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const doc = (await res.json()) as Json;
      assert.equal(doc.openapi, '3.1.0');
      assert.deepEqual(doc, JSON.parse(JSON.stringify(OPENAPI_DOCUMENT)));
    }
  });

  it('without auth on the server, every other endpoint says so', async () => {
    const res = await fetch(`${withoutAuth.url}/api/v1/user`);
    assert.equal(res.status, 501);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'AUTH_DISABLED');
  });

  it('answers unknown paths and methods in the API’s error shape', async () => {
    const unknown = await fetch(`${withAuth.url}/api/v1/nothing-here`);
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
    const method = await fetch(`${withAuth.url}/api/v1/openapi.json`, { method: 'DELETE' });
    assert.equal(method.status, 405);
    assert.equal(method.headers.get('allow'), 'GET');
    assert.equal(((await method.json()) as { error: { code: string } }).error.code, 'METHOD_NOT_ALLOWED');
  });
});
