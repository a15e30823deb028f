// Extracting layers to disk: real gzip tar layers, whiteouts, path mappings, escapes, and umoci as the reference.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { link, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile, symlink, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createGunzip, gzipSync } from 'node:zlib';
import { applyLayers, parsePathMapping, splitLayerSelector, extractImage } from './extract.js';
import { tarBuffer } from './tar/writer.js';
import { openImage } from './image.js';
import { openSource } from './open.js';

const run = promisify(execFile);
const hasUmoci = spawnSync('umoci', ['--version']).status === 0;
let dir: string;

type Entry = Parameters<typeof tarBuffer>[0][number];
const file = (name: string, body: string, mode = 0o644, mtime = 1700000000): Entry => ({ name, body: Buffer.from(body), mode, mtime });
const folder = (name: string, mode = 0o755): Entry => ({ name, type: 'directory', mode, mtime: 1700000000 });
const sym = (name: string, target: string): Entry => ({ name, type: 'symlink', linkname: target, mtime: 1700000000 });
const hard = (name: string, target: string): Entry => ({ name, type: 'hardlink' as 'file', linkname: target });

function layers(...ls: Entry[][]) {
  return ls.map((entries, i) => ({ name: `layer ${i}`, tar: async () => Readable.from([gzipSync(tarBuffer(entries))]).pipe(createGunzip()) }));
}

