// `berth migrate`: the embedded default → PostgreSQL + S3 → back, every digest verified; idempotent re-runs;
// a corrupt source blob stops the migration and never lands in the target.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { digestOf } from '../content/digest.js';
import { OCI_INDEX, OCI_MANIFEST } from '../content/media-types.js';
import { startBerthProcess } from '../testing/processes.js';
import { startS3Server, type S3TestServer } from '../testing/s3.js';
import { POSTGRES_TEST_URL, uniqueSchema } from '../metadata/postgres/testing.js';
import { indexOf, pushBlob, pushImage, pushManifest, randomBlob, randomImage, type ImageFixture } from '../testing/fixtures.js';

const BIN = fileURLToPath(new URL('../../bin/berth.js', import.meta.url));
let dir: string;
before(async () => (dir = await mkdtemp(join(tmpdir(), 'berth-migrate-'))));
after(() => rm(dir, { recursive: true, force: true }));

async function embeddedConfig(name: string): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, `data: ${join(dir, name)}\nlog:\n  requests: false\n`);
  return file;
}

async function migrate(from: string, to: string): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [BIN, 'migrate', '--from', from, '--to', to, '--format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  return { code, out, err };
}

interface Content {
  images: Array<{ repo: string; tag: string; img: ImageFixture }>;
  index: { repo: string; tag: string; digest: string; bytes: Buffer };
  referrer: { repo: string; digest: string; subject: string };
  loose: { repo: string; digest: string; bytes: Buffer };
}

async function populate(url: string): Promise<Content> {
  const images = [
    { repo: 'team/app', tag: 'v1', img: randomImage({ layers: 2, size: 40_000 }) },
    { repo: 'team/app', tag: 'v2', img: randomImage({ layers: 1, size: 10_000 }) },
    { repo: 'other', tag: 'latest', img: randomImage({ format: 'docker' }) },
  ];
  for (const { repo, tag, img } of images) await pushImage(url, repo, img, tag);
  await pushManifest(url, 'team/app', 'also-v1', images[0]!.img.manifest, OCI_MANIFEST);
  const children = [randomImage(), randomImage({ platform: { os: 'linux', architecture: 'arm64' } })];
  for (const c of children) await pushImage(url, 'multi', c);
  const idx = indexOf(children);
  await pushManifest(url, 'multi', 'latest', idx.bytes, OCI_INDEX);
  const sub = images[0]!.img;
  const ref = randomImage({ extra: { subject: { mediaType: OCI_MANIFEST, digest: sub.digest, size: sub.manifest.length } } });
  await pushImage(url, 'team/app', ref);
  const loose = randomBlob(3000);
  await pushBlob(url, 'team/app', loose);
  return {
    images,
    index: { repo: 'multi', tag: 'latest', digest: idx.digest, bytes: idx.bytes },
    referrer: { repo: 'team/app', digest: ref.digest, subject: sub.digest },
    loose: { repo: 'team/app', digest: loose.digest, bytes: loose.bytes },
  };
}

async function assertContent(url: string, c: Content): Promise<void> {
  for (const { repo, tag, img } of c.images) {
    const m = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { headers: { Accept: img.mediaType } });
    assert.equal(m.headers.get('docker-content-digest'), img.digest, `${repo}:${tag}`);
    assert.deepEqual(Buffer.from(await m.arrayBuffer()), img.manifest);
    for (const b of [img.config, ...img.layers]) {
      const r = await fetch(`${url}/v2/${repo}/blobs/${b.digest}`);
      assert.equal(digestOf(Buffer.from(await r.arrayBuffer())), b.digest);
    }
  }
  const tags = (await (await fetch(`${url}/v2/team/app/tags/list`)).json()) as { tags: string[] };
  assert.deepEqual(tags.tags, ['also-v1', 'v1', 'v2']);
  const idx = await fetch(`${url}/v2/${c.index.repo}/manifests/${c.index.tag}`, { headers: { Accept: OCI_INDEX } });
  assert.deepEqual(Buffer.from(await idx.arrayBuffer()), c.index.bytes);
  const refs = (await (await fetch(`${url}/v2/${c.referrer.repo}/referrers/${c.referrer.subject}`)).json()) as { manifests: Array<{ digest: string }> };
  assert.deepEqual(refs.manifests.map((m) => m.digest), [c.referrer.digest]);
  const loose = await fetch(`${url}/v2/${c.loose.repo}/blobs/${c.loose.digest}`);
  assert.deepEqual(Buffer.from(await loose.arrayBuffer()), c.loose.bytes);
  const catalog = (await (await fetch(`${url}/v2/_catalog`)).json()) as { repositories: string[] };
  assert.deepEqual(catalog.repositories, ['multi', 'other', 'team/app']);
}

