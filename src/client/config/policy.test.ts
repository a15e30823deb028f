// policy.json: strict parsing, scope selection (most specific wins) per transport, and evaluation
// (insecureAcceptAnything, reject, and signedBy refused as not supported yet).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isClientError } from '../errors.js';
import { parseImageReference } from '../transports/index.js';
import { evaluatePolicy, loadPolicy, parsePolicy, policyScopes } from './policy.js';

const POLICY = parsePolicy(
  JSON.stringify({
    default: [{ type: 'reject' }],
    transports: {
      docker: {
        '': [{ type: 'insecureAcceptAnything' }],
        'docker.io/library/busybox': [{ type: 'reject' }],
        'docker.io/library/busybox:allowed': [{ type: 'insecureAcceptAnything' }],
        'quay.io/signed': [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/etc/pki/key.gpg' }],
        '*.internal.example': [{ type: 'reject' }],
      },
      oci: { '/trusted': [{ type: 'insecureAcceptAnything' }] },
      dir: { '': [{ type: 'insecureAcceptAnything' }] },
    },
  }),
);

describe('policy.json', () => {
  it('docker scopes, most specific first', () => {
    assert.deepEqual(policyScopes(parseImageReference('docker://reg.a.example:5000/ns/repo:v1')), ['reg.a.example:5000/ns/repo:v1', 'reg.a.example:5000/ns/repo', 'reg.a.example:5000/ns', 'reg.a.example:5000', '*.a.example', '*.example', '']);
    assert.deepEqual(policyScopes(parseImageReference('oci:/a/b/layout:tag')), ['/a/b/layout:tag', '/a/b/layout', '/a/b', '/a', '']);
    assert.deepEqual(policyScopes(parseImageReference('docker-archive:/a/x.tar')), ['']);
  });

  it('evaluates: the most specific scope wins; reject and default reject name the scope', () => {
    assert.equal(evaluatePolicy(POLICY, parseImageReference('docker://quay.io/x/y:1')).scope, 'transports.docker[""]');
    assert.throws(() => evaluatePolicy(POLICY, parseImageReference('docker://busybox')), (e) => isClientError(e, 'POLICY_REJECTED') && e.message.includes('transports.docker["docker.io/library/busybox"]'));
    assert.equal(evaluatePolicy(POLICY, parseImageReference('docker://busybox:allowed')).scope, 'transports.docker["docker.io/library/busybox:allowed"]');
    assert.throws(() => evaluatePolicy(POLICY, parseImageReference('docker://reg.internal.example/a/b:1')), (e) => isClientError(e, 'POLICY_REJECTED'));
    assert.doesNotThrow(() => evaluatePolicy(POLICY, parseImageReference('oci:/trusted/sub/layout:x')));
    assert.throws(() => evaluatePolicy(POLICY, parseImageReference('oci:/elsewhere:x')), (e) => isClientError(e, 'POLICY_REJECTED') && e.message.includes('default'));
    assert.doesNotThrow(() => evaluatePolicy(POLICY, parseImageReference('dir:/anything')));
  });

  it('signedBy is refused as not supported yet', () => {
    assert.throws(() => evaluatePolicy(POLICY, parseImageReference('docker://quay.io/signed:1')), (e) => isClientError(e, 'POLICY_REJECTED') && /requires signedBy, and signature verification is not supported yet/.test(e.message));
  });

  it('strict parsing: unknown fields, missing default, bad scopes, empty lists', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{}, /"default" is required/],
      [{ default: [{ type: 'insecureAcceptAnything' }], extra: 1 }, /unknown field "extra"/],
      [{ default: [{ type: 'insecureAcceptAnything', keyPath: 'x' }] }, /unknown field "keyPath" for insecureAcceptAnything/],
      [{ default: [{ type: 'acceptAll' }] }, /unknown requirement type "acceptAll"/],
      [{ default: [] }, /empty requirement list/],
      [{ default: [{ type: 'signedBy', keyType: 'GPGKeys' }] }, /exactly one of keyPath/],
      [{ default: [{ type: 'reject' }], transports: { oci: { relative: [{ type: 'reject' }] } } }, /absolute path/],
      [{ default: [{ type: 'reject' }], transports: { 'docker-archive': { '/x': [{ type: 'reject' }] } } }, /only the "" scope/],
    ];
    for (const [json, re] of bad) assert.throws(() => parsePolicy(JSON.stringify(json), 'p.json'), (e) => isClientError(e, 'CONFIG_INVALID') && re.test(e.message) && e.message.startsWith('p.json'), JSON.stringify(json));
  });

  describe('loadPolicy', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'berth-policy-'));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('user file, else the system file, else a clear error', async () => {
      const home = join(dir, 'home');
      const system = join(dir, 'etc');
      await mkdir(join(home, '.config', 'containers'), { recursive: true });
      await mkdir(system, { recursive: true });
      await assert.rejects(loadPolicy({ env: { HOME: home }, systemDir: system }), (e) => isClientError(e, 'CONFIG_INVALID') && /no policy\.json/.test(e.message));
      await writeFile(join(system, 'policy.json'), JSON.stringify({ default: [{ type: 'reject' }] }));
      assert.equal((await loadPolicy({ env: { HOME: home }, systemDir: system })).default[0]!.type, 'reject');
      await writeFile(join(home, '.config', 'containers', 'policy.json'), JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
      assert.equal((await loadPolicy({ env: { HOME: home }, systemDir: system })).default[0]!.type, 'insecureAcceptAnything');
    });
  });
});
