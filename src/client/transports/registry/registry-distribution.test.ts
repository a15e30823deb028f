// Against CNCF distribution 2.8 (the Debian docker-registry) with htpasswd Basic auth: credentials from
// auth.json, missing and wrong credentials (UNAUTHORIZED, asked once), tag listing with Link pagination,
// delete, and interop both ways with skopeo.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../../testing/nginx.js';
import { digestOfRef, makeSourceLayout, tempDir, validateRef, type SourceLayout } from '../../conformance.js';
import { isClientError } from '../../errors.js';
import { hasSkopeo, makeTools, type Tools } from '../../skopeo-sandbox.js';
import { startProxy } from './test-servers.js';
import { pullWith, pushWith, testTransport } from './test-helpers.js';

const hasRegistry = spawnSync('docker-registry', ['--version']).status === 0;
const hasPerl = spawnSync('perl', ['-e', '1']).status === 0;

/** A bcrypt htpasswd line via perl's crypt() (libxcrypt), so apache2-utils is not needed. */
function htpasswdLine(user: string, password: string): string {
  const alphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const salt = Array.from(randomBytes(22), (b) => alphabet[b % 64]).join('');
  const r = spawnSync('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', password, `$2y$05$${salt}`], { encoding: 'utf8' });
  if (!r.stdout.startsWith('$2y$')) throw new Error(`perl crypt() has no bcrypt here: ${r.stdout}${r.stderr}`);
  return `${user}:${r.stdout}`;
}

