import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { BlobDriver, FileInfo, FileWriter } from './driver.js';
import { DriverError, type DriverErrorCode } from './errors.js';

/**
 * The shared conformance suite every `BlobDriver` must pass, modelled on distribution's
 * `registry/storage/driver/testsuites/testsuites.go`.
 *
 * Each test gets a fresh driver from `factory`, works below its own unique prefix, deletes that prefix
 * afterwards and then checks that `walk('/')` yields nothing, like distribution's `TearDownTest`
 * ("Storage driver did not clean up properly"): a driver must not leave temp files or empty prefixes
 * visible. The driver is closed after every test; a factory may check for hidden leftovers in `close()`.
 *
 * A driver that really differs skips *named* tests with a reason, as hono's router suites do.
 *
 * @example
 * describeBlobDriver('memory', () => new MemoryDriver());
 * describeBlobDriver('s3', () => new S3Driver(s3FromEnv()), { skip: !process.env.S3_ENDPOINT && 'set S3_ENDPOINT' });
 */
export function describeBlobDriver(
  name: string,
  factory: () => Promise<BlobDriver> | BlobDriver,
  opts: { skip?: string | false; skipTests?: { reason: string; tests: string[] } } = {},
): void {
  describe(`BlobDriver conformance: ${name}`, { skip: opts.skip || false }, () => {
    const defined = new Set<string>();
    const skipped = new Set(opts.skipTests?.tests ?? []);
    let counter = 0;

    /** Defines one test that runs `body` against a fresh driver below a unique prefix `root`. */
    function test(title: string, body: (t: Case) => Promise<void>, testOpts: { timeout?: number } = {}): void {
      defined.add(title);
      const skip = skipped.has(title) ? (opts.skipTests?.reason ?? true) : false;
      it(title, { skip, timeout: testOpts.timeout ?? 30_000 }, async () => {
        const driver = await factory();
        const root = `/conformance-${process.pid}-${++counter}-${randomBytes(4).toString('hex')}`;
        let bodyError: unknown;
        try {
          await body({ driver, root, p: (rel) => `${root}/${rel}` });
        } catch (err) {
          bodyError = err;
        }
        try {
          await driver.delete(root).catch((err: unknown) => {
            if (!(err instanceof DriverError && err.code === 'PATH_NOT_FOUND')) throw err;
          });
          if (bodyError === undefined) {
            const left = await collectWalk(driver, '/');
            assert.deepEqual(
              left.map((f) => f.path),
              [],
              'Storage driver did not clean up properly: files remain after deleting the test prefix',
            );
          }
        } catch (err) {
          bodyError ??= err;
        } finally {
          try {
            await driver.close();
          } catch (err) {
            bodyError ??= err;
          }
        }
        if (bodyError !== undefined) throw bodyError;
      });
    }

    // --- putContent / getContent -----------------------------------------------------------------

    test('putContent and getContent round-trip an empty file', async ({ driver, p }) => {
      await driver.putContent(p('empty'), new Uint8Array(0));
      assert.equal((await driver.getContent(p('empty'))).length, 0);
      assert.equal((await driver.stat(p('empty'))).size, 0);
      assert.equal((await readAll(await driver.reader(p('empty')))).length, 0);
    });

    test('putContent and getContent round-trip 1 MiB', async ({ driver, p }) => {
      const data = randomBytes(1024 * 1024);
      await driver.putContent(p('a/b/one-mib'), data);
      assert.ok((await driver.getContent(p('a/b/one-mib'))).equals(data));
    });

    test('putContent and getContent round-trip every byte value', async ({ driver, p }) => {
      const data = Buffer.alloc(256 * 3);
      for (let i = 0; i < data.length; i++) data[i] = i % 256;
      await driver.putContent(p('binary'), data);
      assert.ok((await driver.getContent(p('binary'))).equals(data));
      assert.ok((await readAll(await driver.reader(p('binary')))).equals(data));
    });

    test('putContent replaces existing content', async ({ driver, p }) => {
      await driver.putContent(p('f'), Buffer.from('a much longer first version'));
      await driver.putContent(p('f'), Buffer.from('short'));
      assert.equal((await driver.getContent(p('f'))).toString(), 'short');
      assert.equal((await driver.stat(p('f'))).size, 5);
    });

    test('putContent keeps its own copy of the bytes', async ({ driver, p }) => {
      const data = Buffer.from('original');
      await driver.putContent(p('f'), data);
      data.fill(0);
      const got = await driver.getContent(p('f'));
      got.fill(1);
      assert.equal((await driver.getContent(p('f'))).toString(), 'original');
    });

    test('stat reports path, size and modTime', async ({ driver, p }) => {
      const before = Date.now();
      await driver.putContent(p('x/y'), Buffer.from('12345'));
      const info = await driver.stat(p('x/y'));
      assert.equal(info.path, p('x/y'));
      assert.equal(info.size, 5);
      assert.ok(info.modTime instanceof Date);
      // Filesystems round mtime; allow a couple of seconds of slack either way.
      assert.ok(Math.abs(info.modTime.getTime() - before) < 5_000, `modTime ${info.modTime.toISOString()}`);
    });

    // --- errors -------------------------------------------------------------------------------------

    test('every method throws PATH_NOT_FOUND for a missing path', async ({ driver, root, p }) => {
      const missing = p('missing/file');
      await rejectsWith(driver.stat(missing), 'PATH_NOT_FOUND');
      await rejectsWith(driver.reader(missing), 'PATH_NOT_FOUND');
      await rejectsWith(driver.getContent(missing), 'PATH_NOT_FOUND');
      await rejectsWith(driver.move(missing, p('dest')), 'PATH_NOT_FOUND');
      await rejectsWith(driver.delete(missing), 'PATH_NOT_FOUND');
      await rejectsWith(driver.list(missing), 'PATH_NOT_FOUND');
      await rejectsWith(driver.list(root), 'PATH_NOT_FOUND');
      assert.deepEqual(await collectWalk(driver, missing), []);
      await rejectsWith(driver.stat(p('dest')), 'PATH_NOT_FOUND');
    });

    test('a prefix is not a file, and nothing is below a file', async ({ driver, p }) => {
      await driver.putContent(p('dir/file'), Buffer.from('x'));
      await rejectsWith(driver.stat(p('dir')), 'PATH_NOT_FOUND');
      await rejectsWith(driver.getContent(p('dir')), 'PATH_NOT_FOUND');
      await rejectsWith(driver.reader(p('dir')), 'PATH_NOT_FOUND');
      await rejectsWith(driver.stat(p('dir/file/below')), 'PATH_NOT_FOUND');
      await rejectsWith(driver.getContent(p('dir/file/below')), 'PATH_NOT_FOUND');
      await rejectsWith(driver.list(p('dir/file')), 'PATH_NOT_FOUND');
    });

    test('every method throws INVALID_PATH for a malformed path', async ({ driver, p }) => {
      await driver.putContent(p('ok'), Buffer.from('x'));
      const bad = [
        '',
        'no-leading-slash',
        'relative/path',
        '/a/../b',
        '/..',
        '/a/./b',
        '/a//b',
        '//a',
        '/a/',
        '/a b',
        '/a\\b',
        '/a:b',
        '/a?b',
        '/ü',
        '/a\u0000b',
        '/a/~tmp',
      ];
      for (const path of bad) {
        const label = JSON.stringify(path);
        await rejectsWith(driver.stat(path), 'INVALID_PATH', label);
        await rejectsWith(driver.reader(path), 'INVALID_PATH', label);
        await rejectsWith(driver.writer(path), 'INVALID_PATH', label);
        await rejectsWith(driver.writer(path, { append: true }), 'INVALID_PATH', label);
        await rejectsWith(driver.getContent(path), 'INVALID_PATH', label);
        await rejectsWith(driver.putContent(path, Buffer.from('x')), 'INVALID_PATH', label);
        await rejectsWith(driver.move(path, p('dest')), 'INVALID_PATH', label);
        await rejectsWith(driver.move(p('ok'), path), 'INVALID_PATH', label);
        await rejectsWith(driver.delete(path), 'INVALID_PATH', label);
        await rejectsWith(driver.list(path), 'INVALID_PATH', label);
        await rejectsWith(collectWalk(driver, path), 'INVALID_PATH', label);
      }
      // The root is a prefix, never a file.
      await rejectsWith(driver.stat('/'), 'INVALID_PATH');
      await rejectsWith(driver.reader('/'), 'INVALID_PATH');
      await rejectsWith(driver.writer('/'), 'INVALID_PATH');
      await rejectsWith(driver.getContent('/'), 'INVALID_PATH');
      await rejectsWith(driver.putContent('/', Buffer.from('x')), 'INVALID_PATH');
      await rejectsWith(driver.move(p('ok'), '/'), 'INVALID_PATH');
      assert.equal((await driver.getContent(p('ok'))).toString(), 'x');
    });

    test('an aborted signal rejects every method with its reason', async ({ driver, root, p }) => {
      await driver.putContent(p('f'), Buffer.from('x'));
      const reason = new Error('caller gave up');
      const signal = AbortSignal.abort(reason);
      const isReason = (err: unknown): boolean => err === reason;
      await assert.rejects(driver.stat(p('f'), { signal }), isReason);
      await assert.rejects(driver.reader(p('f'), { signal }), isReason);
      await assert.rejects(driver.writer(p('g'), { signal }), isReason);
      await assert.rejects(driver.writer(p('f'), { signal, append: true }), isReason);
      await assert.rejects(driver.getContent(p('f'), { signal }), isReason);
      await assert.rejects(driver.putContent(p('g'), Buffer.from('y'), { signal }), isReason);
      await assert.rejects(driver.move(p('f'), p('g'), { signal }), isReason);
      await assert.rejects(driver.delete(p('f'), { signal }), isReason);
      await assert.rejects(driver.list(root, { signal }), isReason);
      await assert.rejects(collectWalk(driver, '/', { signal }), isReason);
      assert.equal((await driver.getContent(p('f'))).toString(), 'x');
      await rejectsWith(driver.stat(p('g')), 'PATH_NOT_FOUND');
    });

    // --- reader ---------------------------------------------------------------------------------------

    test('reader honours offset and length', async ({ driver, p }) => {
      const data = randomBytes(100_000);
      await driver.putContent(p('f'), data);
      const cases: [offset: number | undefined, length: number | undefined][] = [
        [undefined, undefined],
        [0, undefined],
        [1, undefined],
        [50_000, undefined],
        [99_999, undefined],
        [0, 10],
        [12_345, 1],
        [12_345, 54_321],
        [90_000, 20_000], // length past the end stops at the end
        [5, 0],
      ];
      for (const [offset, length] of cases) {
        const got = await readAll(await driver.reader(p('f'), { offset, length }));
        const start = offset ?? 0;
        const want = data.subarray(start, length === undefined ? undefined : start + length);
        assert.ok(got.equals(want), `offset ${offset} length ${length}: got ${got.length} bytes, want ${want.length}`);
      }
    });

    test('reader at offset == size yields nothing', async ({ driver, p }) => {
      await driver.putContent(p('f'), Buffer.from('hello'));
      assert.equal((await readAll(await driver.reader(p('f'), { offset: 5 }))).length, 0);
      await driver.putContent(p('empty'), Buffer.alloc(0));
      assert.equal((await readAll(await driver.reader(p('empty'), { offset: 0 }))).length, 0);
    });

    test('reader throws INVALID_OFFSET for negative or past-the-end offsets', async ({ driver, p }) => {
      await driver.putContent(p('f'), Buffer.from('hello'));
      await rejectsWith(driver.reader(p('f'), { offset: 6 }), 'INVALID_OFFSET');
      await rejectsWith(driver.reader(p('f'), { offset: 1_000_000 }), 'INVALID_OFFSET');
      await rejectsWith(driver.reader(p('f'), { offset: -1 }), 'INVALID_OFFSET');
      await driver.putContent(p('empty'), Buffer.alloc(0));
      await rejectsWith(driver.reader(p('empty'), { offset: 1 }), 'INVALID_OFFSET');
    });

    test(
      'streams 64 MiB through writer and reader, checked by sha256',
      async ({ driver, p }) => {
        // Neither side holds the content: bytes are generated, hashed and written chunk by chunk.
        const size = 64 * 1024 * 1024;
        const written = createHash('sha256');
        const w = await driver.writer(p('big'));
        try {
          await pipeline(randomSource(size, 1024 * 1024, written), w);
          await w.commit();
        } finally {
          await w.cancel();
        }
        assert.equal(w.size, size);
        assert.equal((await driver.stat(p('big'))).size, size);
        const read = createHash('sha256');
        await pipeline(await driver.reader(p('big')), hashSink(read));
        assert.equal(read.digest('hex'), written.digest('hex'));
      },
      { timeout: 120_000 },
    );

    test('a slow consumer receives the exact bytes (backpressure)', async ({ driver, p }) => {
      const data = randomBytes(8 * 1024 * 1024 + 123);
      await driver.putContent(p('f'), data);
      const reader = await driver.reader(p('f'));
      const got: Buffer[] = [];
      let largestChunk = 0;
      for await (const chunk of reader) {
        assert.ok(Buffer.isBuffer(chunk));
        got.push(chunk);
        largestChunk = Math.max(largestChunk, chunk.length);
        await sleep(2);
        // While we dawdle the stream must stop reading ahead, not buffer the whole file.
        const bound = 2 * Math.max(reader.readableHighWaterMark, largestChunk);
        assert.ok(reader.readableLength <= bound, `buffered ${reader.readableLength} bytes while paused`);
      }
      assert.ok(Buffer.concat(got).equals(data));
    });

    test('destroying a reader early releases it without errors', async ({ driver, p }) => {
      await driver.putContent(p('f'), randomBytes(4 * 1024 * 1024));
      const errors: unknown[] = [];

      // Stop after the first chunk.
      const a = await driver.reader(p('f'));
      a.on('error', (err) => errors.push(err));
      const [chunk] = (await once(a, 'data')) as [Buffer];
      assert.ok(chunk.length > 0);
      a.destroy();
      if (!a.closed) await new Promise((resolve) => a.once('close', resolve));

      // Destroy in the same tick it was created, before any read.
      const b = await driver.reader(p('f'));
      b.on('error', (err) => errors.push(err));
      b.destroy();
      if (!b.closed) await new Promise((resolve) => b.once('close', resolve));

      await sleep(10);
      assert.deepEqual(errors, []);
      // The file is still usable and deletable.
      await driver.delete(p('f'));
      await rejectsWith(driver.stat(p('f')), 'PATH_NOT_FOUND');
    });

    test('aborting a reader destroys the stream with the reason', async ({ driver, p }) => {
      await driver.putContent(p('f'), randomBytes(4 * 1024 * 1024));
      const ac = new AbortController();
      const reason = new Error('client disconnected');
      const reader = await driver.reader(p('f'), { signal: ac.signal });
      await assert.rejects(
        (async () => {
          for await (const _chunk of reader) ac.abort(reason);
        })(),
        (err: unknown) => err === reason,
      );
    });

    // --- writer ---------------------------------------------------------------------------------------

    test('a writer is invisible until commit', async ({ driver, root, p }) => {
      const w = await driver.writer(p('dir/f'));
      try {
        await writeChunk(w, Buffer.from('hello '));
        await writeChunk(w, Buffer.from('world'));
        assert.equal(w.size, 11);
        await rejectsWith(driver.stat(p('dir/f')), 'PATH_NOT_FOUND');
        await rejectsWith(driver.list(root), 'PATH_NOT_FOUND');
        assert.deepEqual(await collectWalk(driver, '/'), []);
        await w.commit();
      } finally {
        await w.cancel();
      }
      assert.equal((await driver.getContent(p('dir/f'))).toString(), 'hello world');
      assert.equal(w.size, 11);
    });

    test('an empty writer commits an empty file', async ({ driver, p }) => {
      const w = await driver.writer(p('f'));
      await w.commit();
      assert.equal((await driver.stat(p('f'))).size, 0);
    });

    test('a writer replaces existing content only on commit', async ({ driver, p }) => {
      await driver.putContent(p('f'), Buffer.from('old content'));
      const w = await driver.writer(p('f'));
      await writeChunk(w, Buffer.from('new'));
      assert.equal((await driver.getContent(p('f'))).toString(), 'old content');
      await w.commit();
      assert.equal((await driver.getContent(p('f'))).toString(), 'new');
    });

    test('cancel before commit leaves nothing and keeps old content', async ({ driver, p }) => {
      const w = await driver.writer(p('new'));
      await writeChunk(w, randomBytes(1000));
      await w.cancel();
      await rejectsWith(driver.stat(p('new')), 'PATH_NOT_FOUND');

      await driver.putContent(p('old'), Buffer.from('keep me'));
      const w2 = await driver.writer(p('old'));
      await writeChunk(w2, Buffer.from('replacement'));
      await w2.cancel();
      assert.equal((await driver.getContent(p('old'))).toString(), 'keep me');
    });

    test('cancel after commit is a no-op; cancel twice is fine', async ({ driver, p }) => {
      const w = await driver.writer(p('f'));
      w.end(Buffer.from('done'));
      await w.commit();
      await w.commit(); // commit is idempotent too
      await w.cancel();
      await w.cancel();
      assert.equal((await driver.getContent(p('f'))).toString(), 'done');

      const w2 = await driver.writer(p('g'));
      await writeChunk(w2, Buffer.from('x'));
      await Promise.all([w2.cancel(), w2.cancel()]);
      await w2.cancel();
      await rejectsWith(driver.stat(p('g')), 'PATH_NOT_FOUND');
    });

    test('commit after cancel rejects and publishes nothing', async ({ driver, p }) => {
      const w = await driver.writer(p('f'));
      await writeChunk(w, Buffer.from('x'));
      await w.cancel();
      await assert.rejects(w.commit());
      await rejectsWith(driver.stat(p('f')), 'PATH_NOT_FOUND');
    });

    test('an append writer appends to existing content', async ({ driver, p }) => {
      await driver.putContent(p('up'), Buffer.from('hello'));
      const w = await driver.writer(p('up'), { append: true });
      assert.equal(w.size, 5);
      await writeChunk(w, Buffer.from(', '));
      await writeChunk(w, Buffer.from('world'));
      assert.equal(w.size, 12);
      await w.commit();
      await w.cancel();
      assert.equal((await driver.getContent(p('up'))).toString(), 'hello, world');

      const w2 = await driver.writer(p('up'), { append: true });
      assert.equal(w2.size, 12);
      w2.end(Buffer.from('!'));
      await w2.commit();
      assert.equal(w2.size, 13);
      assert.equal((await driver.getContent(p('up'))).toString(), 'hello, world!');
    });

    test('an append writer on a missing path starts empty', async ({ driver, p }) => {
      const w = await driver.writer(p('a/b/up'), { append: true });
      assert.equal(w.size, 0);
      w.end(Buffer.from('first'));
      await w.commit();
      assert.equal((await driver.getContent(p('a/b/up'))).toString(), 'first');
    });

    test('cancel of an append writer restores the previous content exactly', async ({ driver, p }) => {
      const base = randomBytes(3 * 1024 * 1024 + 7);
      await driver.putContent(p('up'), base);
      const w = await driver.writer(p('up'), { append: true });
      await writeChunk(w, randomBytes(2 * 1024 * 1024));
      await writeChunk(w, randomBytes(333));
      await w.cancel();
      await w.cancel();
      assert.ok((await driver.getContent(p('up'))).equals(base));
      assert.equal((await driver.stat(p('up'))).size, base.length);
    });

    test('cancel of an append writer on a missing path leaves nothing', async ({ driver, root, p }) => {
      const w = await driver.writer(p('a/b/up'), { append: true });
      await writeChunk(w, Buffer.from('partial'));
      await w.cancel();
      await rejectsWith(driver.stat(p('a/b/up')), 'PATH_NOT_FOUND');
      await rejectsWith(driver.list(root), 'PATH_NOT_FOUND');
    });

    test('aborting during a write leaves nothing visible', async ({ driver, root, p }) => {
      const ac = new AbortController();
      const reason = new Error('request aborted');
      const w = await driver.writer(p('f'), { signal: ac.signal });
      async function* source(): AsyncGenerator<Buffer> {
        yield randomBytes(64 * 1024);
        await sleep(5);
        ac.abort(reason);
        yield randomBytes(64 * 1024);
        await sleep(5);
        yield randomBytes(64 * 1024);
      }
      await assert.rejects(pipeline(Readable.from(source()), w));
      await assert.rejects(w.commit(), (err: unknown) => err === reason);
      await w.cancel();
      await rejectsWith(driver.stat(p('f')), 'PATH_NOT_FOUND');
      await rejectsWith(driver.list(root), 'PATH_NOT_FOUND');
    });

    test('aborting an append writer restores the previous content', async ({ driver, p }) => {
      await driver.putContent(p('up'), Buffer.from('base'));
      const ac = new AbortController();
      const reason = new Error('request aborted');
      const w = await driver.writer(p('up'), { append: true, signal: ac.signal });
      // Like addAbortSignal, an abort destroys the stream with the reason, which emits 'error'.
      const errored = once(w, 'error');
      await writeChunk(w, Buffer.from('more bytes'));
      ac.abort(reason);
      assert.equal((await errored)[0], reason);
      await assert.rejects(w.commit(), (err: unknown) => err === reason);
      await w.cancel();
      assert.equal((await driver.getContent(p('up'))).toString(), 'base');
    });

    test('a source error during pipeline leaves nothing visible', async ({ driver, root, p }) => {
      const boom = new Error('source failed');
      async function* source(): AsyncGenerator<Buffer> {
        yield randomBytes(256 * 1024);
        await sleep(5);
        throw boom;
      }
      const w = await driver.writer(p('f'));
      try {
        await assert.rejects(pipeline(Readable.from(source()), w), (err: unknown) => err === boom);
        await rejectsWith(driver.stat(p('f')), 'PATH_NOT_FOUND');
        await assert.rejects(w.commit());
      } finally {
        await w.cancel();
      }
      await rejectsWith(driver.stat(p('f')), 'PATH_NOT_FOUND');
      await rejectsWith(driver.list(root), 'PATH_NOT_FOUND');
    });

    test('a source error during an append pipeline is undone by cancel', async ({ driver, p }) => {
      await driver.putContent(p('up'), Buffer.from('base'));
      async function* source(): AsyncGenerator<Buffer> {
        yield Buffer.from('partial');
        await sleep(5);
        throw new Error('source failed');
      }
      const w = await driver.writer(p('up'), { append: true });
      await assert.rejects(pipeline(Readable.from(source()), w));
      await assert.rejects(w.commit());
      await w.cancel();
      assert.equal((await driver.getContent(p('up'))).toString(), 'base');
    });

    // --- move -------------------------------------------------------------------------------------------

    test('move renames a file and creates parent prefixes', async ({ driver, p }) => {
      await driver.putContent(p('src'), Buffer.from('payload'));
      await driver.move(p('src'), p('x/y/z/dest'));
      assert.equal((await driver.getContent(p('x/y/z/dest'))).toString(), 'payload');
      await rejectsWith(driver.stat(p('src')), 'PATH_NOT_FOUND');
    });

    test('move replaces an existing destination', async ({ driver, root, p }) => {
      await driver.putContent(p('src'), Buffer.from('new'));
      await driver.putContent(p('dest'), Buffer.from('old and longer'));
      await driver.move(p('src'), p('dest'));
      assert.equal((await driver.getContent(p('dest'))).toString(), 'new');
      assert.deepEqual(await driver.list(root), [p('dest')]);
    });

    test('move of a missing source throws PATH_NOT_FOUND and keeps the destination', async ({ driver, p }) => {
      await driver.putContent(p('dest'), Buffer.from('keep'));
      await rejectsWith(driver.move(p('missing'), p('dest')), 'PATH_NOT_FOUND');
      await rejectsWith(driver.move(p('missing'), p('other/dest')), 'PATH_NOT_FOUND');
      assert.equal((await driver.getContent(p('dest'))).toString(), 'keep');
      await rejectsWith(driver.stat(p('other/dest')), 'PATH_NOT_FOUND');
    });

    test('move leaves no empty prefix behind', async ({ driver, root, p }) => {
      await driver.putContent(p('a/b/c/src'), Buffer.from('x'));
      await driver.putContent(p('keep'), Buffer.from('y'));
      await driver.move(p('a/b/c/src'), p('dest'));
      assert.deepEqual(await driver.list(root), [p('dest'), p('keep')]);
    });

    // --- delete -----------------------------------------------------------------------------------------

    test('delete removes a file', async ({ driver, p }) => {
      await driver.putContent(p('f'), Buffer.from('x'));
      await driver.putContent(p('g'), Buffer.from('y'));
      await driver.delete(p('f'));
      await rejectsWith(driver.stat(p('f')), 'PATH_NOT_FOUND');
      await rejectsWith(driver.delete(p('f')), 'PATH_NOT_FOUND');
      assert.equal((await driver.getContent(p('g'))).toString(), 'y');
    });

    test('delete of a prefix removes everything below it, and only that', async ({ driver, root, p }) => {
      for (const rel of ['a/1', 'a/b/2', 'a/b/c/3', 'ab', 'a-b/4']) await driver.putContent(p(rel), Buffer.from(rel));
      await driver.delete(p('a'));
      assert.deepEqual(
        (await collectWalk(driver, root)).map((f) => f.path),
        [p('a-b/4'), p('ab')],
      );
      await rejectsWith(driver.delete(p('a')), 'PATH_NOT_FOUND');
      await rejectsWith(driver.list(p('a')), 'PATH_NOT_FOUND');
    });

    test('delete leaves no empty prefix behind', async ({ driver, root, p }) => {
      await driver.putContent(p('a/b/c/f'), Buffer.from('x'));
      await driver.putContent(p('keep'), Buffer.from('y'));
      await driver.delete(p('a/b/c/f'));
      assert.deepEqual(await driver.list(root), [p('keep')]);
      await driver.delete(p('keep'));
      await rejectsWith(driver.list(root), 'PATH_NOT_FOUND');
    });

    test('delete of the root removes every file', async ({ driver, p }) => {
      await driver.putContent(p('a/b'), Buffer.from('x'));
      await driver.putContent('/other-top-level', Buffer.from('y'));
      await driver.delete('/');
      assert.deepEqual(await collectWalk(driver, '/'), []);
      assert.deepEqual(await driver.list('/'), []);
      await rejectsWith(driver.delete('/'), 'PATH_NOT_FOUND');
    });

    // --- list and walk ----------------------------------------------------------------------------------

    test('list returns sorted direct children as full paths', async ({ driver, root, p }) => {
      for (const rel of ['b/c', 'b-x', 'b.txt', 'a', 'b/d/e', 'c/z', 'B']) await driver.putContent(p(rel), Buffer.from(rel));
      assert.deepEqual(await driver.list(root), [p('B'), p('a'), p('b'), p('b-x'), p('b.txt'), p('c')]);
      assert.deepEqual(await driver.list(p('b')), [p('b/c'), p('b/d')]);
      assert.deepEqual(await driver.list(p('b/d')), [p('b/d/e')]);
      assert.ok((await driver.list('/')).includes(root));
    });

    test('walk yields every file below with sizes, depth first in sorted order', async ({ driver, root, p }) => {
      const files: [string, number][] = [
        ['b/c', 1],
        ['b-x', 2],
        ['b.txt', 3],
        ['a', 4],
        ['b/d/e', 5],
        ['c/z', 0],
      ];
      for (const [rel, size] of files) await driver.putContent(p(rel), randomBytes(size));
      const walked = await collectWalk(driver, root);
      assert.deepEqual(
        walked.map((f) => [f.path, f.size]),
        [
          [p('a'), 4],
          [p('b/c'), 1],
          [p('b/d/e'), 5],
          [p('b-x'), 2],
          [p('b.txt'), 3],
          [p('c/z'), 0],
        ],
      );
      for (const f of walked) assert.ok(f.modTime instanceof Date);
      assert.deepEqual(
        (await collectWalk(driver, p('b'))).map((f) => f.path),
        [p('b/c'), p('b/d/e')],
      );
      assert.deepEqual(
        (await collectWalk(driver, '/')).map((f) => f.path),
        walked.map((f) => f.path),
      );
    });

    test('walk of a missing prefix yields nothing', async ({ driver, p }) => {
      assert.deepEqual(await collectWalk(driver, p('nothing/here')), []);
      await driver.putContent(p('f'), Buffer.from('x'));
      assert.deepEqual(await collectWalk(driver, p('f/below')), []);
    });

    // --- concurrency ------------------------------------------------------------------------------------

    test('concurrent writers to different paths', async ({ driver, root, p }) => {
      const n = 8;
      const contents = Array.from({ length: n }, () => randomBytes(256 * 1024));
      const writers = await Promise.all(contents.map((_, i) => driver.writer(p(`w/${i}`))));
      // Interleave: every writer gets a slice in turn.
      for (let off = 0; off < 256 * 1024; off += 32 * 1024) {
        await Promise.all(writers.map((w, i) => writeChunk(w, contents[i]!.subarray(off, off + 32 * 1024))));
      }
      await Promise.all(writers.map((w) => w.commit()));
      for (let i = 0; i < n; i++) assert.ok((await driver.getContent(p(`w/${i}`))).equals(contents[i]!));
      assert.equal((await driver.list(`${root}/w`)).length, n);
    });

    test('concurrent writers to the same path: one content wins whole', async ({ driver, p }) => {
      const a = Buffer.alloc(1024 * 1024, 'a');
      const b = Buffer.alloc(1024 * 1024, 'b');
      for (let round = 0; round < 3; round++) {
        const [wa, wb] = await Promise.all([driver.writer(p('same')), driver.writer(p('same'))]);
        for (let off = 0; off < a.length; off += 64 * 1024) {
          await Promise.all([writeChunk(wa, a.subarray(off, off + 64 * 1024)), writeChunk(wb, b.subarray(off, off + 64 * 1024))]);
        }
        await Promise.all([wa.commit(), wb.commit()]);
        const got = await driver.getContent(p('same'));
        assert.ok(got.equals(a) || got.equals(b), 'content is a mix of both writers');
      }
    });

    test('concurrent putContent and delete in one prefix', async ({ driver, root, p }) => {
      // Empty-prefix cleanup after delete must not break a writer creating a file in the same prefix.
      for (let round = 0; round < 20; round++) {
        await driver.putContent(p(`d/e/victim-${round}`), Buffer.from('x'));
        await Promise.all([driver.delete(p(`d/e/victim-${round}`)), driver.putContent(p(`d/e/new-${round}`), Buffer.from('y'))]);
        assert.equal((await driver.getContent(p(`d/e/new-${round}`))).toString(), 'y');
        await driver.delete(p(`d/e/new-${round}`));
      }
      await rejectsWith(driver.list(root), 'PATH_NOT_FOUND');
    });

    // Catch typos in skipTests: a skipped name that matches no test would silently skip nothing.
    const unknown = [...skipped].filter((t) => !defined.has(t));
    if (unknown.length > 0) throw new Error(`describeBlobDriver(${name}): skipTests names no test: ${unknown.join(', ')}`);
  });
}

