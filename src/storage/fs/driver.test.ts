import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeBlobDriver } from '../conformance.js';
import { FsDriver } from './driver.js';

/**
 * An `FsDriver` in its own temp directory that, on close, checks what `walk` cannot see: no temp files
 * left in `~tmp` and no empty directories left under the root. Then it removes the directory.
 */
class CheckedFsDriver extends FsDriver {
  override async close(): Promise<void> {
    await super.close();
    try {
      const tmp = await readdir(join(this.root, FsDriver.tmpDirName)).catch(() => []);
      assert.deepEqual(tmp, [], 'FsDriver left temp files behind');
      const top = (await readdir(this.root)).filter((n) => n !== FsDriver.tmpDirName);
      assert.deepEqual(top, [], 'FsDriver left entries (empty directories?) under its root');
    } finally {
      await rm(this.root, { recursive: true, force: true });
    }
  }
}

describeBlobDriver('filesystem', async () => new CheckedFsDriver({ root: await mkdtemp(join(tmpdir(), 'berth-fs-')) }));

describeBlobDriver(
  'filesystem (fsync off)',
  async () => new CheckedFsDriver({ root: await mkdtemp(join(tmpdir(), 'berth-fs-nosync-')), fsync: false }),
  { skipTests: { reason: 'covered by the fsync run; only the commit path differs', tests: ['streams 64 MiB through writer and reader, checked by sha256'] } },
);
