/**
 * The shared suite every local transport runs (distribution's storage `testsuites`, hono's `runTest`): write
 * generated images through the transport, read them back, run `validateImage` over what was read, copy them
 * back out, and check that a failed copy leaves the destination exactly as it was.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it as test } from 'node:test';
import { digestHex } from '../content/digest.js';
import { copyImage, type CopyOptions, type CopyResult } from './copy.js';
import { isClientError } from './errors.js';
import { realImage, realIndex, writeLayout, type FixtureImage, type FixtureIndex } from './fixtures.js';
import { openImage } from './image.js';
import { getTransport, parseImageReference } from './transports/index.js';
import type { ImageDestination, ImageSource } from './transport.js';
import { validateImage } from './validate.js';

/** Opens both ends, copies, and closes both (rolling the destination back on failure). */
export async function copyRefs(src: string, dst: string, opts: CopyOptions = {}): Promise<CopyResult> {
  const s = await openSource(src);
  try {
    const d = await openDestination(dst);
    try {
      return await copyImage(s, d, opts);
    } finally {
      await d.close();
    }
  } finally {
    await s.close();
  }
}

export async function openSource(ref: string): Promise<ImageSource> {
  const r = parseImageReference(ref);
  return getTransport(r.transport).newSource(r);
}

export async function openDestination(ref: string): Promise<ImageDestination> {
  const r = parseImageReference(ref);
  return getTransport(r.transport).newDestination(r);
}

/** Validates what `ref` names, closing the source afterwards. */
export async function validateRef(ref: string): Promise<void> {
  const s = await openSource(ref);
  try {
    await validateImage(s);
  } finally {
    await s.close();
  }
}

/** The digest `ref` names (reads the top manifest). */
export async function digestOfRef(ref: string): Promise<string> {
  const s = await openSource(ref);
  try {
    return (await s.getManifest()).digest;
  } finally {
    await s.close();
  }
}

/** path → sha256 of every file under `root` (missing root → empty): what "left as it was" is checked against. */
export async function snapshot(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string, rel: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        out.set(`${r}/`, 'dir');
        await walk(p, r);
      } else out.set(r, createHash('sha256').update(await readFile(p)).digest('hex'));
    }
  };
  if ((await readdir(root).catch(() => undefined)) === undefined) {
    try {
      out.set('.', createHash('sha256').update(await readFile(root)).digest('hex'));
    } catch {
      /* nothing there */
    }
    return out;
  }
  await walk(root, '');
  return out;
}

export async function tempDir(prefix = 'berth-client-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A layout with `image` (tag `img`), `index` (tag `multi`, two platforms) and `docker` (tag `docker`, Docker v2 format). */
export interface SourceLayout {
  dir: string;
  image: FixtureImage;
  docker: FixtureImage;
  index: FixtureIndex;
}

export async function makeSourceLayout(dir: string): Promise<SourceLayout> {
  const image = realImage({ layers: 3, size: 4096 });
  const docker = realImage({ layers: 2, size: 2048, format: 'docker' });
  const index = realIndex([realImage({ layers: 1 }), realImage({ layers: 2, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } })]);
  await writeLayout(dir, { img: image, docker, multi: index });
  return { dir, image, docker, index };
}

export interface TransportCase {
  /** The reference for a store at `path` (a directory or archive file inside a temp dir) holding image `name`. */
  ref(root: string, name: string): string;
  /** Stores an index (false: docker-archive). */
  index: boolean;
  /** Keeps manifest digests of gzip images (false: docker-archive). */
  preservesDigests: boolean;
  /** Several images in one store under different names (oci:). */
  multipleNames: boolean;
  /** Tests by name that do not apply to this transport, and why (hono's `skip: [{ reason, tests }]`). */
  skip?: { reason: string; tests: string[] };
}

