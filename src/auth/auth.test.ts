import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPassword, hashSecret, newSecret, safeEqual, secretMatches, verifyPassword } from './secrets.js';
import { formatScope, parseResourceScope, parseScopes, repositoryOfScopeName } from './scope.js';
import { LoginThrottle } from './throttle.js';
import { namespaceOf } from './access.js';

describe('secrets', () => {
  it('hashes passwords with a salt and verifies only the right one', async () => {
    const a = await hashPassword('s3cret');
    const b = await hashPassword('s3cret');
    assert.match(a, /^scrypt\$16384\$8\$1\$[\w-]+\$[\w-]+$/);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('s3cret', a), true);
    assert.equal(await verifyPassword('s3cret ', a), false);
    assert.equal(await verifyPassword('s3cret', 'plain'), false);
    assert.equal(await verifyPassword('s3cret', 'scrypt$x$8$1$AA$AA'), false);
  });

  it('matches generated secrets against their stored hash', () => {
    const s = newSecret();
    assert.ok(s.length >= 43);
    assert.equal(secretMatches(s, hashSecret(s)), true);
    assert.equal(secretMatches(`${s}x`, hashSecret(s)), false);
    assert.equal(secretMatches(s, 'not-hex'), false);
    assert.equal(safeEqual('a', 'a'), true);
    assert.equal(safeEqual('a', 'b'), false);
  });
});

describe('scope grammar', () => {
  it('parses names with a host port, class suffixes and wildcards; drops what does not parse', () => {
    assert.deepEqual(parseResourceScope('repository:localhost:5000/team/app:pull,push'), { type: 'repository', name: 'localhost:5000/team/app', actions: ['pull', 'push'] });
    assert.deepEqual(parseResourceScope('repository(plugin):team/app:pull'), { type: 'repository', name: 'team/app', actions: ['pull'] });
    assert.deepEqual(parseResourceScope('registry:catalog:*'), { type: 'registry', name: 'catalog', actions: ['*'] });
    for (const bad of ['', 'repository', 'repository:app', ':app:pull', 'repository::pull', 'repository:app:', 'Repo!:x:pull']) {
      assert.equal(parseResourceScope(bad), undefined, bad);
    }
    assert.deepEqual(parseScopes(['repository:a/b:pull repository:c:push', 'junk', 'registry:catalog:*']).map(formatScope), [
      'repository:a/b:pull',
      'repository:c:push',
      'registry:catalog:*',
    ]);
  });

  it('maps a scope name to the repository, dropping a registry host', () => {
    assert.equal(repositoryOfScopeName('team/app'), 'team/app');
    assert.equal(repositoryOfScopeName('localhost:5000/team/app'), 'team/app');
    assert.equal(repositoryOfScopeName('registry.example.com/team/app'), 'team/app');
    assert.equal(repositoryOfScopeName('localhost/app'), 'app');
    assert.equal(repositoryOfScopeName('alpine'), 'alpine');
    assert.equal(namespaceOf('team/app/sub'), 'team');
    assert.equal(namespaceOf('alpine'), '');
  });
});

describe('login throttle', () => {
  it('allows the free attempts, then locks with a doubling delay up to the maximum; success clears', () => {
    let now = 0;
    const t = new LoginThrottle({ freeAttempts: 3, baseDelayMs: 1000, maxDelayMs: 4000, now: () => now });
    for (let i = 0; i < 2; i++) t.failure(['alice']);
    assert.equal(t.retryAfter(['alice']), 0);
    t.failure(['alice']);
    assert.equal(t.retryAfter(['alice']), 1000);
    t.failure(['alice']);
    assert.equal(t.retryAfter(['alice']), 2000);
    t.failure(['alice']);
    t.failure(['alice']);
    assert.equal(t.retryAfter(['alice']), 4000); // capped
    now += 4000;
    assert.equal(t.retryAfter(['alice']), 0);
    assert.equal(t.retryAfter(['bob']), 0);
    t.success(['alice']);
    t.failure(['alice']);
    assert.equal(t.retryAfter(['alice']), 0);
  });
});
