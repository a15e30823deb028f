import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InProcessLocker } from './locks.js';

describe('InProcessLocker', () => {
  it('runs holders of one key one at a time, in arrival order, and other keys in parallel', async () => {
    const locker = new InProcessLocker();
    const events: string[] = [];
    const hold = (key: string, name: string, ms: number) =>
      locker.withLock(key, async () => {
        events.push(`${name}+`);
        await new Promise((r) => setTimeout(r, ms));
        events.push(`${name}-`);
        return name;
      });
    const results = await Promise.all([hold('a', 'a1', 20), hold('a', 'a2', 1), hold('b', 'b1', 1)]);
    assert.deepEqual(results, ['a1', 'a2', 'b1']);
    assert.ok(events.indexOf('a1-') < events.indexOf('a2+'), 'a2 waits for a1');
    assert.ok(events.indexOf('b1-') < events.indexOf('a1-'), 'b does not wait for a');
  });

  it('releases the lock when the holder throws', async () => {
    const locker = new InProcessLocker();
    await assert.rejects(locker.withLock('k', async () => { throw new Error('boom'); }), /boom/);
    assert.equal(await locker.withLock('k', async () => 1), 1);
  });

  it('tryWithLock gives up at once while the key is held', async () => {
    const locker = new InProcessLocker();
    let release!: () => void;
    const held = locker.withLock('gc', () => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(await locker.tryWithLock('gc', async () => 1), { acquired: false });
    release();
    await held;
    assert.deepEqual(await locker.tryWithLock('gc', async () => 2), { acquired: true, value: 2 });
  });
});
