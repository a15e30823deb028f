// Scale-out: three stateless `berth serve` nodes on one PostgreSQL schema and one S3 bucket, behind nginx
// running deploy/nginx/berth.conf. Pushes and pulls cross nodes, one upload's chunks alternate between nodes,
// two nodes race on one tag, GC runs on one node while the others push, and a node dies mid-upload.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestOf } from '../content/digest.js';
import { OCI_MANIFEST } from '../content/media-types.js';
import { startS3Server, type S3TestServer } from '../testing/s3.js';
import { startBerthProcess, type BerthProcess } from '../testing/processes.js';
import { hasNginx, startNginx, type RunningNginx } from '../testing/nginx.js';
import { POSTGRES_TEST_URL, uniqueSchema } from '../metadata/postgres/testing.js';
import { errorOf, pushBlob, pushImage, randomBlob, randomImage } from '../testing/fixtures.js';

const skip = !POSTGRES_TEST_URL ? 'set BERTH_TEST_POSTGRES_URL to run the multi-node tests' : !hasNginx ? 'nginx is not installed' : false;

let dir: string;
let s3: S3TestServer;
let nodes: BerthProcess[] = [];
let nginx: RunningNginx | undefined;
let schema: string;

async function startNode(i: number, configFile: string): Promise<BerthProcess> {
  return startBerthProcess(['--config', configFile, '--data', join(dir, `node${i}`)]);
}

