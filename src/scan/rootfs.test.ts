// Layer application: the final content of wanted files after whiteouts, opaque directories, replacements,
// symlinked parents and hard links, read from a real OCI layout through the client library.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openImage } from '../client/image.js';
import { openSource } from '../client/open.js';
import { readRootfs, walkLayers } from './rootfs.js';
import { isScanError } from './errors.js';
import { dir, file, hardlink, imageOf, opaque, symlink, whiteout, writeImageLayout, type LayerEntry } from './testing/images.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function open(layers: LayerEntry[][]) {
  const root = await mkdtemp(join(tmpdir(), 'berth-rootfs-'));
  dirs.push(root);
  await writeImageLayout(root, 'test', imageOf(layers));
  const source = await openSource(`oci:${root}:test`);
  return { image: await openImage(source), close: () => source.close() };
}

describe('readRootfs', () => {
  it('keeps the final content of wanted files across layers', async () => {
    const { image, close } = await open([
      [dir('etc'), file('etc/os-release', 'ID=debian\n'), file('etc/hostname', 'one'), file('var/lib/dpkg/status', 'v1')],
      [file('etc/os-release', 'ID=alpine\n'), file('./var/lib/dpkg/status', 'v2')],
      [file('etc/unrelated', 'x')],
    ]);
    try {
      const fs = await readRootfs(image, { want: ['etc/os-release', 'var/lib/dpkg/status', 'missing'] });
      assert.equal(fs.layers, 3);
      assert.deepEqual([...fs.files.keys()].sort(), ['etc/os-release', 'var/lib/dpkg/status']);
      assert.equal(fs.file('/etc/os-release')!.content.toString(), 'ID=alpine\n');
      assert.equal(fs.file('var/lib/dpkg/status')!.layer, 1);
      assert.equal(fs.file('etc/hostname'), undefined, 'not wanted, not kept');
    } finally {
      await close();
    }
  });

  it('applies .wh. whiteouts to lower layers only, files and whole directories', async () => {
    const { image, close } = await open([
      [file('a/keep', 'k'), file('a/gone', 'g'), file('b/x/deep', 'd'), file('c', 'c1')],
      [whiteout('a/gone'), whiteout('b'), file('b/new', 'n'), whiteout('c'), file('c', 'c2')],
    ]);
    try {
      const fs = await readRootfs(image, { want: () => true, list: true });
      assert.deepEqual([...fs.files.keys()].sort(), ['a/keep', 'b/new', 'c']);
      assert.equal(fs.file('c')!.content.toString(), 'c2', 'a file re-created in the whiteout layer stays');
      assert.deepEqual(fs.list().map((e) => e.path), ['a/keep', 'b/new', 'c']);
    } finally {
      await close();
    }
  });

  it('an opaque directory hides lower content but keeps its own layer', async () => {
    const { image, close } = await open([
      [file('d/old1', '1'), file('d/sub/old2', '2'), file('e/stay', 's')],
      [file('d/fresh', 'f'), opaque('d')],
      [file('d/later', 'l')],
    ]);
    try {
      const fs = await readRootfs(image, { want: () => true });
      assert.deepEqual([...fs.files.keys()].sort(), ['d/fresh', 'd/later', 'e/stay']);
    } finally {
      await close();
    }
  });

  it('a file deleted and re-added in later layers: only the last counts', async () => {
    const { image, close } = await open([[file('var/lib/rpm/rpmdb.sqlite', 'one')], [whiteout('var/lib/rpm')], [file('var/lib/rpm/rpmdb.sqlite', 'three')]]);
    try {
      const fs = await readRootfs(image, { want: ['var/lib/rpm/rpmdb.sqlite'] });
      assert.equal(fs.file('var/lib/rpm/rpmdb.sqlite')!.content.toString(), 'three');
      assert.equal(fs.file('var/lib/rpm/rpmdb.sqlite')!.layer, 2);
    } finally {
      await close();
    }
  });

  it('a non-directory replaces a directory and everything in it', async () => {
    const { image, close } = await open([[file('var/lib/rpm/Packages', 'bdb')], [symlink('var/lib/rpm', '../../usr/lib/sysimage/rpm'), file('usr/lib/sysimage/rpm/rpmdb.sqlite', 'sql')]]);
    try {
      const fs = await readRootfs(image, { want: (p) => p.includes('rpm/'), list: true });
      assert.equal(fs.file('var/lib/rpm/Packages'), undefined);
      assert.equal(fs.file('var/lib/rpm/rpmdb.sqlite')!.content.toString(), 'sql', 'looked up through the symlink');
      assert.equal(fs.resolve('var/lib/rpm/rpmdb.sqlite'), 'usr/lib/sysimage/rpm/rpmdb.sqlite');
      assert.equal(fs.entries!.get('var/lib/rpm')!.type, 'symlink');
    } finally {
      await close();
    }
  });

  it('resolves symlinked parents on write and lookup, never leaving the root', async () => {
    const { image, close } = await open([
      [dir('usr/lib'), symlink('lib', 'usr/lib'), symlink('etc/os-release', '../usr/lib/os-release'), file('usr/lib/os-release', 'ID=fedora\n')],
      [file('lib/apk/db/installed', 'P:musl\nV:1\n'), symlink('escape', '../../../../etc'), symlink('abs', '/usr/lib')],
    ]);
    try {
      const fs = await readRootfs(image, { want: ['usr/lib/os-release', 'usr/lib/apk/db/installed'] });
      assert.equal(fs.file('lib/apk/db/installed')!.content.toString(), 'P:musl\nV:1\n');
      assert.equal(fs.file('usr/lib/apk/db/installed')!.path, 'usr/lib/apk/db/installed');
      assert.equal(fs.file('etc/os-release')!.content.toString(), 'ID=fedora\n');
      assert.equal(fs.resolve('escape/hostname'), 'etc/hostname', '.. above the root stays at the root');
      assert.equal(fs.file('abs/os-release')!.content.toString(), 'ID=fedora\n');
    } finally {
      await close();
    }
  });

  it('hard links carry their target content', async () => {
    const { image, close } = await open([[file('usr/share/licenses/a.txt', 'MIT'), hardlink('licenses/a.txt', 'usr/share/licenses/a.txt')]]);
    try {
      const fs = await readRootfs(image, { want: () => true, list: (p) => p.startsWith('licenses') });
      assert.equal(fs.file('licenses/a.txt')!.content.toString(), 'MIT');
      assert.deepEqual(
        fs.list().map((e) => [e.path, e.type, e.linkname]),
        [['licenses/a.txt', 'hardlink', 'usr/share/licenses/a.txt']],
      );
    } finally {
      await close();
    }
  });

  it('refuses a wanted file above the size cap with FILE_TOO_LARGE', async () => {
    const { image, close } = await open([[file('var/lib/rpm/rpmdb.sqlite', Buffer.alloc(70_000, 1))]]);
    try {
      await assert.rejects(readRootfs(image, { want: ['var/lib/rpm/rpmdb.sqlite'], maxFileBytes: 65_536 }), (e) => isScanError(e, 'FILE_TOO_LARGE') && /rpmdb\.sqlite/.test((e as Error).message));
      const ok = await readRootfs(image, { want: ['var/lib/rpm/rpmdb.sqlite'], maxFileBytes: 70_000 });
      assert.equal(ok.file('var/lib/rpm/rpmdb.sqlite')!.content.length, 70_000);
    } finally {
      await close();
    }
  });

  it('drops superseded content so the total cap counts only what is still live', async () => {
    const layers = Array.from({ length: 6 }, (_, i) => [file('big', Buffer.alloc(40_000, i))]);
    const { image, close } = await open(layers);
    try {
      const fs = await readRootfs(image, { want: ['big'], maxTotalBytes: 50_000 });
      assert.equal(fs.file('big')!.content[0], 5);
    } finally {
      await close();
    }
  });

  it('walkLayers reports each layer entry and whiteout in order', async () => {
    const { image, close } = await open([[file('a', '1')], [whiteout('a'), opaque('d'), file('b', '2')]]);
    try {
      const seen: string[] = [];
      for await (const ev of walkLayers(image)) seen.push(`${ev.layer}:${ev.kind}:${ev.path}`);
      assert.deepEqual(seen, ['0:entry:a', '1:whiteout:a', '1:opaque:d', '1:entry:b']);
    } finally {
      await close();
    }
  });
});
