// The Docker token protocol as clients meet it: the challenge, the GET and OAuth POST token endpoint, Basic on
// /v2/, token tampering, expiry, audience and kid rotation, scope escalation and brute-force throttling.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { errorOf, pushImage, randomImage } from '../testing/fixtures.js';
import { hashPassword } from '../auth/secrets.js';
import { TokenKeys } from '../auth/tokens.js';

const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('token authentication', () => {
  let reg: TestRegistry;
  let adminAuth: string;
  const image = randomImage({ layers: 1, size: 256 });

  before(async () => {
    reg = await startTestRegistry({ auth: true });
    adminAuth = basic('admin', reg.adminPassword!);
    await reg.auth!.accounts.createUser({ name: 'bob', passwordHash: await hashPassword('bob-secret') });
    await pushImage(reg.url, 'admin/app', image, 'v1', { Authorization: adminAuth });
    await reg.auth!.accounts.setPermission({ repo: 'admin/app', subjectKind: 'user', subject: 'bob', role: 'read' });
  });
  after(() => reg.close());

  async function token(params: string, authorization?: string): Promise<{ token: string; refresh_token?: string; expires_in: number; issued_at: string; access_token: string }> {
    const res = await fetch(`${reg.url}/v2/auth?service=berth-test&${params}`, { headers: authorization ? { Authorization: authorization } : {} });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as never;
  }

  it('challenges an anonymous /v2/ with the Bearer realm and service', async () => {
    const res = await fetch(`${reg.url}/v2/`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), `Bearer realm="${reg.url}/v2/auth",service="berth-test"`);
    assert.equal((await errorOf(res)).code, 'UNAUTHORIZED');
  });

  it('challenges an anonymous pull with the scope it needs', async () => {
    const res = await fetch(`${reg.url}/v2/admin/app/manifests/v1`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), `Bearer realm="${reg.url}/v2/auth",service="berth-test",scope="repository:admin/app:pull"`);
    const push = await fetch(`${reg.url}/v2/admin/app/blobs/uploads/`, { method: 'POST' });
    assert.match(push.headers.get('www-authenticate') ?? '', /scope="repository:admin\/app:pull,push"/);
  });

  it('issues a JWT in the shape distribution expects, with token, access_token, expires_in and issued_at', async () => {
    const t = await token('scope=repository:admin/app:pull,push', adminAuth);
    assert.equal(t.token, t.access_token);
    assert.equal(t.expires_in, 300);
    assert.ok(!Number.isNaN(Date.parse(t.issued_at)));
    const header = decodeProtectedHeader(t.token);
    assert.equal(header.alg, 'ES256');
    assert.equal(header.typ, 'JWT');
    assert.ok(header.kid);
    const claims = decodeJwt(t.token);
    assert.equal(claims.iss, 'berth-test');
    assert.equal(claims.sub, 'admin');
    assert.equal(claims.aud, 'berth-test');
    assert.ok(claims.jti && claims.nbf && claims.iat && claims.exp);
    assert.deepEqual(claims.access, [{ type: 'repository', name: 'admin/app', actions: ['pull', 'push'] }]);
    const res = await fetch(`${reg.url}/v2/admin/app/manifests/v1`, { headers: { Authorization: `Bearer ${t.token}` } });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  });

  it('accepts a scope name with the registry host and port, and ignores malformed scopes', async () => {
    const host = new URL(reg.url).host;
    const t = await token(`scope=repository:${host}/admin/app:pull&scope=nonsense`, adminAuth);
    assert.deepEqual(decodeJwt(t.token).access, [{ type: 'repository', name: `${host}/admin/app`, actions: ['pull'] }]);
    const res = await fetch(`${reg.url}/v2/admin/app/manifests/v1`, { method: 'HEAD', headers: { Authorization: `Bearer ${t.token}` } });
    assert.equal(res.status, 200);
  });

  it('grants the intersection of asked and allowed: read-only bob asking for push gets pull, and a PUT is DENIED', async () => {
    const t = await token('scope=repository:admin/app:pull,push,delete', basic('bob', 'bob-secret'));
    assert.deepEqual(decodeJwt(t.token).access, [{ type: 'repository', name: 'admin/app', actions: ['pull'] }]);
    const put = await fetch(`${reg.url}/v2/admin/app/manifests/v2`, {
      method: 'PUT',
      body: new Uint8Array(image.manifest),
      headers: { 'Content-Type': image.mediaType, Authorization: `Bearer ${t.token}` },
    });
    assert.deepEqual(await errorOf(put), { status: 403, code: 'DENIED' });
    assert.equal((await reg.deps.store.getTaggedManifest('admin/app', 'v2')), undefined);
  });

  it('accepts Basic credentials directly on /v2/', async () => {
    const ok = await fetch(`${reg.url}/v2/admin/app/tags/list`, { headers: { Authorization: basic('bob', 'bob-secret') } });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { name: 'admin/app', tags: ['v1'] });
    const wrong = await fetch(`${reg.url}/v2/admin/app/tags/list`, { headers: { Authorization: basic('bob', 'nope') } });
    assert.deepEqual(await errorOf(wrong), { status: 401, code: 'UNAUTHORIZED' });
  });

  it('answers an outsider the same for a private repository and a missing one', async () => {
    await reg.auth!.accounts.createUser({ name: 'eve', passwordHash: await hashPassword('eve-secret') });
    const t = await token('scope=repository:admin/app:pull&scope=repository:admin/missing:pull', basic('eve', 'eve-secret'));
    const answers = [];
    for (const repo of ['admin/app', 'admin/missing']) {
      for (const path of [`manifests/v1`, `tags/list`, `blobs/${image.config.digest}`]) {
        const res = await fetch(`${reg.url}/v2/${repo}/${path}`, { headers: { Authorization: `Bearer ${t.token}` } });
        const body = (await res.text()).replaceAll(repo, 'REPO');
        answers.push({ path, status: res.status, challenge: res.headers.get('www-authenticate')?.replaceAll(repo, 'REPO'), body });
      }
    }
    assert.equal(answers[0]!.status, 401);
    assert.match(answers[0]!.challenge!, /error="insufficient_scope"/);
    assert.deepEqual(answers.slice(0, 3), answers.slice(3));
  });

  it('lets anyone pull a public repository with an anonymous token, but not push', async () => {
    await reg.auth!.accounts.updateRepository('admin/app', { visibility: 'public' });
    try {
      const t = await token('scope=repository:admin/app:pull,push');
      const claims = decodeJwt(t.token);
      assert.equal(claims.sub, '');
      assert.deepEqual(claims.access, [{ type: 'repository', name: 'admin/app', actions: ['pull'] }]);
      const res = await fetch(`${reg.url}/v2/admin/app/manifests/v1`, { headers: { Authorization: `Bearer ${t.token}` } });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      const push = await fetch(`${reg.url}/v2/admin/app/blobs/uploads/`, { method: 'POST', headers: { Authorization: `Bearer ${t.token}` } });
      assert.deepEqual(await errorOf(push), { status: 403, code: 'DENIED' });
    } finally {
      await reg.auth!.accounts.updateRepository('admin/app', { visibility: 'private' });
    }
  });

  it('rejects a tampered token, a token for another service, an expired one, and one signed by an unknown key', async () => {
    const t = await token('scope=repository:admin/app:pull', adminAuth);
    const [h, p, s] = t.token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, access: [{ type: 'repository', name: 'admin/other', actions: ['*'] }] })).toString('base64url')}.${s}`;
    const otherService = new TokenKeys(reg.auth!.accounts, { issuer: 'berth-test', service: 'elsewhere', ttlSeconds: 300 });
    await otherService.init();
    const wrongAudience = (await otherService.sign({ sub: 'admin', kind: 'user', access: claims.access as never })).token;
    const sameService = new TokenKeys(reg.auth!.accounts, { issuer: 'berth-test', service: 'berth-test', ttlSeconds: 60 });
    await sameService.init();
    const expired = (await sameService.sign({ sub: 'admin', kind: 'user', access: claims.access as never }, new Date(Date.now() - 3600_000))).token;
    const { generateKeyPair, SignJWT } = await import('jose');
    const { privateKey } = await generateKeyPair('ES256');
    const unknownKey = await new SignJWT({ access: claims.access as never })
      .setProtectedHeader({ alg: 'ES256', kid: 'not-ours' })
      .setIssuer('berth-test')
      .setAudience('berth-test')
      .setSubject('admin')
      .setExpirationTime('5m')
      .sign(privateKey);
    for (const bad of [forged, wrongAudience, expired, unknownKey, 'not.a.jwt']) {
      const res = await fetch(`${reg.url}/v2/admin/app/manifests/v1`, { headers: { Authorization: `Bearer ${bad}` } });
      assert.deepEqual(await errorOf(res), { status: 401, code: 'UNAUTHORIZED' }, bad);
      assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    }
  });

  it('rotates the signing key: tokens of the retired key still verify, new ones carry the new kid, old keys are purged after the token lifetime', async () => {
    const old = await token('scope=repository:admin/app:pull', adminAuth); // not used before the rotation, so not cached
    const oldKid = decodeProtectedHeader(old.token).kid;
    const newKid = await reg.auth!.keys.rotate();
    assert.notEqual(newKid, oldKid);
    const fresh = await token('scope=repository:admin/app:pull', adminAuth);
    assert.equal(decodeProtectedHeader(fresh.token).kid, newKid);
    const head = (t: string) => fetch(`${reg.url}/v2/admin/app/manifests/v1`, { method: 'HEAD', headers: { Authorization: `Bearer ${t}` } });
    assert.equal((await head(old.token)).status, 200);
    assert.equal((await head(fresh.token)).status, 200);
    assert.deepEqual(await reg.auth!.keys.purgeRetired(), []); // retired just now: its tokens may still be valid
    assert.deepEqual(await reg.auth!.keys.purgeRetired(new Date(Date.now() + 3600_000)), [oldKid]);
    assert.deepEqual((await reg.auth!.accounts.listSigningKeys()).map((k) => k.kid), [newKid]);
  });

  it('OAuth POST: password grant with a refresh token, then refresh_token grant; a revoked refresh token is refused', async () => {
    const post = (form: Record<string, string>) =>
      fetch(`${reg.url}/v2/auth`, { method: 'POST', body: new URLSearchParams(form), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    const first = await post({ grant_type: 'password', username: 'bob', password: 'bob-secret', service: 'berth-test', client_id: 'test', access_type: 'offline', scope: 'repository:admin/app:pull,push' });
    assert.equal(first.status, 200);
    const body = (await first.json()) as { access_token: string; refresh_token: string; scope: string; expires_in: number };
    assert.match(body.refresh_token, /^berth_rt_/);
    assert.equal(body.scope, 'repository:admin/app:pull');
    const again = await post({ grant_type: 'refresh_token', refresh_token: body.refresh_token, service: 'berth-test', client_id: 'test', scope: 'repository:admin/app:pull' });
    assert.equal(again.status, 200);
    const refreshed = (await again.json()) as { access_token: string };
    assert.equal(decodeJwt(refreshed.access_token).sub, 'bob');
    const [rt] = await reg.auth!.accounts.listTokens('bob', 'refresh');
    await reg.auth!.accounts.deleteToken(rt!.id);
    const revoked = await post({ grant_type: 'refresh_token', refresh_token: body.refresh_token, service: 'berth-test' });
    assert.equal(revoked.status, 401);
    assert.equal(((await revoked.json()) as { error: string }).error, 'invalid_grant');
    const unsupported = await post({ grant_type: 'client_credentials' });
    assert.equal(unsupported.status, 400);
    assert.equal(((await unsupported.json()) as { error: string }).error, 'unsupported_grant_type');
  });

  it('GET with offline_token=true returns a refresh token (docker login stores it as identitytoken)', async () => {
    const t = await token('offline_token=true&client_id=docker', basic('bob', 'bob-secret'));
    assert.match(t.refresh_token ?? '', /^berth_rt_/);
    const anon = await token('offline_token=true');
    assert.equal(anon.refresh_token, undefined);
  });

  it('throttles failed logins per account with TOOMANYREQUESTS and Retry-After, even for the right password then', async () => {
    await reg.auth!.accounts.createUser({ name: 'mallory', passwordHash: await hashPassword('right') });
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${reg.url}/v2/auth?service=berth-test`, { headers: { Authorization: basic('mallory', `wrong-${i}`) } });
      assert.equal(res.status, 401);
      await res.arrayBuffer();
    }
    const locked = await fetch(`${reg.url}/v2/auth?service=berth-test`, { headers: { Authorization: basic('mallory', 'right') } });
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers.get('retry-after')) >= 1);
    assert.equal((await errorOf(locked)).code, 'TOOMANYREQUESTS');
    await reg.auth!.flushAudit();
    const failures = await reg.auth!.accounts.queryAudit({ actor: 'mallory', action: 'login_failure' });
    assert.equal(failures.length, 5);
    assert.ok(failures.every((e) => !JSON.stringify(e).includes('wrong-')));
  });
});

