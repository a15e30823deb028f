import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { digestOf, type Digest } from '../../content/digest.js';
import type { NewManifest } from '../store.js';
import { MIGRATIONS } from './migrations.js';
import { PostgresStore } from './store.js';
import { SKIP_POSTGRES, openTestPostgresStore, postgresTestUrl, uniqueSchema } from './testing.js';

// The shared conformance suite runs over this store in ../conformance.test.ts; these are PostgreSQL's own:
// several nodes (store instances) on one database at once.

const IMAGE_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const T0 = new Date(Date.UTC(2020, 0, 1));
const LATER = new Date(Date.UTC(2020, 0, 2));

describe('PostgresStore', { skip: SKIP_POSTGRES }, () => {
  const opened: PostgresStore[] = [];
  after(async () => {
    for (const s of opened) await s.close();
  });
  /** A store (a "node") on `schema`; the last one closed drops it. */
  const node = async (schema: string, poolSize = 4) => {
    const s = await PostgresStore.open({ url: postgresTestUrl(), schema, poolSize, dropSchemaOnClose: true });
    opened.push(s);
    return s;
  };
  const sql = async <R extends pg.QueryResultRow>(schema: string, text: string): Promise<R[]> => {
    const client = new pg.Client({ connectionString: postgresTestUrl(), options: `-c search_path=${schema}` });
    await client.connect();
    try {
      return (await client.query<R>(text)).rows;
    } finally {
      await client.end();
    }
  };

  it('is named postgres and keeps schemas apart through search_path', async () => {
    const a = await node(uniqueSchema('iso'));
    const b = await node(uniqueSchema('iso'));
    assert.equal(a.name, 'postgres');
    await a.linkBlob('library/alpine', digestOf('x'), 1);
    assert.deepEqual(await a.listRepositories(), ['library/alpine']);
    assert.deepEqual(await b.listRepositories(), []);
    assert.equal(await b.getBlob(digestOf('x')), undefined);
  });

  it('applies migrations once, also when several nodes start at the same moment', async () => {
    const schema = uniqueSchema('migrate');
    const nodes = await Promise.all([node(schema, 1), node(schema, 1), node(schema, 1), node(schema, 1)]);
    await node(schema, 1); // and again, later
    const rows = await sql<{ version: number; name: string }>(
      schema,
      'SELECT version, name FROM schema_migrations ORDER BY version',
    );
    assert.deepEqual(rows, MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    await nodes[0]!.linkBlob('r', digestOf('y'), 1);
    assert.equal(await nodes[3]!.repositoryExists('r'), true);
  });

  it('refuses a schema from a newer version, and names the database in errors', async () => {
    const schema = uniqueSchema('future');
    const first = await node(schema);
    await sql(schema, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)`);
    await assert.rejects(
      PostgresStore.open({ url: postgresTestUrl(), schema }),
      /opening PostgreSQL metadata store at .*schema version 999 is newer/,
    );
    assert.ok(await first.storedBytes() >= 0);
    await assert.rejects(PostgresStore.open({ url: postgresTestUrl(), schema: 'Bad-Name' }), /invalid PostgreSQL schema name/);
    await assert.rejects(
      PostgresStore.open({ url: 'postgres://nobody:secret@127.0.0.1:1/none', schema: 'x' }),
      (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.match(err.message, /^opening PostgreSQL metadata store at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none/);
        return true;
      },
    );
  });

  it('lets exactly one of two nodes move a tag at once, and keeps the tags and GC history consistent', async () => {
    const schema = uniqueSchema('tags');
    const [a, b] = [await node(schema), await node(schema)];
    const m1 = await pushImage(a, 'app');
    const m2 = await pushImage(b, 'app');
    for (let round = 0; round < 20; round++) {
      await Promise.all([
        a.putManifest({ ...m1, tags: ['latest', 'stable'] }),
        b.putManifest({ ...m2, tags: ['stable', 'latest'] }),
      ]);
      const latest = (await a.getTaggedManifest('app', 'latest'))?.digest;
      const stable = (await b.getTaggedManifest('app', 'stable'))?.digest;
      assert.ok(latest === m1.digest || latest === m2.digest);
      assert.equal(stable, latest, `round ${round}: one putManifest moved both tags`);
    }
    const winner = (await a.getTaggedManifest('app', 'latest'))!.digest;
    const loser = winner === m1.digest ? m2.digest : m1.digest;
    // The manifest that lost was queued by whichever move took the tags from it.
    assert.deepEqual(await b.deleteUntaggedManifests(LATER, 100), [{ repo: 'app', digest: loser }]);
    assert.ok(await a.getManifest('app', winner));
    assert.equal(await a.deleteUnreferencedLinks(LATER, 100), 2);
    assert.equal((await b.deleteOrphanBlobs(LATER, 100)).length, 2);
    assert.equal(await a.queueDepth(), 0);
  });

  it('lets exactly one advanceUpload win across nodes', async () => {
    const schema = uniqueSchema('cas');
    const [a, b] = [await node(schema), await node(schema)];
    for (let round = 0; round < 5; round++) {
      const id = `upload-${round}`;
      await a.createUpload({ id, repo: 'app' });
      const results = await Promise.all(
        Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).advanceUpload(id, 0, 100 + i)),
      );
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal((await b.getUpload('app', id))?.size, 100 + results.indexOf(true));
    }
  });

  it('never lets two collectors take the same candidate', async () => {
    const schema = uniqueSchema('gc');
    const [a, b] = [await node(schema), await node(schema)];
    const pushed: Digest[] = [];
    for (let i = 0; i < 30; i++) pushed.push((await pushImage(a, 'app')).digest);
    const [fromA, fromB] = await Promise.all([a.deleteUntaggedManifests(LATER, 100), b.deleteUntaggedManifests(LATER, 100)]);
    const all = [...fromA, ...fromB].map((k) => k.digest);
    assert.equal(new Set(all).size, all.length, 'no manifest deleted twice');
    assert.deepEqual([...all].sort(), [...pushed].sort());
    const links = await Promise.all([a.deleteUnreferencedLinks(LATER, 100), b.deleteUnreferencedLinks(LATER, 100)]);
    assert.equal(links[0] + links[1], 60);
    const blobs = await Promise.all([a.deleteOrphanBlobs(LATER, 100), b.deleteOrphanBlobs(LATER, 100)]);
    assert.equal(blobs[0].length + blobs[1].length, 60);
    assert.equal(await a.queueDepth(), 0);
  });

  it('keeps what a push references while another node collects', async () => {
    const schema = uniqueSchema('race');
    const [a, b] = [await node(schema), await node(schema)];
    // Links queued at T0 that pushes reference while the collector runs: each is either referenced by
    // the time it is reviewed (kept), or removed first (and then the push fails with missing references).
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const layer = digestOf(`race-layer-${i}`);
        await a.linkBlob('app', layer, 1, T0);
        const content = new TextEncoder().encode(JSON.stringify({ layers: [layer] }));
        const m: NewManifest = { repo: 'app', digest: digestOf(content), mediaType: IMAGE_MANIFEST, content, blobs: [layer], children: [], tags: [`v${i}`] };
        const [pushed] = await Promise.allSettled([a.putManifest(m), b.deleteUnreferencedLinks(LATER, 100)]);
        return { layer, pushed: pushed.status === 'fulfilled' };
      }),
    );
    for (const { layer, pushed } of results) {
      if (pushed) assert.ok(await a.getRepositoryBlob('app', layer), 'a referenced link survives');
    }
    assert.equal(await b.deleteUnreferencedLinks(LATER, 100), 0);
  });

  it('a GC run reads only its queues, not every row', async () => {
    const schema = uniqueSchema('scale');
    const store = await node(schema);
    await pushImage(store, 'app', ['latest']);
    assert.equal(await store.deleteUnreferencedLinks(LATER, 100), 0);
    // 5,000 old links referenced by the manifest, and 5,000 old unreferenced ones, written behind the
    // store's back: nothing queued them, so no run reviews them, however many rows there are.
    await sql(
      schema,
      `INSERT INTO blobs (digest, size, created_at) SELECT 'sha256:' || lpad(to_hex(i), 64, '0'), 1, 0 FROM generate_series(1, 10000) i;
       INSERT INTO repository_blobs (repo_id, digest, linked_at) SELECT r.id, b.digest, 0 FROM blobs b, repositories r WHERE b.size = 1 AND b.created_at = 0;
       INSERT INTO manifest_blobs (manifest_id, repo_id, digest)
         SELECT m.id, m.repo_id, 'sha256:' || lpad(to_hex(i), 64, '0') FROM manifests m, generate_series(1, 5000) i;`,
    );
    const started = performance.now();
    assert.deepEqual(await store.deleteUntaggedManifests(LATER, 500), []);
    assert.equal(await store.deleteUnreferencedLinks(LATER, 500), 0);
    assert.deepEqual(await store.deleteOrphanBlobs(LATER, 500), []);
    assert.equal(await store.queueDepth(), 0);
    assert.ok(performance.now() - started < 500, 'three empty queue reads');
  });

  it('answers getTaggedManifest from indexes, in one statement', async () => {
    const schema = uniqueSchema('plan');
    await node(schema);
    const client = new pg.Client({ connectionString: postgresTestUrl(), options: `-c search_path=${schema}` });
    await client.connect();
    try {
      await client.query('SET enable_seqscan = off');
      const plan = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT m.digest FROM repositories r JOIN tags t ON t.repo_id = r.id
           JOIN manifests m ON m.id = t.manifest_id WHERE r.name = 'a' AND t.name = 'b'`,
      );
      const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
      assert.doesNotMatch(text, /Seq Scan/);
      assert.match(text, /repositories_name_key/);
      assert.match(text, /tags_pkey/);
    } finally {
      await client.end();
    }
  });

  it('provides a locker scoped to its schema', async () => {
    const schema = uniqueSchema('locker');
    const [a, b] = [await node(schema), await node(schema)];
    const other = await openTestPostgresStore();
    opened.push(other);
    let release!: () => void;
    let held!: () => void;
    const isHeld = new Promise<void>((r) => (held = r));
    const holder = a.locker().withLock('gc', () => {
      held();
      return new Promise<void>((r) => (release = r));
    });
    await isHeld;
    assert.deepEqual(await b.locker().tryWithLock('gc', async () => 1), { acquired: false });
    assert.deepEqual(await other.locker().tryWithLock('gc', async () => 1), { acquired: true, value: 1 });
    release();
    await holder;
  });
});

let pushes = 0;

/** Links a config and a layer at T0 and puts an untagged (unless `tags`) image manifest over them. */
async function pushImage(store: PostgresStore, repo: string, tags?: string[]): Promise<NewManifest> {
  pushes += 1;
  const blobs = [digestOf(`config ${process.pid} ${pushes}`), digestOf(`layer ${process.pid} ${pushes}`)];
  for (const d of blobs) await store.linkBlob(repo, d, 10, T0);
  const content = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, layers: blobs }));
  const m: NewManifest = { repo, digest: digestOf(content), mediaType: IMAGE_MANIFEST, content, blobs, children: [], tags, now: T0 };
  await store.putManifest(m);
  return m;
}