describe('registry transport against distribution 2.8 with htpasswd', { skip: !(hasRegistry && hasPerl) && 'docker-registry or perl is not installed' }, () => {
  let root: string;
  let src: SourceLayout;
  let child: ChildProcess;
  let host: string;
  let authFile: string;
  before(async () => {
    root = await tempDir('berth-distribution-');
    src = await makeSourceLayout(join(root, 'source'));
    await writeFile(join(root, 'htpasswd'), `${htpasswdLine('alice', 's3cret')}\n`);
    const port = await freePort();
    host = `127.0.0.1:${port}`;
    await writeFile(
      join(root, 'registry.yml'),
      [
        'version: 0.1',
        'log:',
        '  level: error',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${join(root, 'data')}`,
        '  delete:',
        '    enabled: true',
        'http:',
        `  addr: ${host}`,
        'auth:',
        '  htpasswd:',
        '    realm: berth-test',
        `    path: ${join(root, 'htpasswd')}`,
        '',
      ].join('\n'),
    );
    child = spawn('docker-registry', ['serve', join(root, 'registry.yml')], { stdio: 'ignore' });
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`http://${host}/v2/`)).status === 401) break;
      } catch {
        if (i > 200) throw new Error('docker-registry did not start');
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    authFile = join(root, 'auth.json');
    await writeFile(authFile, JSON.stringify({ auths: { [host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }));
  });
  after(async () => {
    child.kill();
    await rm(root, { recursive: true, force: true });
  });

  it('pushes and pulls an image and a whole index with credentials from auth.json (Basic)', async () => {
    const t = testTransport({ authFile });
    try {
      assert.equal((await pushWith(t, `oci:${src.dir}:img`, `docker://${host}/team/app:v1`, { preserveDigests: true })).digest, src.image.digest);
      assert.equal((await pushWith(t, `oci:${src.dir}:multi`, `docker://${host}/team/app:multi`, { multiArch: 'all', preserveDigests: true })).digest, src.index.digest);
      const out = `oci:${join(root, 'pulled')}:x`;
      await pullWith(t, `docker://${host}/team/app:multi`, out, { multiArch: 'all', preserveDigests: true });
      assert.equal(await digestOfRef(out), src.index.digest);
      await validateRef(out);
    } finally {
      t.close();
    }
  });

  it('no credentials: UNAUTHORIZED, saying that none are configured', async () => {
    const t = testTransport();
    try {
      await assert.rejects(pullWith(t, `docker://${host}/team/app:v1`, `oci:${join(root, 'never')}:x`), (e) => isClientError(e, 'UNAUTHORIZED') && e.message.includes(host) && /no credentials are configured/.test(e.message));
    } finally {
      t.close();
    }
  });

  it('a wrong password: UNAUTHORIZED, and the registry is asked once (no retries)', async () => {
    const proxy = await startProxy(`http://${host}`);
    const t = testTransport({ credentials: { username: 'alice', password: 'nope' }, retry: { attempts: 5 } });
    try {
      await assert.rejects(pullWith(t, `docker://${proxy.host}/team/app:v1`, `oci:${join(root, 'never')}:x`), (e) => isClientError(e, 'UNAUTHORIZED') && /refused the credentials/.test(e.message));
      assert.deepEqual(proxy.log, ['GET /v2/', 'GET /v2/team/app/manifests/v1']);
    } finally {
      t.close();
      await proxy.close();
    }
  });

  it('lists tags across Link pages, and deletes by tag', async () => {
    const t = testTransport({ authFile });
    try {
      for (const tag of ['a', 'b', 'c', 'd', 'e']) await pushWith(t, `oci:${src.dir}:docker`, `docker://${host}/team/tags:${tag}`);
      await pushWith(t, `oci:${src.dir}:img`, `docker://${host}/team/tags:keep`);
      const ref = t.parseReference(`//${host}/team/tags`);
      assert.deepEqual((await t.listTags(ref, { pageSize: 2 })).sort(), ['a', 'b', 'c', 'd', 'e', 'keep']);
      await t.deleteImage(t.parseReference(`//${host}/team/tags:keep`));
      const s = await t.newSource(t.parseReference(`//${host}/team/tags:keep`));
      await assert.rejects(s.getManifest(), (e) => isClientError(e, 'MANIFEST_UNKNOWN'));
      await assert.rejects(t.deleteImage(t.parseReference(`//${host}/team/tags:gone`)), (e) => isClientError(e, 'MANIFEST_UNKNOWN'));
    } finally {
      t.close();
    }
  });

  describe('interop with skopeo', { skip: !hasSkopeo && 'skopeo is not installed' }, () => {
    let tools: Tools;
    before(async () => {
      tools = await makeTools(join(root, 'skopeo'));
    });
    const creds = ['--src-creds', 'alice:s3cret', '--src-tls-verify=false'];

    it('skopeo reads what Berth pushed, digests intact', async () => {
      const t = testTransport({ authFile });
      try {
        await pushWith(t, `oci:${src.dir}:multi`, `docker://${host}/interop/berth:v1`, { multiArch: 'all', preserveDigests: true });
      } finally {
        t.close();
      }
      const out = join(root, 'skopeo-out');
      await tools.skopeo(['copy', '--all', '--preserve-digests', ...creds, `docker://${host}/interop/berth:v1`, `oci:${out}:x`]);
      const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
      assert.equal(index.manifests[0]!.digest, src.index.digest);
      const tags = JSON.parse(await tools.skopeo(['list-tags', '--creds', 'alice:s3cret', '--tls-verify=false', `docker://${host}/interop/berth`])) as { Tags: string[] };
      assert.deepEqual(tags.Tags, ['v1']);
    });

    it('Berth reads what skopeo pushed, digests intact', async () => {
      await tools.skopeo(['copy', '--all', '--preserve-digests', '--dest-creds', 'alice:s3cret', '--dest-tls-verify=false', `oci:${src.dir}:multi`, `docker://${host}/interop/skopeo:v1`]);
      // skopeo converts to Docker v2 schema 2 on the way (its oci: reader takes only OCI manifests).
      const digestFile = join(root, 'skopeo-digest');
      await tools.skopeo(['copy', '--format', 'v2s2', '--digestfile', digestFile, '--dest-creds', 'alice:s3cret', '--dest-tls-verify=false', `oci:${src.dir}:img`, `docker://${host}/interop/skopeo:docker`]);
      const skopeoDigest = (await readFile(digestFile, 'utf8')).trim();
      const t = testTransport({ authFile });
      try {
        const out = `oci:${join(root, 'from-skopeo')}:x`;
        await pullWith(t, `docker://${host}/interop/skopeo:v1`, out, { multiArch: 'all', preserveDigests: true });
        assert.equal(await digestOfRef(out), src.index.digest);
        const out2 = `oci:${join(root, 'from-skopeo')}:docker`;
        await pullWith(t, `docker://${host}/interop/skopeo:docker`, out2, { preserveDigests: true });
        assert.equal(await digestOfRef(out2), skopeoDigest);
        await validateRef(out2);
      } finally {
        t.close();
      }
    });
  });
});