async function tree(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(root, rel))).sort()) {
    const p = rel ? `${rel}/${name}` : name;
    const st = await lstat(join(root, p));
    if (st.isSymbolicLink()) out.push(`${p} -> ${await readlink(join(root, p))}`);
    else if (st.isDirectory()) out.push(`${p}/ ${(st.mode & 0o7777).toString(8)}`, ...(await tree(root, p)));
    else out.push(`${p} ${(st.mode & 0o7777).toString(8)} ${st.nlink > 1 ? 'linked ' : ''}${(await readFile(join(root, p))).toString('utf8')}`);
  }
  return out;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-extract-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('extract: layers onto a directory', () => {
  const base = [
    folder('etc/'),
    file('etc/a', 'one'),
    file('etc/b', 'bee'),
    folder('etc/sub/'),
    file('etc/sub/x', 'x'),
    folder('etc/ro/', 0o555),
    file('etc/ro/f', 'read-only dir'),
    file('bin/tool', '#!/bin/sh\n', 0o755),
    folder('usr/lib/'),
    sym('lib', 'usr/lib'),
    sym('abs', '/etc/a'),
    hard('bin/tool-link', 'bin/tool'),
    file('gone-dir/keep', 'k'),
  ];
  const top = [
    file('./etc/a', 'two', 0o600),
    file('etc/.wh.b', ''),
    file('etc/sub/.wh..wh..opq', ''),
    file('etc/sub/y', 'y'),
    file('lib/libz.so', 'via the lib symlink'),
    file('etc/ro/g', 'added under a read-only dir'),
    file('.wh.gone-dir', ''),
  ];

  it('overwrites, whites out, makes directories opaque, keeps modes, symlinks and hard links', async () => {
    const to = join(dir, 'full');
    await mkdir(to);
    const r = await applyLayers(layers(base, top), { mappings: [{ from: '', to }] });
    assert.deepEqual(await tree(to), [
      'abs -> /etc/a',
      'bin/ 755',
      'bin/tool 755 linked #!/bin/sh\n',
      'bin/tool-link 755 linked #!/bin/sh\n',
      'etc/ 755',
      'etc/a 600 two',
      'etc/ro/ 555',
      'etc/ro/f 644 read-only dir',
      'etc/ro/g 644 added under a read-only dir',
      'etc/sub/ 755',
      'etc/sub/y 644 y',
      'lib -> usr/lib',
      'usr/ 755',
      'usr/lib/ 755',
      'usr/lib/libz.so 644 via the lib symlink',
    ]);
    assert.equal((await lstat(join(to, 'etc/a'))).mtimeMs, 1700000000 * 1000);
    assert.equal(r.layers, 2);
    assert.equal(r.whiteouts, 3);
    assert.equal(r.hardlinks, 1);
  });

  it('maps a directory of the image to a destination (--path /etc/:DST) and globs (--path /etc/*.conf:DST)', async () => {
    const etc = join(dir, 'etc-only');
    const glob = join(dir, 'glob');
    await mkdir(etc);
    await mkdir(glob);
    await applyLayers(layers(base, top, [file('etc/x.conf', 'c'), file('etc/y.txt', 't')]), { mappings: [parsePathMapping(`/etc/:${etc}`), parsePathMapping(`/etc/*.conf:${glob}`)] });
    assert.deepEqual(await tree(etc), ['a 600 two', 'ro/ 555', 'ro/f 644 read-only dir', 'ro/g 644 added under a read-only dir', 'sub/ 755', 'sub/y 644 y', 'x.conf 644 c', 'y.txt 644 t']);
    assert.deepEqual(await tree(glob), ['x.conf 644 c']);
  });

  it('refuses an entry that climbs out of the destination, and never follows a symlink out of it', async () => {
    const to = join(dir, 'evil');
    const outside = join(dir, 'outside');
    await mkdir(to);
    await mkdir(outside);
    await assert.rejects(applyLayers(layers([file('../../escape', 'x')]), { mappings: [{ from: '', to }] }), {
      code: 'ARCHIVE_INVALID',
      message: 'layer 0: refusing to extract "../../escape": it points outside the destination',
    });
    await applyLayers(layers([sym('out', outside), sym('up', '../../..'), file('a/../b', 'fine')], [file('out/pwned', 'no'), file('up/pwned2', 'no')]), { mappings: [{ from: '', to }] });
    assert.deepEqual(await readdir(outside), [], 'nothing was written through the symlinks');
    assert.equal(await readFile(join(to, outside.slice(1), 'pwned'), 'utf8'), 'no', 'an absolute symlink resolves inside the destination');
    assert.equal(await readFile(join(to, 'pwned2'), 'utf8'), 'no', '.. stops at the destination');
    assert.equal(await readFile(join(to, 'b'), 'utf8'), 'fine');
  });

  it('does not delete files that were in a --confirm destination before', async () => {
    const to = join(dir, 'confirm');
    await mkdir(join(to, 'etc'), { recursive: true });
    await writeFile(join(to, 'etc', 'mine'), 'user file');
    await applyLayers(layers([file('etc/theirs', 't')], [file('etc/.wh..wh..opq', ''), file('etc/new', 'n')]), { mappings: [{ from: '', to }] });
    assert.deepEqual((await readdir(join(to, 'etc'))).sort(), ['mine', 'new']);
  });

  it('writes only files and directories with onlyFiles', async () => {
    const to = join(dir, 'only');
    await mkdir(to);
    const r = await applyLayers(layers(base), { mappings: [{ from: '', to }], onlyFiles: true });
    assert.equal(r.symlinks + r.hardlinks, 0);
    assert.ok(!(await tree(to)).some((l) => l.includes('->') || l.includes('tool-link')));
  });

  it('parses layer selectors and path mappings as oc', () => {
    const ds = [1, 2, 3, 4].map((i) => ({ mediaType: 'x', size: 1, digest: `sha256:${String(i).repeat(64)}` })) as never[];
    assert.deepEqual(splitLayerSelector('docker://a/b:c[-1]').select!(ds), [3]);
    assert.deepEqual(splitLayerSelector('docker://a/b:c[:3]').select!(ds), [0, 1, 2]);
    assert.deepEqual(splitLayerSelector('docker://a/b:c[-3:]').select!(ds), [1, 2, 3]);
    assert.deepEqual(splitLayerSelector('docker://a/b:c[~sha256:2]').select!(ds), [1]);
    assert.equal(splitLayerSelector('docker://a/b:c[~sha256:2]').image, 'docker://a/b:c');
    assert.throws(() => splitLayerSelector('x[7]').select!(ds), /tried to select layer 7, but image only has 4 layers/);
    assert.deepEqual(parsePathMapping('/etc/:out', '/w'), { from: 'etc/', to: '/w/out' });
    assert.deepEqual(parsePathMapping('/:.', '/w'), { from: '', to: '/w' });
    assert.throws(() => parsePathMapping('/etc:.'), /unexpected directory from mapping etc/);
    assert.throws(() => parsePathMapping('/etc/'), /SRC:DST/);
  });
});

