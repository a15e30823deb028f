// The tar writer and readers against each other and against GNU tar: long names (ustar prefix and pax), big
// members streamed with backpressure, symlinks; a read that stops early (failed, aborted, given up) settles.
import assert from 'node:assert/strict';
import { execFile as execFileCb } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { tempDir } from '../conformance.js';
import { encodeHeader } from './header.js';
import { indexTar, openMember, readTar, resolveMember } from './reader.js';
import { TarWriter, tarBuffer } from './writer.js';

const execFile = promisify(execFileCb);
const LONG = `${'d'.repeat(120)}/${'f'.repeat(90)}.bin`;
// Too long for a ustar prefix/name split, and not ASCII: needs a pax record.
const VERY_LONG = `${'x'.repeat(200)}/${'y'.repeat(120)}/name-ü.txt`;

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('tar', () => {
  let root: string;
  const big = randomBytes(3 * 1024 * 1024 + 7);
  const small = Buffer.from('hello\n');
  let archive: string;
  before(async () => {
    root = await tempDir('berth-tar-');
    archive = join(root, 'a.tar');
    const out = createWriteStream(archive);
    const tar = new TarWriter(out);
    await tar.addDirectory('dir');
    await tar.addFile('dir/small.txt', small.length, small);
    await tar.addFile(LONG, big.length, Readable.from([big.subarray(0, 1000), big.subarray(1000)]));
    await tar.addFile(VERY_LONG, small.length, small);
    await tar.addSymlink('dir/link', 'small.txt');
    await tar.finish();
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('indexTar finds every member, with long names and symlinks resolved', async () => {
    const m = await indexTar(archive);
    assert.deepEqual([...m.keys()], ['dir', 'dir/small.txt', LONG, VERY_LONG, 'dir/link']);
    assert.deepEqual(await collect(openMember(archive, m.get(LONG)!)), big);
    assert.deepEqual(await collect(openMember(archive, m.get(VERY_LONG)!)), small);
    assert.deepEqual(await collect(openMember(archive, resolveMember(m, 'dir/link')!)), small);
    assert.deepEqual(await collect(openMember(archive, m.get(LONG)!, 1_000_000)), big.subarray(1_000_000));
  });

  it('readTar streams the same entries once', async () => {
    const seen: Array<[string, string, number]> = [];
    for await (const e of readTar(createReadStream(archive, { highWaterMark: 1000 }))) {
      const body = e.name === 'dir/small.txt' ? await collect(e.body) : undefined;
      if (body) assert.deepEqual(body, small);
      seen.push([e.name, e.type, e.size]);
    }
    assert.deepEqual(seen, [
      ['dir/', 'directory', 0],
      ['dir/small.txt', 'file', small.length],
      [LONG, 'file', big.length],
      [VERY_LONG, 'file', small.length],
      ['dir/link', 'symlink', 0],
    ]);
  });

  it('GNU tar lists and extracts what we write', async () => {
    const { stdout } = await execFile('tar', ['-tf', archive]);
    assert.deepEqual(stdout.trim().split('\n'), ['dir/', 'dir/small.txt', LONG, VERY_LONG, 'dir/link']);
    const out = join(root, 'x');
    await mkdir(out);
    await execFile('tar', ['-xf', archive, '-C', out]);
    assert.deepEqual(await readFile(join(out, LONG)), big);
    assert.deepEqual(await readFile(join(out, VERY_LONG)), small);
  });

  it('we read what GNU tar writes (long names as GNU or pax records)', async () => {
    const src = join(root, 'src');
    await mkdir(join(src, 'd'.repeat(120)), { recursive: true });
    await writeFile(join(src, LONG), small);
    for (const format of ['gnu', 'pax', 'ustar']) {
      const file = join(root, `${format}.tar`);
      try {
        await execFile('tar', ['--format', format, '-cf', file, '-C', src, '.']);
      } catch {
        assert.equal(format, 'ustar', 'only ustar may refuse the long name');
        continue;
      }
      const m = await indexTar(file);
      assert.deepEqual(await collect(openMember(file, m.get(LONG)!)), small, format);
    }
  });

  it('tarBuffer builds small archives in memory', async () => {
    const buf = tarBuffer([{ name: 'a.txt', body: small }]);
    assert.equal(buf.length % 512, 0);
    const names: string[] = [];
    for await (const e of readTar(Readable.from([buf]))) names.push(e.name);
    assert.deepEqual(names, ['a.txt']);
  });
});

describe('tar pax records', () => {
  it('hands out the pax records of an entry (extended attributes), as GNU tar --xattrs writes them', async () => {
    const root = await tempDir('berth-tar-pax-');
    try {
      await writeFile(join(root, 'bin'), 'x');
      const archive = join(root, 'caps.tar');
      // A file-capability xattr as `setcap cap_net_bind_service=+ep` stores it, written the way container builders do.
      await execFile('tar', ['--format=pax', '--pax-option=SCHILY.xattr.security.capability:=AQAAAgAEAAAAAAAAAAAAAAAAAAA=', '-cf', archive, '-C', root, 'bin']);
      const entries = [];
      for await (const e of readTar(createReadStream(archive))) {
        entries.push({ name: e.name, capability: e.pax?.get('SCHILY.xattr.security.capability'), path: e.pax?.get('path') });
        e.body.resume();
      }
      // `path` is folded into the name, not repeated in the records.
      assert.deepEqual(entries, [{ name: 'bin', capability: 'AQAAAgAEAAAAAAAAAAAAAAAAAAA=', path: undefined }]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

// A reader that stops early must settle at once: a layer read that fails or is aborted becomes an error of the
// iteration, never an unhandled 'error' event (which ends the process) nor a wait for input that never comes.
describe('readTar when reading stops early', () => {
  const header = (name: string, size: number) => encodeHeader({ name, type: 'file', size, mode: 0o644, uid: 0, gid: 0, mtime: 0 });

  /** Fails when `p` has not settled within `ms`; the timer keeps the process waiting, so a lost promise shows. */
  async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)));
    try {
      return await Promise.race([p, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  it('input destroyed with an error while the caller skips a body: the iteration fails with that error', async () => {
    const input = new PassThrough();
    input.write(header('skipped.bin', 1024 * 1024));
    input.write(Buffer.alloc(4096));
    const it = readTar(input)[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.value?.name, 'skipped.bin');
    // The caller moves on without reading the body; the archive fails halfway through it (an aborted layer read).
    const next = it.next();
    setImmediate(() => input.destroy(new Error('the read was aborted')));
    await assert.rejects(within(next, 2000, 'the iteration'), /the read was aborted/);
    // The skipped body fails too, a moment later: that must not be an unhandled 'error' (node:test fails the test).
    await new Promise((r) => setImmediate(r));
  });

  it('a caller that gives up halfway through a body on a stalled input ends at once, and the input is destroyed', async () => {
    const input = new PassThrough();
    input.write(header('big.bin', 1024 * 1024));
    input.write(Buffer.alloc(100_000)); // ... and nothing more: the source stalls without ending.
    const read = (async () => {
      for await (const e of readTar(input)) {
        for await (const chunk of e.body) {
          assert.ok((chunk as Buffer).length > 0);
          throw new Error('the caller gives up');
        }
      }
    })();
    await assert.rejects(within(read, 2000, 'the read'), /the caller gives up/);
    assert.equal(input.destroyed, true);
  });
});
