import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { PostgresLocker } from './locker.js';
import { SKIP_POSTGRES, postgresTestUrl, uniqueSchema } from './testing.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PostgresLocker', { skip: SKIP_POSTGRES }, () => {
  // Two lockers stand for two nodes: each has its own connections, so only PostgreSQL can exclude them.
  // The namespace keeps these keys apart from any other test run on the same database.
  const namespace = uniqueSchema('locks');
  const lockers: PostgresLocker[] = [];
  const node = (opts: { poolSize?: number; namespace?: string } = {}) => {
    const l = new PostgresLocker({ url: postgresTestUrl(), namespace: opts.namespace ?? namespace, poolSize: opts.poolSize });
    lockers.push(l);
    return l;
  };
  after(() => Promise.all(lockers.map((l) => l.close())));

  it('excludes holders of one key across nodes, and lets other keys run', async () => {
    const [a, b] = [node(), node()];
    const events: string[] = [];
    let a1Holds!: () => void;
    const a1Held = new Promise<void>((r) => (a1Holds = r));
    const hold = (l: PostgresLocker, key: string, name: string, ms: number) =>
      l.withLock(key, async () => {
        events.push(`${name}+`);
        if (name === 'a1') a1Holds();
        await sleep(ms);
        events.push(`${name}-`);
        return name;
      });
    const first = hold(a, 'k', 'a1', 80);
    await a1Held;
    const results = await Promise.all([first, hold(b, 'k', 'b1', 1), hold(b, 'other', 'b2', 1)]);
    assert.deepEqual(results, ['a1', 'b1', 'b2']);
    assert.ok(events.indexOf('a1-') < events.indexOf('b1+'), `b1 waits for a1: ${events.join(' ')}`);
    assert.ok(events.indexOf('b2-') < events.indexOf('a1-'), `other keys don't wait: ${events.join(' ')}`);
  });

  it('tryWithLock gives up at once while another node or caller holds the key', async () => {
    const [a, b] = [node(), node()];
    let release!: () => void;
    let held!: () => void;
    const isHeld = new Promise<void>((r) => (held = r));
    const holder = a.withLock('gc', () => {
      held();
      return new Promise<void>((r) => (release = r));
    });
    await isHeld;
    const started = Date.now();
    assert.deepEqual(await b.tryWithLock('gc', async () => 1), { acquired: false });
    assert.deepEqual(await a.tryWithLock('gc', async () => 1), { acquired: false }, 'same node');
    assert.ok(Date.now() - started < 1000);
    release();
    await holder;
    assert.deepEqual(await b.tryWithLock('gc', async () => 2), { acquired: true, value: 2 });
  });

  it('releases the lock when the holder throws', async () => {
    const [a, b] = [node(), node()];
    await assert.rejects(a.withLock('boom', async () => { throw new Error('boom'); }), /boom/);
    assert.deepEqual(await b.tryWithLock('boom', async () => 'free'), { acquired: true, value: 'free' });
    await assert.rejects(a.tryWithLock('boom', async () => { throw new Error('again'); }), /again/);
    assert.deepEqual(await b.tryWithLock('boom', async () => 'free'), { acquired: true, value: 'free' });
  });

  it('never runs out of connections for nested locks (an upload, then its blob)', async () => {
    const a = node({ poolSize: 1 });
    const values = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        a.withLock(`upload:${i}`, () => a.withLock(`blob:${i % 2}`, async () => { await sleep(5); return i; })),
      ),
    );
    assert.deepEqual(values, [0, 1, 2, 3, 4, 5]);
  });

  it('keeps namespaces apart', async () => {
    const a = node();
    const b = node({ namespace: uniqueSchema('other') });
    let release!: () => void;
    let held!: () => void;
    const isHeld = new Promise<void>((r) => (held = r));
    const holder = a.withLock('k', () => {
      held();
      return new Promise<void>((r) => (release = r));
    });
    await isHeld;
    assert.deepEqual(await b.tryWithLock('k', async () => 1), { acquired: true, value: 1 });
    release();
    await holder;
  });
});