describe('extract: the same tree as umoci unpack --rootless', { skip: !hasUmoci && 'umoci is not installed' }, () => {
  it('an image built with umoci (files, modes, symlinks, hard links, deletions, a replaced directory)', async () => {
    const layout = join(dir, 'umoci-layout');
    const bundle = join(dir, 'umoci-bundle');
    await run('umoci', ['init', '--layout', layout]);
    await run('umoci', ['new', '--image', `${layout}:t`]);
    await run('umoci', ['unpack', '--rootless', '--image', `${layout}:t`, bundle]);
    const rootfs = join(bundle, 'rootfs');
    // Layer 1.
    await mkdir(join(rootfs, 'etc/conf.d'), { recursive: true });
    await mkdir(join(rootfs, 'usr/lib'), { recursive: true });
    await mkdir(join(rootfs, 'var/cache/app'), { recursive: true });
    await writeFile(join(rootfs, 'etc/hosts'), '127.0.0.1 localhost\n');
    await writeFile(join(rootfs, 'etc/conf.d/a.conf'), 'a=1\n');
    await writeFile(join(rootfs, 'etc/conf.d/b.conf'), 'b=1\n');
    await writeFile(join(rootfs, 'usr/lib/libx.so'), Buffer.alloc(70000, 7));
    await writeFile(join(rootfs, 'var/cache/app/old'), 'old');
    await writeFile(join(rootfs, 'run.sh'), '#!/bin/sh\necho hi\n');
    await chmod(join(rootfs, 'run.sh'), 0o750);
    await symlink('usr/lib', join(rootfs, 'lib'));
    await link(join(rootfs, 'run.sh'), join(rootfs, 'run-again.sh'));
    await symlink('/etc/hosts', join(rootfs, 'hosts-link'));
    await run('umoci', ['repack', '--refresh-bundle', '--image', `${layout}:t`, bundle]);
    // Layer 2: modify, delete, replace a directory's contents, add through nothing special.
    await writeFile(join(rootfs, 'etc/hosts'), '10.0.0.1 changed\n');
    await rm(join(rootfs, 'etc/conf.d/b.conf'));
    await rm(join(rootfs, 'var/cache/app'), { recursive: true });
    await mkdir(join(rootfs, 'var/cache/app'));
    await writeFile(join(rootfs, 'var/cache/app/new'), 'new');
    await rm(join(rootfs, 'hosts-link'));
    await writeFile(join(rootfs, 'hosts-link'), 'now a file');
    await chmod(join(rootfs, 'etc/conf.d'), 0o700);
    await run('umoci', ['repack', '--refresh-bundle', '--image', `${layout}:t`, bundle]);

    const theirs = join(dir, 'umoci-unpacked');
    await run('umoci', ['unpack', '--rootless', '--image', `${layout}:t`, theirs]);
    const ours = join(dir, 'berth-unpacked');
    await mkdir(ours);
    const source = await openSource(`oci:${layout}:t`);
    try {
      const image = await openImage(source);
      assert.equal(image.layers().length, 2);
      await extractImage(image, { mappings: [{ from: '', to: ours }] });
    } finally {
      await source.close();
    }
    const expected = await tree(join(theirs, 'rootfs'));
    assert.ok(expected.includes('var/cache/app/new 644 new') && !expected.some((l) => l.startsWith('etc/conf.d/b.conf')), 'umoci made the layers we meant');
    assert.deepEqual(await tree(ours), expected);
    // Modification times of regular files match too.
    for (const rel of ['etc/hosts', 'run.sh', 'usr/lib/libx.so']) {
      assert.equal(Math.floor((await lstat(join(ours, rel))).mtimeMs / 1000), Math.floor((await lstat(join(theirs, 'rootfs', rel))).mtimeMs / 1000), rel);
    }
  });
});