describe('failed logins per address', () => {
  it('locks an address that fails against many accounts, with TOOMANYREQUESTS, while other addresses may still log in', async () => {
    const reg = await startTestRegistry({ auth: { throttle: { freeAttempts: 2, baseDelayMs: 60_000, maxDelayMs: 60_000 } } });
    try {
      await reg.auth!.accounts.createUser({ name: 'victim', passwordHash: await hashPassword('right') });
      // 2 free attempts per account, 20 per address: 20 failures spread over 20 accounts lock no account, but the address.
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${reg.url}/v2/`, { headers: { Authorization: basic(`user${i}`, 'guess') } });
        assert.equal(res.status, 401);
        await res.arrayBuffer();
      }
      const locked = await fetch(`${reg.url}/v2/`, { headers: { Authorization: basic('victim', 'right') } });
      assert.deepEqual(await errorOf(locked), { status: 429, code: 'TOOMANYREQUESTS' });
      assert.equal(reg.auth!.throttle.retryAfter(['victim']), 0, 'the account itself is not locked');
      assert.ok(await reg.auth!.login('victim', 'right', '192.0.2.7'), 'another address still gets in');
    } finally {
      await reg.close();
    }
  });

  it('behind a trusted proxy, locks the forwarded address, not the proxy, and audits the client address', async () => {
    const reg = await startTestRegistry({ auth: { throttle: { freeAttempts: 2, baseDelayMs: 60_000, maxDelayMs: 60_000 } }, trustedProxies: '127.0.0.0/8, ::1' });
    try {
      await reg.auth!.accounts.createUser({ name: 'victim', passwordHash: await hashPassword('right') });
      const via = (client: string, user: string, pass: string) => fetch(`${reg.url}/v2/`, { headers: { Authorization: basic(user, pass), 'X-Forwarded-For': `${client}, 127.0.0.1` } });
      for (let i = 0; i < 20; i++) {
        const res = await via('203.0.113.66', `user${i}`, 'guess');
        assert.equal(res.status, 401);
        await res.arrayBuffer();
      }
      assert.deepEqual(await errorOf(await via('203.0.113.66', 'victim', 'right')), { status: 429, code: 'TOOMANYREQUESTS' });
      const other = await via('198.51.100.9', 'victim', 'right');
      assert.equal(other.status, 200, 'another client behind the same proxy still gets in');
      await other.arrayBuffer();
      await reg.auth!.flushAudit();
      const failures = await reg.auth!.accounts.queryAudit({ action: 'login_failure', limit: 100 });
      assert.ok(failures.length >= 20 && failures.every((e) => e.ip === '203.0.113.66'), JSON.stringify(failures.map((e) => e.ip)));
    } finally {
      await reg.close();
    }
  });
});

describe('audit retention', () => {
  it('prunes events older than the retention, in batches, and keeps everything with a retention of 0', async () => {
    const reg = await startTestRegistry({ auth: true });
    try {
      const auth = reg.auth!;
      const old = new Date('2026-01-01T00:00:00Z');
      for (let i = 0; i < 1500; i++) auth.audit({ at: old, action: 'pull', actorKind: 'anonymous', namespace: 'retention', repo: 'retention/app' });
      auth.audit({ at: new Date('2026-06-01T00:00:00Z'), action: 'push', actorKind: 'anonymous', namespace: 'retention', repo: 'retention/app' });
      await auth.flushAudit();
      const now = new Date('2026-06-02T00:00:00Z');
      assert.equal(await auth.pruneAudit(0, now), 0);
      assert.equal(await auth.pruneAudit(90 * 86_400_000, now), 1500, 'more than one batch of 1,000');
      assert.deepEqual((await auth.accounts.queryAudit({ namespace: 'retention' })).map((e) => e.action), ['push']);
    } finally {
      await reg.close();
    }
  });
});
