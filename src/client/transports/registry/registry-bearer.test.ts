// The Docker token flow against a Bearer front with its own token service, in front of a real Berth server:
// challenge, GET with Basic credentials, anonymous tokens, OAuth2 POST (refresh token, password) with the GET
// fallback, tokens cached per scope, expiry and revocation, and refused credentials (UNAUTHORIZED, asked once).
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { digestOfRef, makeSourceLayout, tempDir, type SourceLayout } from '../../conformance.js';
import { isClientError } from '../../errors.js';
import { startTestRegistry, type TestRegistry } from '../../../testing/registry.js';
import { RegistryError } from './errors.js';
import { startBearerFront, type BearerFront, type BearerFrontOptions } from './test-servers.js';
import { pullWith, pushWith, testTransport } from './test-helpers.js';

describe('registry transport: Bearer token auth', () => {
  let registry: TestRegistry;
  let root: string;
  let src: SourceLayout;
  const fronts: BearerFront[] = [];
  async function front(o: Partial<BearerFrontOptions> = {}): Promise<BearerFront> {
    const f = await startBearerFront(registry.url, { users: { alice: 's3cret' }, ...o });
    fronts.push(f);
    return f;
  }
  before(async () => {
    registry = await startTestRegistry();
    root = await tempDir('berth-bearer-');
    src = await makeSourceLayout(join(root, 'source'));
  });
  after(async () => {
    for (const f of fronts) await f.close();
    await registry.close();
    await rm(root, { recursive: true, force: true });
  });

  it('pushes and pulls with tokens fetched by GET with Basic credentials, one per scope set', async () => {
    const f = await front();
    const t = testTransport({ credentials: { username: 'alice', password: 's3cret' } });
    const res = await pushWith(t, `oci:${src.dir}:img`, `docker://${f.host}/team/app:v1`, { preserveDigests: true });
    assert.equal(res.digest, src.image.digest);
    const out = `oci:${join(root, 'pulled')}:x`;
    await pullWith(t, `docker://${f.host}/team/app:v1`, out, { preserveDigests: true });
    assert.equal(await digestOfRef(out), src.image.digest);
    // Four blobs and a manifest pushed, five pulled: still one token per scope set, with the service and scopes the challenge named.
    assert.deepEqual(
      f.tokenRequests.map((r) => [r.method, r.user, r.service, r.scopes.join(' ')]),
      [
        ['GET', 'alice', 'berth-test', 'repository:team/app:pull,push'],
        ['GET', 'alice', 'berth-test', 'repository:team/app:pull'],
      ],
    );
    t.close();
  });

  it('anonymous pull gets an anonymous token (access_token field); anonymous push is UNAUTHORIZED', async () => {
    const f = await front({ anonymousPull: true, accessTokenField: true });
    const seed = testTransport({ credentials: { username: 'alice', password: 's3cret' } });
    await pushWith(seed, `oci:${src.dir}:img`, `docker://${f.host}/public/app:v1`);
    const anon = testTransport({ noCreds: true });
    const out = `oci:${join(root, 'anon')}:x`;
    await pullWith(anon, `docker://${f.host}/public/app:v1`, out, { preserveDigests: true });
    assert.equal(await digestOfRef(out), src.image.digest);
    assert.ok(f.tokenRequests.some((r) => r.user === undefined && r.scopes.includes('repository:public/app:pull')));
    await assert.rejects(pushWith(anon, `oci:${src.dir}:img`, `docker://${f.host}/public/app:v2`), (e) => isClientError(e, 'UNAUTHORIZED') && e instanceof RegistryError && e.registryCode === 'UNAUTHORIZED' && /no credentials are configured/.test(e.message));
    seed.close();
    anon.close();
  });

  it('a wrong password is UNAUTHORIZED, names the user and the registry, and is asked only once', async () => {
    const f = await front();
    const t = testTransport({ credentials: { username: 'alice', password: 'wrong' }, retry: { attempts: 5 } });
    await assert.rejects(pullWith(t, `docker://${f.host}/team/app:v1`, `oci:${join(root, 'never')}:x`), (e) => {
      assert.ok(isClientError(e, 'UNAUTHORIZED'), String(e));
      assert.match(e.message, new RegExp(`${f.host}.*refused the credentials of "alice"`));
      return true;
    });
    assert.equal(f.tokenRequests.length, 1);
    t.close();
  });

  it('an identitytoken in auth.json is exchanged with POST grant_type=refresh_token', async () => {
    const f = await front({ oauthPost: true, refreshTokens: { 'rt-1': 'alice' } });
    await pushWith(testTransport({ credentials: { username: 'alice', password: 's3cret' } }), `oci:${src.dir}:img`, `docker://${f.host}/team/refresh:v1`);
    f.tokenRequests.length = 0;
    const authFile = join(root, 'auth-refresh.json');
    await writeFile(authFile, JSON.stringify({ auths: { [f.host]: { identitytoken: 'rt-1' } } }));
    const t = testTransport({ authFile });
    await pullWith(t, `docker://${f.host}/team/refresh:v1`, `oci:${join(root, 'refresh')}:x`, { preserveDigests: true });
    assert.deepEqual(f.tokenRequests.map((r) => [r.method, r.grant, r.user, r.scopes.join(' ')]), [['POST', 'refresh_token', 'alice', 'repository:team/refresh:pull']]);
    t.close();
  });

  it('forceOAuth: POST grant_type=password, then the refresh token it returned', async () => {
    const f = await front({ oauthPost: true });
    const t = testTransport({ credentials: { username: 'alice', password: 's3cret' }, forceOAuth: true });
    await pushWith(t, `oci:${src.dir}:img`, `docker://${f.host}/team/oauth:v1`);
    await pullWith(t, `docker://${f.host}/team/oauth:v1`, `oci:${join(root, 'oauth')}:x`);
    assert.deepEqual(
      f.tokenRequests.map((r) => [r.method, r.grant, r.user]),
      [
        ['POST', 'password', 'alice'],
        ['POST', 'refresh_token', 'alice'],
      ],
    );
    t.close();
  });

  it('a token service without POST (404) gets the GET instead', async () => {
    const f = await front({ oauthPost: false });
    const t = testTransport({ credentials: { username: 'alice', password: 's3cret' }, forceOAuth: true });
    await pushWith(t, `oci:${src.dir}:img`, `docker://${f.host}/team/fallback:v1`, { preserveDigests: true });
    assert.ok(f.log.some((l) => l.startsWith('POST /token')), 'POST tried first');
    assert.deepEqual(f.tokenRequests.map((r) => [r.method, r.user]), [['GET', 'alice']]);
    t.close();
  });

  it('a revoked token is replaced; expires_in below 60 s is treated as 60 s', async () => {
    const f = await front({ expiresIn: 1 });
    const t = testTransport({ credentials: { username: 'alice', password: 's3cret' } });
    await pushWith(t, `oci:${src.dir}:img`, `docker://${f.host}/team/expiry:v1`);
    const s = await t.newSource(t.parseReference(`//${f.host}/team/expiry:v1`));
    await s.getManifest();
    const before = f.tokenRequests.length;
    await new Promise((r) => setTimeout(r, 1100));
    await s.getManifest();
    assert.equal(f.tokenRequests.length, before, 'still cached after the 1 s the service claimed');
    f.revokeAll();
    assert.equal((await s.getManifest()).digest, src.image.digest);
    assert.equal(f.tokenRequests.length, before + 1, 'one new token after revocation');
    await s.close();
    t.close();
  });

  it('mounts a blob across repositories, asking for pull on the source repository', async () => {
    const f = await front();
    const t = testTransport({ credentials: { username: 'alice', password: 's3cret' } });
    await pushWith(t, `oci:${src.dir}:img`, `docker://${f.host}/team/mount-from:v1`);
    const d = await t.newDestination(t.parseReference(`//${f.host}/team/mount-to:v1`));
    const layer = { mediaType: src.image.layers[0]!.mediaType, digest: src.image.layers[0]!.digest, size: src.image.layers[0]!.bytes.length };
    assert.equal(await d.hasBlob(layer), false);
    assert.equal(await d.tryMount(layer, t.parseReference(`//${f.host}/team/mount-from:v1`)), true);
    assert.equal(await d.hasBlob(layer), true);
    assert.ok(f.tokenRequests.some((r) => r.scopes.includes('repository:team/mount-from:pull') && r.scopes.includes('repository:team/mount-to:pull,push')));
    // Another registry, or the same repository, is never mounted from.
    assert.equal(await d.tryMount(layer, t.parseReference('//elsewhere.example/team/mount-from:v1')), false);
    await d.close();
    t.close();
  });
});