describe('multi-node on PostgreSQL + S3 behind nginx', { skip }, () => {
  let configFile: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-multinode-'));
    s3 = await startS3Server();
    const bucket = await s3.createBucket();
    schema = uniqueSchema('multinode');
    const url = new URL(POSTGRES_TEST_URL!);
    url.searchParams.set('schema', schema);
    configFile = join(dir, 'config.yaml');
    await writeFile(
      configFile,
      `database: ${url.toString()}
storage:
  driver: s3
  s3:
    bucket: ${bucket}
    endpoint: ${s3.endpoint}
    region: ${s3.region}
    forcePathStyle: true
    accessKeyId: ${s3.accessKeyId}
    secretAccessKey: ${s3.secretAccessKey}
schema1:
  keyFile: ${join(dir, 'schema1.pem')}
log:
  requests: false
gc:
  interval: "0"
  grace: 1h
`,
    );
    // Nodes start one after another so the first creates the shared key; migrations are safe either way.
    for (let i = 0; i < 3; i++) nodes.push(await startNode(i, configFile));
    nginx = await startNginx(dir, nodes.map((n) => new URL(n.url).host));
  });
  after(async () => {
    await nginx?.stop();
    await Promise.all(nodes.map((n) => n.stop()));
    await s3?.close();
    if (POSTGRES_TEST_URL) spawnSync('psql', [POSTGRES_TEST_URL, '-c', `DROP SCHEMA IF EXISTS ${schema} CASCADE`]);
    await rm(dir, { recursive: true, force: true });
  });

  it('pushes through one node and pulls through another, and through nginx', async () => {
    const img = randomImage({ layers: 3, size: 100_000 });
    await pushImage(nodes[0]!.url, 'mn/app', img, 'v1');
    for (const base of [nodes[1]!.url, nodes[2]!.url, nginx!.url]) {
      const m = await fetch(`${base}/v2/mn/app/manifests/v1`, { headers: { Accept: OCI_MANIFEST } });
      assert.equal(m.headers.get('docker-content-digest'), img.digest);
      assert.deepEqual(Buffer.from(await m.arrayBuffer()), img.manifest);
      for (const l of img.layers) {
        const b = await fetch(`${base}/v2/mn/app/blobs/${l.digest}`);
        assert.deepEqual(Buffer.from(await b.arrayBuffer()), l.bytes);
      }
    }
    const big = randomImage({ layers: 2, size: 3 * 1024 * 1024 });
    await pushImage(nginx!.url, 'mn/viaproxy', big, 'v1');
    const tags = await (await fetch(`${nodes[2]!.url}/v2/mn/viaproxy/tags/list`)).json();
    assert.deepEqual(tags, { name: 'mn/viaproxy', tags: ['v1'] });
  });

  it('accepts the chunks of one upload on alternating nodes', async () => {
    const blob = randomBlob(12 * 1024 * 1024);
    const post = await fetch(`${nodes[0]!.url}/v2/mn/chunks/blobs/uploads/`, { method: 'POST' });
    const location = post.headers.get('location')!;
    const chunk = 3 * 1024 * 1024;
    for (let off = 0, i = 0; off < blob.bytes.length; off += chunk, i++) {
      const node = nodes[i % 3]!;
      const res = await fetch(`${node.url}${location}`, {
        method: 'PATCH',
        body: new Uint8Array(blob.bytes.subarray(off, off + chunk)),
        headers: { 'Content-Range': `${off}-${Math.min(off + chunk, blob.bytes.length) - 1}` },
      });
      assert.equal(res.status, 202, `chunk ${i} on node ${i % 3}: ${await res.text()}`);
    }
    const status = await fetch(`${nodes[1]!.url}${location}`);
    assert.equal(status.headers.get('range'), `0-${blob.bytes.length - 1}`);
    const put = await fetch(`${nodes[2]!.url}${location}?digest=${blob.digest}`, { method: 'PUT' });
    assert.equal(put.status, 201, await put.text());
    const get = await fetch(`${nodes[0]!.url}/v2/mn/chunks/blobs/${blob.digest}`);
    assert.equal(digestOf(Buffer.from(await get.arrayBuffer())), blob.digest);
  });

  it('lets exactly one of two nodes win a race on the same tag, and every node agrees', async () => {
    const a = randomImage();
    const b = randomImage();
    await pushImage(nodes[0]!.url, 'mn/race', a);
    await pushImage(nodes[1]!.url, 'mn/race', b);
    for (let round = 0; round < 15; round++) {
      const results = await Promise.all([
        fetch(`${nodes[0]!.url}/v2/mn/race/manifests/hot`, { method: 'PUT', body: new Uint8Array(a.manifest), headers: { 'Content-Type': OCI_MANIFEST } }),
        fetch(`${nodes[1]!.url}/v2/mn/race/manifests/hot`, { method: 'PUT', body: new Uint8Array(b.manifest), headers: { 'Content-Type': OCI_MANIFEST } }),
      ]);
      assert.deepEqual(results.map((r) => r.status), [201, 201]);
      const seen = await Promise.all(nodes.map(async (n) => (await fetch(`${n.url}/v2/mn/race/manifests/hot`, { method: 'HEAD', headers: { Accept: OCI_MANIFEST } })).headers.get('docker-content-digest')));
      assert.equal(new Set(seen).size, 1, `round ${round}: nodes disagree: ${seen.join(' ')}`);
      assert.ok(seen[0] === a.digest || seen[0] === b.digest);
    }
    const tags = (await (await fetch(`${nodes[2]!.url}/v2/mn/race/tags/list`)).json()) as { tags: string[] };
    assert.deepEqual(tags.tags, ['hot']);
  });

  it('collects garbage on one node while the others push, losing nothing referenced or young', async () => {
    const images = Array.from({ length: 9 }, () => randomImage({ layers: 2, size: 30_000 }));
    const garbage = randomImage();
    await pushImage(nodes[0]!.url, 'mn/gc', garbage, 'old');
    await fetch(`${nodes[0]!.url}/v2/mn/gc/manifests/${garbage.digest}`, { method: 'DELETE' });
    let pushing = true;
    const gcLoop = (async () => {
      let runs = 0;
      while (pushing || runs === 0) {
        nodes[0]!.child.kill('SIGUSR2');
        runs++;
        await new Promise((r) => setTimeout(r, 30));
      }
      return runs;
    })();
    await Promise.all(images.map((img, i) => pushImage(nodes[1 + (i % 2)]!.url, 'mn/gc', img, `t${i}`)));
    pushing = false;
    await gcLoop;
    for (let i = 0; i < 100 && !nodes[0]!.lines.some((l) => l.msg === 'garbage collected'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(nodes[0]!.lines.some((l) => l.msg === 'garbage collected'));
    for (const [i, img] of images.entries()) {
      const m = await fetch(`${nodes[0]!.url}/v2/mn/gc/manifests/t${i}`, { method: 'HEAD' });
      assert.equal(m.status, 200);
      for (const l of [img.config, ...img.layers]) {
        const b = await fetch(`${nodes[2]!.url}/v2/mn/gc/blobs/${l.digest}`);
        assert.deepEqual(Buffer.from(await b.arrayBuffer()), l.bytes);
      }
    }
  });

  it('survives a node killed mid-upload: the upload resumes on another node, nothing is half-visible', async () => {
    const victim = nodes[2]!;
    const blob = randomBlob(8 * 1024 * 1024);
    const post = await fetch(`${victim.url}/v2/mn/crash/blobs/uploads/`, { method: 'POST' });
    const location = post.headers.get('location')!;
    await fetch(`${victim.url}${location}`, { method: 'PATCH', body: new Uint8Array(blob.bytes.subarray(0, 4 * 1024 * 1024)), headers: { 'Content-Range': `0-${4 * 1024 * 1024 - 1}` } });
    let offset = 4 * 1024 * 1024;
    // Once the node is killed the body errors, so nothing keeps feeding a request that is gone.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (victim.child.signalCode) return controller.error(new Error('the node was killed'));
        controller.enqueue(new Uint8Array(blob.bytes.subarray(offset, offset + 512 * 1024)));
        offset += 512 * 1024;
        if (offset >= 6 * 1024 * 1024) victim.child.kill('SIGKILL');
        await new Promise((r) => setTimeout(r, 10));
      },
    });
    await fetch(`${victim.url}${location}`, { method: 'PATCH', body, duplex: 'half', headers: { 'Content-Range': `${4 * 1024 * 1024}-${blob.bytes.length - 1}` } } as RequestInit).catch(() => undefined);
    await victim.exited;
    assert.equal((await fetch(`${nodes[0]!.url}/v2/mn/crash/blobs/${blob.digest}`, { method: 'HEAD' })).status, 404);
    const status = await fetch(`${nodes[0]!.url}${location}`);
    assert.equal(status.status, 204);
    const resumeAt = Number(status.headers.get('range')!.split('-')[1]) + 1;
    assert.equal(resumeAt, 4 * 1024 * 1024, 'the session stands at its last committed chunk');
    const rest = await fetch(`${nodes[1]!.url}${location}`, { method: 'PATCH', body: new Uint8Array(blob.bytes.subarray(resumeAt)), headers: { 'Content-Range': `${resumeAt}-${blob.bytes.length - 1}` } });
    assert.equal(rest.status, 202, await rest.text());
    const put = await fetch(`${nodes[0]!.url}${location}?digest=${blob.digest}`, { method: 'PUT' });
    assert.equal(put.status, 201);
    const get = await fetch(`${nodes[1]!.url}/v2/mn/crash/blobs/${blob.digest}`);
    assert.equal(digestOf(Buffer.from(await get.arrayBuffer())), blob.digest);
    nodes[2] = await startNode(2, configFile);
  });

  it('redirects blob GETs to presigned storage URLs when configured', async () => {
    const blob = randomBlob(5000);
    await pushBlob(nodes[0]!.url, 'mn/redirect', blob);
    const cfg = (await readFile(configFile, 'utf8')).replace('    forcePathStyle: true\n', '    forcePathStyle: true\n    redirect: true\n');
    const redirectConfig = join(dir, 'redirect.yaml');
    await writeFile(redirectConfig, cfg);
    const node = await startBerthProcess(['--config', redirectConfig, '--data', join(dir, 'node-redirect')]);
    try {
      const res = await fetch(`${node.url}/v2/mn/redirect/blobs/${blob.digest}`, { redirect: 'manual' });
      assert.equal(res.status, 307);
      const location = res.headers.get('location')!;
      assert.ok(location.startsWith(s3.endpoint), location);
      const followed = await fetch(`${node.url}/v2/mn/redirect/blobs/${blob.digest}`);
      assert.deepEqual(Buffer.from(await followed.arrayBuffer()), blob.bytes);
      assert.deepEqual(await errorOf(await fetch(`${node.url}/v2/mn/redirect/blobs/${digestOf('x')}`, { redirect: 'manual' })), { status: 404, code: 'BLOB_UNKNOWN' });
    } finally {
      await node.stop();
    }
  });
});