/** The shared suite: run once per transport. */
export function describeTransport(name: string, c: TransportCase): void {
  const it = (title: string, fn: () => Promise<void>) => test(title, { skip: c.skip?.tests.includes(title) ? c.skip.reason : false }, fn);
  describe(`transport ${name} (shared suite)`, () => {
    let root: string;
    let src: SourceLayout;
    before(async () => {
      root = await tempDir(`berth-${name}-`);
      src = await makeSourceLayout(join(root, 'source'));
    });
    after(() => rm(root, { recursive: true, force: true }));

    it('stores an image, validates what it reads back, and copies it out again unchanged', async () => {
      const ref = c.ref(root, 'one');
      const res = await copyRefs(`oci:${src.dir}:img`, ref, c.preservesDigests ? { preserveDigests: true } : {});
      assert.equal(res.blobs.copied, 4);
      await validateRef(ref);
      const stored = await digestOfRef(ref);
      if (c.preservesDigests) assert.equal(stored, src.image.digest);
      assert.equal(res.digest, stored);
      const back = `oci:${join(root, 'back-one')}:x`;
      await copyRefs(ref, back, { preserveDigests: true });
      assert.equal(await digestOfRef(back), stored);
    });

    it('stores a Docker v2 image', async () => {
      const ref = c.ref(root, 'docker');
      await copyRefs(`oci:${src.dir}:docker`, ref);
      await validateRef(ref);
      if (c.preservesDigests) assert.equal(await digestOfRef(ref), src.docker.digest);
    });

    it('reads layers through openImage: uncompressed tars whose digests are the diff_ids', async () => {
      const ref = c.ref(root, 'view');
      await copyRefs(`oci:${src.dir}:img`, ref);
      const s = await openSource(ref);
      try {
        const img = await openImage(s);
        assert.deepEqual(img.platform, { os: 'linux', architecture: 'amd64' });
        const layers = img.layers();
        assert.equal(layers.length, 3);
        for (const [i, l] of layers.entries()) {
          const h = createHash('sha256');
          for await (const chunk of await l.uncompressed()) h.update(chunk as Buffer);
          assert.equal(`sha256:${h.digest('hex')}`, src.image.diffIDs[i]);
          assert.equal(await l.diffID(), src.image.diffIDs[i]);
        }
      } finally {
        await s.close();
      }
    });

    if (c.index) {
      it('stores a whole index (multiArch all) and every child validates', async () => {
        const ref = c.ref(root, 'multi');
        const res = await copyRefs(`oci:${src.dir}:multi`, ref, { multiArch: 'all', preserveDigests: true });
        assert.equal(res.manifests, 3);
        assert.equal(res.digest, src.index.digest);
        await validateRef(ref);
        const back = `oci:${join(root, 'back-multi')}:x`;
        await copyRefs(ref, back, { multiArch: 'all', preserveDigests: true });
        assert.equal(await digestOfRef(back), src.index.digest);
      });
    } else {
      it('refuses a whole index (multiArch all) and leaves nothing', async () => {
        const ref = c.ref(root, 'multi-refused');
        await assert.rejects(copyRefs(`oci:${src.dir}:multi`, ref, { multiArch: 'all' }), (e) => isClientError(e, 'UNSUPPORTED_FORMAT'));
      });
    }

    it('picks one platform from an index (multiArch system with an override)', async () => {
      const ref = c.ref(root, 'arm');
      const res = await copyRefs(`oci:${src.dir}:multi`, ref, { platform: { os: 'linux', architecture: 'arm64' } });
      await validateRef(ref);
      if (c.preservesDigests) assert.equal(res.digest, src.index.images[1]!.digest);
    });

    if (c.multipleNames) {
      it('keeps other images when it stores one under a new name', async () => {
        await copyRefs(`oci:${src.dir}:img`, c.ref(root, 'shared'));
        const first = c.ref(root, 'shared');
        const second = first.replace(/:shared$/, ':other');
        await copyRefs(`oci:${src.dir}:docker`, second);
        await validateRef(first);
        await validateRef(second);
      });
    }

    it('a corrupt blob fails with DIGEST_MISMATCH and leaves the destination as it was', async () => {
      const bad = join(root, 'corrupt-source');
      const img = realImage({ layers: 3 });
      await writeLayout(bad, { img });
      const layer = img.layers[1]!;
      const flipped = Buffer.from(layer.bytes);
      flipped[flipped.length - 1]! ^= 0xff;
      await writeFile(join(bad, 'blobs', 'sha256', digestHex(layer.digest)), flipped);

      // The destination already holds an image; it must come out of the failed copy untouched.
      const ref = c.ref(root, 'victim');
      await copyRefs(`oci:${src.dir}:img`, ref);
      const path = ref.slice(ref.indexOf(':') + 1).split(':')[0]!;
      const before = await snapshot(path);
      await assert.rejects(copyRefs(`oci:${bad}:img`, ref, { concurrency: 1 }), (e) => isClientError(e, 'DIGEST_MISMATCH'));
      assert.deepEqual(await snapshot(path), before);
      await validateRef(ref);

      // And a fresh destination is not created at all.
      await mkdir(join(root, 'fresh'), { recursive: true });
      const fresh = c.ref(join(root, 'fresh'), 'never');
      const freshPath = fresh.slice(fresh.indexOf(':') + 1).split(':')[0]!;
      await assert.rejects(copyRefs(`oci:${bad}:img`, fresh), (e) => isClientError(e, 'DIGEST_MISMATCH'));
      assert.deepEqual(await snapshot(freshPath), new Map());
    });

    it('reading a store that is not there names the path', async () => {
      const missing = join(root, 'no-such-thing');
      const ref = c.ref(root, 'x').replace(/^([a-z-]+):[^:]*/, `$1:${missing}`);
      await assert.rejects(openSource(ref), (e) => (isClientError(e, 'LAYOUT_INVALID') || isClientError(e, 'ARCHIVE_INVALID')) && e.message.includes(missing));
    });
  });
}
