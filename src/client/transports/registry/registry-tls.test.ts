// HTTPS: an unknown CA fails with NETWORK_ERROR naming the host (and is not retried); a certs.d directory
// (--cert-dir) with ca.crt makes it trusted; a client certificate pair (client.cert/client.key) is presented
// when the registry demands one; tlsVerify false and registries.conf `insecure` skip verification; the system's
// CA bundle ($SSL_CERT_FILE, $SSL_CERT_DIR, else the distribution's bundle) is the trust store, as for skopeo.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../../conformance.js';
import { parseRegistriesConf } from '../../config/registries-conf.js';
import { isClientError } from '../../errors.js';
import { realImage, writeLayout, type FixtureImage } from '../../fixtures.js';
import { startTestRegistry, type TestRegistry } from '../../../testing/registry.js';
import { startProxy, type RunningProxy } from './test-servers.js';
import { pushWith, testTransport } from './test-helpers.js';
import { systemRoots } from './http.js';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

describe('registry transport over HTTPS', { skip: !hasOpenssl && 'openssl is not installed' }, () => {
  let registry: TestRegistry;
  let root: string;
  let img: FixtureImage;
  let server: RunningProxy;
  let mtls: RunningProxy;
  let certDir: string;
  before(async () => {
    registry = await startTestRegistry();
    root = await tempDir('berth-tls-');
    img = realImage({ layers: 1 });
    await writeLayout(join(root, 'src'), { img });
    const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: root, stdio: 'pipe' });
    ossl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=berth test CA');
    await writeFile(join(root, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    ossl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    ossl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext');
    ossl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=berth client');
    ossl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.cert', '-days', '2');
    const read = (f: string) => readFile(join(root, f), 'utf8');
    const tls = { key: await read('server.key'), cert: await read('server.crt'), ca: await read('ca.crt') };
    server = await startProxy(registry.url, undefined, tls);
    mtls = await startProxy(registry.url, undefined, { ...tls, requireClientCert: true });
    certDir = join(root, 'certs.d');
    await mkdir(certDir);
    await copyFile(join(root, 'ca.crt'), join(certDir, 'ca.crt'));
  });
  after(async () => {
    await server.close();
    await mtls.close();
    await registry.close();
    await rm(root, { recursive: true, force: true });
  });

  it('an unknown CA: NETWORK_ERROR naming the host, no HTTP fallback, no retries', async () => {
    const t = testTransport({ tlsVerify: true });
    try {
      await assert.rejects(pushWith(t, `oci:${join(root, 'src')}:img`, `docker://${server.host}/tls/app:v1`), (e) => {
        assert.ok(isClientError(e, 'NETWORK_ERROR'), String(e));
        assert.ok(e.message.includes(`cannot reach registry ${server.host} (https://`), e.message);
        assert.doesNotMatch(e.message, /after \d+ attempts/);
        return true;
      });
      assert.deepEqual(server.log, []);
    } finally {
      t.close();
    }
  });

  it('--cert-dir with ca.crt: verified HTTPS', async () => {
    const t = testTransport({ tlsVerify: true, certDir });
    try {
      assert.equal((await pushWith(t, `oci:${join(root, 'src')}:img`, `docker://${server.host}/tls/app:v1`, { preserveDigests: true })).digest, img.digest);
    } finally {
      t.close();
    }
  });

  it('a CA in the system bundle ($SSL_CERT_FILE) or an $SSL_CERT_DIR is trusted, as skopeo trusts it', async () => {
    const bundle = join(root, 'system-bundle.pem');
    await writeFile(bundle, `${await readFile(join(root, 'ca.crt'), 'utf8')}`);
    const dir = join(root, 'system-dir');
    await mkdir(dir);
    await copyFile(join(root, 'ca.crt'), join(dir, 'local-ca.pem'));
    for (const env of [{ SSL_CERT_FILE: bundle }, { SSL_CERT_FILE: join(root, 'missing.pem'), SSL_CERT_DIR: `${join(root, 'missing')}:${dir}` }]) {
      const t = testTransport({ tlsVerify: true, env });
      try {
        const s = await t.newSource(t.parseReference(`//${server.host}/tls/app:v1`));
        assert.equal((await s.getManifest()).digest, img.digest, JSON.stringify(env));
      } finally {
        t.close();
      }
    }
  });

  it('the system bundle replaces the roots bundled with Node.js, as in Go: a bundle without the CA is not trusted', async () => {
    const other = join(root, 'other-bundle.pem');
    await writeFile(other, await readFile(join(root, 'client.cert'), 'utf8'));
    assert.equal(systemRoots({ SSL_CERT_FILE: other }), await readFile(other, 'utf8'));
    assert.equal(systemRoots({ SSL_CERT_FILE: join(root, 'missing.pem') }), undefined, 'nothing found: Node.js roots');
    const t = testTransport({ tlsVerify: true, env: { SSL_CERT_FILE: other } });
    try {
      await assert.rejects(t.newSource(t.parseReference(`//${server.host}/tls/app:v1`)).then((s) => s.getManifest()), (e) => isClientError(e, 'NETWORK_ERROR'));
    } finally {
      t.close();
    }
  });

  it('certs.d under $HOME/.config/containers is found by host', async () => {
    const home = join(root, 'home');
    const dir = join(home, '.config', 'containers', 'certs.d', server.host);
    await mkdir(dir, { recursive: true });
    await copyFile(join(root, 'ca.crt'), join(dir, 'ca.crt'));
    const t = testTransport({ tlsVerify: true, env: { HOME: home } });
    try {
      const s = await t.newSource(t.parseReference(`//${server.host}/tls/app:v1`));
      assert.equal((await s.getManifest()).digest, img.digest);
    } finally {
      t.close();
    }
  });

  it('a client certificate pair is presented when the registry demands one', async () => {
    const without = testTransport({ tlsVerify: true, certDir });
    try {
      await assert.rejects(without.newSource(without.parseReference(`//${mtls.host}/tls/app:v1`)).then((s) => s.getManifest()), (e) => isClientError(e, 'NETWORK_ERROR'));
    } finally {
      without.close();
    }
    await copyFile(join(root, 'client.cert'), join(certDir, 'client.cert'));
    await copyFile(join(root, 'client.key'), join(certDir, 'client.key'));
    const withCert = testTransport({ tlsVerify: true, certDir });
    try {
      const s = await withCert.newSource(withCert.parseReference(`//${mtls.host}/tls/app:v1`));
      assert.equal((await s.getManifest()).digest, img.digest);
    } finally {
      withCert.close();
    }
  });

  it('tlsVerify false, or insecure in registries.conf, skips verification', async () => {
    for (const t of [testTransport({ tlsVerify: false }), testTransport({ tlsVerify: undefined, registriesConf: parseRegistriesConf(`[[registry]]\nlocation = "${server.host}"\ninsecure = true\n`) })]) {
      try {
        const s = await t.newSource(t.parseReference(`//${server.host}/tls/app:v1`));
        assert.equal((await s.getManifest()).digest, img.digest);
      } finally {
        t.close();
      }
    }
  });
});