async function serveAndPopulate(config: string): Promise<Content> {
  const node = await startBerthProcess(['--config', config]);
  try {
    return await populate(node.url);
  } finally {
    await node.stop();
  }
}

async function serveAndCheck(config: string, c: Content): Promise<void> {
  const node = await startBerthProcess(['--config', config]);
  try {
    await assertContent(node.url, c);
  } finally {
    await node.stop();
  }
}

describe('berth migrate', () => {
  it('copies an embedded registry into another, verifies it, and copies nothing the second time', async () => {
    const a = await embeddedConfig('a');
    const b = await embeddedConfig('b');
    const content = await serveAndPopulate(a);
    const first = await migrate(a, b);
    assert.equal(first.code, 0, first.err);
    const r1 = JSON.parse(first.out) as { repositories: number; manifests: number; tags: number; blobs: { copied: number; skipped: number } };
    assert.equal(r1.repositories, 3);
    assert.equal(r1.tags, 5);
    assert.ok(r1.blobs.copied > 0);
    await serveAndCheck(b, content);
    const second = await migrate(a, b);
    const r2 = JSON.parse(second.out) as { blobs: { copied: number; skipped: number } };
    assert.equal(r2.blobs.copied, 0);
    assert.equal(r2.blobs.skipped, r1.blobs.copied + r1.blobs.skipped);
  });

  it('stops at a corrupt source blob, naming it, and the target never records it', async () => {
    const a = await embeddedConfig('corrupt-src');
    const b = await embeddedConfig('corrupt-dst');
    const node = await startBerthProcess(['--config', a]);
    const blob = randomBlob(5000);
    await pushBlob(node.url, 'c/repo', blob);
    await node.stop();
    const hex = blob.digest.slice('sha256:'.length);
    const file = join(dir, 'corrupt-src', 'storage', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
    await writeFile(file, 'tampered');
    const res = await migrate(a, b);
    assert.notEqual(res.code, 0);
    assert.match(res.err, new RegExp(`blob ${blob.digest} in c/repo is corrupt in the source`));
    const target = await startBerthProcess(['--config', b]);
    try {
      assert.equal((await fetch(`${target.url}/v2/c/repo/blobs/${blob.digest}`, { method: 'HEAD' })).status, 404);
    } finally {
      await target.stop();
    }
    const stored = await readdir(join(dir, 'corrupt-dst', 'storage')).catch((): string[] => []);
    assert.ok(!stored.includes('blobs') || (await readdir(join(dir, 'corrupt-dst', 'storage', 'blobs'))).length === 0, 'no bytes left in the target');
  });

  describe('to PostgreSQL + S3 and back', { skip: !POSTGRES_TEST_URL && 'set BERTH_TEST_POSTGRES_URL to run the PostgreSQL migration test' }, () => {
    let s3: S3TestServer;
    let schema: string;
    before(async () => {
      s3 = await startS3Server();
      schema = uniqueSchema('migrate');
    });
    after(async () => {
      await s3.close();
      spawnSync('psql', [POSTGRES_TEST_URL!, '-c', `DROP SCHEMA IF EXISTS ${schema} CASCADE`]);
    });

    it('round-trips every manifest, tag and blob', async () => {
      const embedded = await embeddedConfig('roundtrip-a');
      const back = await embeddedConfig('roundtrip-c');
      const url = new URL(POSTGRES_TEST_URL!);
      url.searchParams.set('schema', schema);
      const scaleout = join(dir, 'scaleout.yaml');
      await writeFile(
        scaleout,
        `data: ${join(dir, 'scaleout-keys')}
database: ${url.toString()}
log:
  requests: false
storage:
  driver: s3
  s3:
    bucket: ${await s3.createBucket()}
    endpoint: ${s3.endpoint}
    region: ${s3.region}
    forcePathStyle: true
    accessKeyId: ${s3.accessKeyId}
    secretAccessKey: ${s3.secretAccessKey}
`,
      );
      const content = await serveAndPopulate(embedded);
      const there = await migrate(embedded, scaleout);
      assert.equal(there.code, 0, there.err);
      await serveAndCheck(scaleout, content);
      const home = await migrate(scaleout, back);
      assert.equal(home.code, 0, home.err);
      await serveAndCheck(back, content);
    });
  });
});
