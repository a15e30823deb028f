// Several stateless nodes on one PostgreSQL: a token issued by one node is accepted by the others (the signing keys
// live in the database), a rotation on one node is picked up by the others on the first token with the new kid, and
// the first start of many nodes at once creates exactly one admin.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { PostgresStore } from '../metadata/postgres/store.js';
import { SKIP_POSTGRES, postgresTestUrl, uniqueSchema } from '../metadata/postgres/testing.js';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { pushImage, randomImage } from '../testing/fixtures.js';
import { AuthService } from '../auth/service.js';
import { TEST_AUTH_CONFIG } from '../testing/registry.js';

describe('auth across nodes on one PostgreSQL', { skip: SKIP_POSTGRES }, () => {
  const schema = uniqueSchema('auth');
  let nodes: TestRegistry[] = [];
  let password: string;

  before(async () => {
    // Three nodes start together: each bootstraps, exactly one creates admin.
    const stores = await Promise.all([0, 1, 2].map(() => PostgresStore.open({ url: postgresTestUrl(), schema, poolSize: 3 })));
    const services = await Promise.all(stores.map((s) => AuthService.open(s, TEST_AUTH_CONFIG)));
    const boots = await Promise.all(services.map((s) => s.bootstrapAdmin('admin-password')));
    assert.equal(boots.filter((b) => b.created).length, 1);
    password = 'admin-password';
    nodes = await Promise.all(stores.map((store) => startTestRegistry({ store, auth: true })));
  });
  after(async () => {
    for (const n of nodes) await n.close().catch(() => {});
    const cleanup = await PostgresStore.open({ url: postgresTestUrl(), schema, dropSchemaOnClose: true });
    await cleanup.close();
  });

  it('one admin for all nodes, and a token from node 0 works on nodes 1 and 2', async () => {
    assert.equal(await nodes[0]!.auth!.accounts.countUsers(), 1);
    const basic = `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;
    // Manifests live in the shared database, so a HEAD on any node finds what node 0 took in.
    const img = randomImage({ layers: 1, size: 64 });
    await pushImage(nodes[0]!.url, 'admin/app', img, 'v1', { Authorization: basic });
    const res = await fetch(`${nodes[0]!.url}/v2/auth?service=berth-test&scope=repository:admin/app:pull`, { headers: { Authorization: basic } });
    const { token } = (await res.json()) as { token: string };
    for (const n of nodes) {
      const r = await fetch(`${n.url}/v2/admin/app/manifests/v1`, { method: 'HEAD', headers: { Authorization: `Bearer ${token}` } });
      assert.equal(r.status, 200, n.url);
    }
  });

  it('a key rotated on node 1 signs tokens that nodes 0 and 2 accept', async () => {
    const basic = `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;
    const kid = await nodes[1]!.auth!.keys.rotate();
    await new Promise((r) => setTimeout(r, 1100)); // other nodes look again for an unknown kid at most once a second
    const res = await fetch(`${nodes[1]!.url}/v2/auth?service=berth-test&scope=repository:admin/app:pull`, { headers: { Authorization: basic } });
    const { token } = (await res.json()) as { token: string };
    assert.equal(decodeProtectedHeader(token).kid, kid);
    for (const n of [nodes[0]!, nodes[2]!]) {
      const r = await fetch(`${n.url}/v2/admin/app/manifests/v1`, { method: 'HEAD', headers: { Authorization: `Bearer ${token}` } });
      assert.equal(r.status, 200, n.url);
    }
  });
});
