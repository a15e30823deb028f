// The filesystem reader's copyTo (RangeCopier): the exact range, through a real socket that makes writes wait,
// so reused buffers would show as corrupt bytes; and no descriptor or hang left when the receiver goes away or
// the read is aborted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { copyOut } from '../copy-out.js';
import { FsDriver } from './driver.js';

const SIZE = 9 * 1024 * 1024 + 12345; // more than the copier's buffers hold, and not a whole number of them
const data = randomBytes(SIZE);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const openFds = () => readdirSync('/proc/self/fd').length;

/** Waits (up to 5 s) for the open descriptors to come back to `n`: closing is asynchronous. */
async function fdsBackTo(n: number): Promise<number> {
  for (let i = 0; i < 500 && openFds() !== n; i++) await sleep(10);
  return openFds();
}

let dir: string;
let driver: FsDriver;
let server: Server;
let received: (socket: Socket) => void;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-copyout-'));
  driver = new FsDriver({ root: dir });
  const w = await driver.writer('/blob');
  await w.write(data);
  await w.commit();
  server = createServer((s) => received(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});
after(async () => {
  server.close();
  await driver.close();
  await rm(dir, { recursive: true, force: true });
});

/** A socket to our server, and what arrives on the other end, read slowly so the sender's writes back up. */
async function slowPair(): Promise<{ out: Socket; peer: Promise<Socket> }> {
  const peer = new Promise<Socket>((r) => (received = r));
  const out = connect((server.address() as { port: number }).port, '127.0.0.1');
  await new Promise<void>((r) => out.once('connect', r));
  return { out, peer };
}

async function drainSlowly(s: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) {
    chunks.push(c as Buffer);
    if (chunks.length % 16 === 0) await sleep(1);
  }
  return Buffer.concat(chunks);
}

describe('filesystem reader copyTo', () => {
  for (const [offset, length] of [[0, SIZE], [1, SIZE - 1], [4 * 1024 * 1024 - 7, 3 * 1024 * 1024 + 9], [SIZE - 10, 10]] as const) {
    it(`sends bytes ${offset}+${length} through a socket that makes it wait, unaltered`, async () => {
      const fds = openFds();
      const { out, peer } = await slowPair();
      const got = drainSlowly(await peer);
      await copyOut(await driver.reader('/blob', { offset, length }), out);
      assert.equal(sha(await got), sha(data.subarray(offset, offset + length)));
      assert.equal(await fdsBackTo(fds), fds, 'the file and both ends of the socket are closed');
    });
  }

  it('rejects, and closes the file, when the receiver goes away mid-copy', async () => {
    const fds = openFds();
    const { out, peer } = await slowPair();
    const theirs = await peer;
    theirs.once('data', () => theirs.destroy());
    await assert.rejects(copyOut(await driver.reader('/blob'), out));
    assert.equal(await fdsBackTo(fds), fds);
  });

  it('stops with the abort reason when the read is aborted mid-copy, and closes the file', async () => {
    const fds = openFds();
    const ac = new AbortController();
    const sink = new PassThrough({ highWaterMark: 1 }); // never read: every write waits
    const copied = copyOut(await driver.reader('/blob', { signal: ac.signal }), sink);
    await sleep(20);
    ac.abort(new Error('stop here'));
    await assert.rejects(copied, /stop here/);
    assert.equal(await fdsBackTo(fds), fds);
  });

  it('falls back to a pipeline for an empty range, which has no copier', async () => {
    const sink = new PassThrough();
    const got = drainSink(sink);
    await copyOut(await driver.reader('/blob', { offset: SIZE }), sink);
    assert.equal((await got).length, 0);
  });
});

async function drainSink(s: PassThrough): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
