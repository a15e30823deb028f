// `berth image info|extract|append|mirror` as a user runs them: the real binary against a real Berth server,
// checked with skopeo where it can tell.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { pushImage, pushManifest } from '../testing/fixtures.js';
import { realImage, realIndex } from '../client/fixtures.js';
import { tarBuffer } from '../client/tar/writer.js';
import { digestOf, type Digest } from '../content/digest.js';
import { openSource } from '../client/open.js';
import { validateImage } from '../client/validate.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/berth.js', import.meta.url));
const hasSkopeo = spawnSync('skopeo', ['--version']).status === 0;
let reg: TestRegistry;
let dir: string;
let host: string;
let env: NodeJS.ProcessEnv;
const img = realImage({ layers: 2, size: 3000, format: 'docker' });
const arm = realImage({ platform: { os: 'linux', architecture: 'arm64' } });
const s390 = realImage({ platform: { os: 'linux', architecture: 's390x' } });
const idx = realIndex([arm, s390]);

before(async () => {
  reg = await startTestRegistry();
  host = new URL(reg.url).host;
  dir = await mkdtemp(join(tmpdir(), 'berth-image-cli-'));
  await writeFile(join(dir, 'auth.json'), '{}');
  await writeFile(join(dir, 'policy.json'), '{"default":[{"type":"insecureAcceptAnything"}]}');
  await writeFile(join(dir, 'registries.conf'), 'unqualified-search-registries = []\n');
  env = { ...process.env, HOME: dir, REGISTRY_AUTH_FILE: join(dir, 'auth.json'), CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'), XDG_RUNTIME_DIR: dir };
  await pushImage(reg.url, 'img/app', img, 'v1');
  await pushImage(reg.url, 'img/multi', arm);
  await pushImage(reg.url, 'img/multi', s390);
  await pushManifest(reg.url, 'img/multi', 'v1', idx.bytes, idx.mediaType);
});
after(async () => {
  await reg.close();
  await rm(dir, { recursive: true, force: true });
});

async function berth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('berth image', () => {
  it('info prints the oc layout and JSON', async () => {
    const r = await berth('image', 'info', '--insecure', `${host}/img/app:v1`);
    assert.equal(r.code, 0, r.stderr);
    const size = (n: number) => `${Number((n / 1000).toPrecision(4))}kB`;
    const [l0, l1] = img.layers;
    const sizes = [size(l0!.bytes.length), size(l1!.bytes.length)];
    const w = Math.max(...sizes.map((s) => s.length)) + 1;
    const lines = r.stdout.split('\n');
    assert.deepEqual(lines.slice(0, 3), [`Name:        ${host}/img/app:v1`, `Digest:      ${img.digest}`, 'Media Type:  application/vnd.docker.distribution.manifest.v2+json']);
    assert.match(lines[3]!, /^Created: {5}\d+[smhdy] ago$/);
    assert.deepEqual(lines.slice(4), [
      `Image Size:  ${size(l0!.bytes.length + l1!.bytes.length)} in 2 layers`,
      `Layers:      ${sizes[0]!.padEnd(w)}${l0!.digest}`,
      `             ${sizes[1]!.padEnd(w)}${l1!.digest}`,
      'OS:          linux',
      'Arch:        amd64',
      'Command:     /bin/sh',
      'Environment: PATH=/usr/bin',
      '',
      '',
    ]);
    const json = JSON.parse((await berth('image', 'info', '--insecure', '--format', 'json', `docker://${host}/img/app:v1`)).stdout) as { digest: string; layers: unknown[]; config: { os: string } };
    assert.equal(json.digest, img.digest);
    assert.equal(json.layers.length, 2);
    assert.equal(json.config.os, 'linux');
  });

  it('info on a manifest list lists platforms and digests unless a filter picks one', async () => {
    const listed = await berth('--override-arch', 'ppc64le', 'image', 'info', '--insecure', `${host}/img/multi:v1`);
    assert.equal(listed.code, 1);
    assert.match(listed.stderr, /^berth: no image matches linux\/ppc64le - use --filter-by-os to select from:\n\n {2}OS {10}DIGEST\n/);
    assert.ok(listed.stderr.includes(`  linux/arm64 ${arm.digest}\n  linux/s390x ${s390.digest}\n`), listed.stderr);
    const all = await berth('image', 'info', '--insecure', '--filter-by-os', '.*', `${host}/img/multi:v1`);
    assert.match(all.stderr, /the image is a manifest list and contains multiple images/);
    const picked = await berth('image', 'info', '--insecure', '--filter-by-os', 'linux/arm64', `${host}/img/multi:v1`);
    assert.equal(picked.code, 0, picked.stderr);
    assert.match(picked.stdout, new RegExp(`^Digest: +${arm.digest}\nManifest List: +${idx.digest}\n`, 'm'));
    assert.match(picked.stdout, /^Arch: +arm64$/m);
    const override = await berth('--override-arch', 's390x', 'image', 'info', '--insecure', `${host}/img/multi:v1`);
    assert.match(override.stdout, /^Arch: +s390x$/m);
  });

  it('extract writes the image filesystem, with --path mapping a directory', async () => {
    const all = join(dir, 'all');
    const one = join(dir, 'one');
    await mkdir(all);
    await mkdir(one);
    const r = await berth('image', 'extract', '--insecure', `${host}/img/app:v1`, '--path', `/:${all}`, '--path', `/layer-1/:${one}`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readdir(all)).sort(), ['layer-0', 'layer-1']);
    assert.deepEqual((await readdir(one)).sort(), ['a-rather-long-directory-name-to-push-the-path-past-one-hundred-bytes', 'data.bin']);
    const again = await berth('image', 'extract', '--insecure', `${host}/img/app:v1`, '--path', `/:${all}`);
    assert.equal(again.code, 1);
    assert.equal(again.stderr, `berth: directory ${all} must be empty, pass --confirm to overwrite contents of directory\n`);
    assert.equal((await berth('image', 'extract', '--insecure', '--confirm', `${host}/img/app:v1[-1]`, '--path', `/:${all}`)).code, 0);
    const missing = await berth('image', 'extract', '--insecure', `${host}/img/app:v1`, '--path', `/:${join(dir, 'nope')}`);
    assert.equal(missing.stderr, `berth: destination path does not exist: ${join(dir, 'nope')}\n`);
  });

  it('append adds a layer and edits the config; skopeo and validateImage agree', { skip: !hasSkopeo && 'skopeo is not installed' }, async () => {
    const tar = tarBuffer([{ name: 'app/run', body: Buffer.from('#!/bin/sh\necho app\n'), mode: 0o755 }]);
    await writeFile(join(dir, 'app.tar'), tar);
    const dataTar = tarBuffer([{ name: 'app/data', body: Buffer.from('data') }]);
    const gz = gzipSync(dataTar);
    await writeFile(join(dir, 'data.tar.gz'), gz);
    const patch = JSON.stringify({ Entrypoint: ['/app/run'], Cmd: null, Env: ['PATH=/usr/bin', 'MODE=prod'], Labels: { version: '2' }, User: '1001', WorkingDir: '/app', ExposedPorts: { '8080/tcp': {} } });
    const r = await berth('image', 'append', '--insecure', '--from', `${host}/img/app:v1`, '--to', `${host}/img/app:v2`, join(dir, 'app.tar'), join(dir, 'data.tar.gz'), '--image', patch, '--meta', '{"author":"berth test"}', '--format', 'json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { digest: string; mediaType: string };
    assert.equal(out.mediaType, img.mediaType, 'the same manifest format as the source');
    const skopeo = async (...a: string[]) => JSON.parse((await run('skopeo', ['--policy', join(dir, 'policy.json'), ...a, '--tls-verify=false', `docker://${host}/img/app:v2`], { env })).stdout) as Record<string, unknown>;
    const config = (await skopeo('inspect', '--config')) as { author: string; config: Record<string, unknown>; rootfs: { diff_ids: string[] }; history: unknown[] };
    assert.equal(config.author, 'berth test');
    assert.deepEqual(config.config, { Env: ['PATH=/usr/bin', 'MODE=prod'], Entrypoint: ['/app/run'], Labels: { version: '2' }, User: '1001', WorkingDir: '/app', ExposedPorts: { '8080/tcp': {} } });
    assert.deepEqual(config.rootfs.diff_ids, [...img.diffIDs, digestOf(tar), digestOf(dataTar)]);
    assert.equal(config.history.length, 4);
    const inspect = (await skopeo('inspect')) as { Digest: string; Layers: string[] };
    assert.equal(inspect.Digest, out.digest);
    assert.equal(inspect.Layers.length, 4);
    assert.deepEqual(inspect.Layers.slice(0, 2), img.layers.map((l) => l.digest));
    assert.equal(inspect.Layers[3], digestOf(gz), 'a gzipped layer is stored as given');
    const source = await openSource(`docker://${host}/img/app:v2`, { registry: { tlsVerify: false } });
    try {
      const report = await validateImage(source);
      assert.equal(report.blobs, 5);
    } finally {
      await source.close();
    }
    const info = await berth('image', 'info', '--insecure', `${host}/img/app:v2`);
    assert.match(info.stdout, /^Entrypoint: +\/app\/run\nWorking Dir: +\/app\nUser: +1001\nExposes Ports: +8080\/tcp\n/m);
    assert.match(info.stdout, /^Labels: +version=2$/m);
    const bad = await berth('image', 'append', '--insecure', '--from', `${host}/img/app:v1`, '--to', `${host}/img/app:v3`, '--image', '{nope');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^berth: --image: not valid JSON/);
  });

  it('mirror copies mappings from arguments and a file, keeping or filtering manifest lists', async () => {
    const r = await berth('image', 'mirror', '--insecure', `${host}/img/app:v1=${host}/mirror/app`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${img.digest} ${host}/mirror/app:v1\n`, 'the destination takes the source tag');
    await writeFile(join(dir, 'mapping.txt'), `# mirrors\n${host}/img/multi:v1=${host}/mirror/multi:all   # the whole list\n\n`);
    const list = await berth('image', 'mirror', '--insecure', '--keep-manifest-list', '-f', join(dir, 'mapping.txt'));
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout, `${idx.digest} ${host}/mirror/multi:all\n`);
    const one = await berth('image', 'mirror', '--insecure', '--filter-by-os', 'linux/arm64', `${host}/img/multi:v1=${host}/mirror/multi:arm`, '--format', 'json');
    const res = JSON.parse(one.stdout) as Array<{ digest: string; kind: string }>;
    assert.deepEqual([res[0]!.digest, res[0]!.kind], [arm.digest, 'image']);
    const filtered = await berth('image', 'mirror', '--insecure', '--keep-manifest-list', '--filter-by-os', 'arm64', `${host}/img/multi:v1=${host}/mirror/multi:filtered`);
    const digest = filtered.stdout.split(' ')[0]!;
    assert.notEqual(digest, idx.digest, 'a filtered list has a new digest');
    const m = (await (await fetch(`${reg.url}/v2/mirror/multi/manifests/filtered`, { headers: { Accept: idx.mediaType } })).json()) as { manifests: Array<{ digest: string }> };
    assert.deepEqual(m.manifests.map((x) => x.digest), [arm.digest]);
    const dry = await berth('image', 'mirror', '--insecure', '--dry-run', `${host}/img/app:v1`, `${host}/mirror/dry`);
    assert.equal(dry.stdout, `${img.digest} ${host}/mirror/dry:v1 (dry run)\n`);
    assert.equal((await fetch(`${reg.url}/v2/mirror/dry/manifests/v1`, { method: 'HEAD' })).status, 404);
    const dup = await berth('image', 'mirror', `${host}/a:1=${host}/b:1`, `${host}/c:1=${host}/b:1`);
    assert.equal(dup.stderr, `berth: each destination tag may only be specified once: docker://${host}/b:1\n`);
    const untagged = await berth('image', 'mirror', `${host}/a=${host}/b`);
    assert.match(untagged.stderr, /^berth: you must specify a tag or digest for SRC/);
  });

  it('shows examples in --help of every image command', async () => {
    for (const sub of [[], ['info'], ['extract'], ['mirror'], ['append']]) {
      const help = await berth('image', ...sub, '--help');
      assert.equal(help.code, 0);
      assert.match(help.stdout, /Examples:\n {2}\$ berth /, sub.join(' '));
    }
  });
});