interface Case {
  driver: BlobDriver;
  /** This test's unique prefix; the suite deletes it afterwards. */
  root: string;
  /** `p('a/b')` is `<root>/a/b`. */
  p: (rel: string) => string;
}

async function rejectsWith(promise: Promise<unknown>, code: DriverErrorCode, label = ''): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof DriverError, `${label} expected DriverError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, `${label} ${err.message}`);
    return true;
  });
}

async function collectWalk(driver: BlobDriver, path: string, opts: { signal?: AbortSignal } = {}): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for await (const info of driver.walk(path, opts)) out.push(info);
  return out;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Writes one chunk and waits until the driver has taken it (write callback), honouring backpressure. */
function writeChunk(w: FileWriter, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    w.write(chunk, (err) => (err ? reject(err) : resolve()));
  });
}

/** `size` pseudo-random bytes in `chunkSize` pieces, fed into `hash` as they are produced. */
function randomSource(size: number, chunkSize: number, hash: ReturnType<typeof createHash>): Readable {
  let left = size;
  return new Readable({
    read() {
      if (left === 0) {
        this.push(null);
        return;
      }
      const chunk = randomBytes(Math.min(chunkSize, left));
      left -= chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
}

function hashSink(hash: ReturnType<typeof createHash>): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback();
    },
  });
}