describe('berth image append --keep-manifest-list, image mirror --continue-on-error / --skip-missing', () => {
  interface ListOut {
    digest: string;
    mediaType: string;
    manifests: Array<{ platform: string; from: string; digest: string; appended: boolean }>;
  }

  it('append --keep-manifest-list appends to every image of the list and writes a new list naming them', async () => {
    const layer = gzipSync(tarBuffer([{ name: 'etc/added', body: Buffer.from('yes\n') }]));
    await writeFile(join(dir, 'added.tar.gz'), layer);
    const r = await berth('image', 'append', '--insecure', '--keep-manifest-list', '--from', `${host}/img/multi:v1`, '--to', `${host}/img/multi-appended:v1`, join(dir, 'added.tar.gz'), '--format', 'json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as ListOut;
    assert.equal(out.mediaType, idx.mediaType);
    assert.deepEqual(out.manifests.map((m) => [m.platform, m.from, m.appended]), [['linux/arm64', arm.digest, true], ['linux/s390x', s390.digest, true]]);
    const list = (await (await fetch(`${reg.url}/v2/img/multi-appended/manifests/v1`, { headers: { Accept: idx.mediaType } })).json()) as { manifests: Array<{ digest: string; platform: { architecture: string } }> };
    assert.deepEqual(list.manifests.map((m) => [m.platform.architecture, m.digest]), [['arm64', out.manifests[0]!.digest], ['s390x', out.manifests[1]!.digest]]);
    for (const arch of ['arm64', 's390x']) {
      const source = await openSource(`docker://${host}/img/multi-appended:v1`, { registry: { tlsVerify: false } });
      try {
        const child = list.manifests.find((m) => m.platform.architecture === arch)!;
        const report = await validateImage(source, { digest: child.digest as Digest });
        assert.equal(report.blobs, 4, 'config, the two base layers and the new one');
      } finally {
        await source.close();
      }
    }
    if (hasSkopeo) {
      // skopeo copies the whole new list out, every digest intact.
      const out2 = join(dir, 'appended-list');
      await run('skopeo', ['--policy', join(dir, 'policy.json'), 'copy', '-q', '--all', '--preserve-digests', '--src-tls-verify=false', `docker://${host}/img/multi-appended:v1`, `dir:${out2}`], { env });
    }
  });

  it('append --keep-manifest-list --filter-by-os appends to the images it keeps and copies the others as they are', async () => {
    const r = await berth('image', 'append', '--insecure', '--keep-manifest-list', '--filter-by-os', 'linux/s390x', '--from', `${host}/img/multi:v1`, '--to', `${host}/img/multi-s390x:v1`, '--image', '{"Labels":{"arch":"s390x"}}', '--format', 'json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as ListOut;
    assert.deepEqual(out.manifests.map((m) => [m.platform, m.appended, m.digest === m.from]), [['linux/arm64', false, true], ['linux/s390x', true, false]]);
    // The untouched child is in the destination repository too.
    assert.equal((await fetch(`${reg.url}/v2/img/multi-s390x/manifests/${arm.digest}`, { method: 'HEAD', headers: { Accept: arm.mediaType } })).status, 200);
    const none = await berth('image', 'append', '--insecure', '--keep-manifest-list', '--filter-by-os', 'windows/.*', '--from', `${host}/img/multi:v1`, '--to', `${host}/img/multi-none:v1`);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no image matches windows\/\.\*/);
    // Without --keep-manifest-list a list base still gives a plain image.
    const plain = await berth('image', 'append', '--insecure', '--filter-by-os', 'linux/arm64', '--from', `${host}/img/multi:v1`, '--to', `${host}/img/multi-plain:v1`, '--format', 'json');
    assert.equal((JSON.parse(plain.stdout) as { mediaType: string; manifests?: unknown }).manifests, undefined);
  });

  it('mirror --continue-on-error goes on past a failure and fails at the end; --skip-missing skips a missing source', async () => {
    const mapping = [`${host}/img/app:nope=${host}/mirror2/missing:v1`, `${host}/img/app:v1=${host}/mirror2/app:v1`].join('\n');
    await writeFile(join(dir, 'mapping2.txt'), `${mapping}\n`);
    const stop = await berth('image', 'mirror', '--insecure', '-f', join(dir, 'mapping2.txt'));
    assert.equal(stop.code, 2, stop.stderr);
    assert.equal((await fetch(`${reg.url}/v2/mirror2/app/manifests/v1`, { method: 'HEAD' })).status, 404, 'stopped at the first failure');

    const going = await berth('image', 'mirror', '--insecure', '--continue-on-error', '-f', join(dir, 'mapping2.txt'), '--format', 'json');
    assert.equal(going.code, 2);
    assert.match(going.stderr, /^error: mirroring docker:\/\/.*img\/app:nope/m);
    assert.match(going.stderr, /^berth: one or more errors occurred: 1 of 2 images failed/m);
    assert.deepEqual((JSON.parse(going.stdout) as Array<{ digest: string }>).map((x) => x.digest), [img.digest]);
    assert.equal((await fetch(`${reg.url}/v2/mirror2/app/manifests/v1`, { method: 'HEAD' })).status, 200);

    const skip = await berth('image', 'mirror', '--insecure', '--skip-missing', '-f', join(dir, 'mapping2.txt'));
    assert.equal(skip.code, 0, skip.stderr);
    assert.match(skip.stderr, /^warning: skipping missing image docker:\/\/.*img\/app:nope/m);
    assert.equal(skip.stdout, `${img.digest} ${host}/mirror2/app:v1\n`);
  });
});
