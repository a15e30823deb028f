// berth login / logout as a user runs them: against the Debian docker-registry with htpasswd (Basic) and the
// Bearer front with its token service, and interop with skopeo login over the same auth.json.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../testing/nginx.js';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { pushImage, randomImage } from '../testing/fixtures.js';
import { realImage, writeLayout } from '../client/fixtures.js';
import { startBearerFront, type BearerFront } from '../client/transports/registry/test-servers.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/berth.js', import.meta.url));
const hasSkopeo = spawnSync('skopeo', ['--version']).status === 0;
const hasRegistry = spawnSync('docker-registry', ['--version']).status === 0;
const hasPerl = spawnSync('perl', ['-e', '1']).status === 0;

let dir: string;
let env: NodeJS.ProcessEnv;
let authfile: string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function berth(...args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** berth with `input` on stdin. */
function berthIn(input: string, ...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

async function skopeo(...args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run('skopeo', ['--policy', join(dir, 'policy.json'), ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function auths(file = authfile): Promise<Record<string, { auth?: string }>> {
  return (JSON.parse(await readFile(file, 'utf8')) as { auths?: Record<string, { auth?: string }> }).auths ?? {};
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A bcrypt htpasswd line via perl's crypt() (libxcrypt), as registry-distribution.test.ts makes it. */
function htpasswdLine(user: string, password: string): string {
  const alphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const salt = Array.from(randomBytes(22), (b) => alphabet[b % 64]).join('');
  const r = spawnSync('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', password, `$2y$05$${salt}`], { encoding: 'utf8' });
  if (!r.stdout.startsWith('$2y$')) throw new Error(`perl crypt() has no bcrypt here: ${r.stdout}${r.stderr}`);
  return `${user}:${r.stdout}`;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-login-'));
  authfile = join(dir, 'auth.json');
  await writeFile(authfile, '{}');
  await writeFile(join(dir, 'policy.json'), '{"default":[{"type":"insecureAcceptAnything"}]}');
  await writeFile(join(dir, 'registries.conf'), 'unqualified-search-registries = []\n');
  env = { ...process.env, HOME: dir, REGISTRY_AUTH_FILE: authfile, CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'), XDG_RUNTIME_DIR: dir };
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('berth login / logout against docker-registry with htpasswd (Basic)', { skip: !(hasRegistry && hasPerl) && 'docker-registry or perl is not installed' }, () => {
  let child: ChildProcess;
  let host: string;
  before(async () => {
    const root = join(dir, 'distribution');
    await writeFile(join(dir, 'htpasswd'), `${htpasswdLine('alice', 's3cret')}\n`);
    host = `127.0.0.1:${await freePort()}`;
    await writeFile(
      join(dir, 'registry.yml'),
      ['version: 0.1', 'log:', '  level: error', 'storage:', '  filesystem:', `    rootdirectory: ${root}`, 'http:', `  addr: ${host}`, 'auth:', '  htpasswd:', '    realm: berth-test', `    path: ${join(dir, 'htpasswd')}`, ''].join('\n'),
    );
    child = spawn('docker-registry', ['serve', join(dir, 'registry.yml')], { stdio: 'ignore' });
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`http://${host}/v2/`)).status === 401) break;
      } catch {
        if (i > 200) throw new Error('docker-registry did not start');
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  });
  after(() => {
    child.kill();
  });

  it('a wrong password: "invalid username or password", exit 1, auth.json untouched', async () => {
    await writeFile(authfile, '{"auths":{"other.example":{"auth":"eDp5"}}}\n');
    const before = await readFile(authfile, 'utf8');
    const res = await berth('login', '--tls-verify=false', '-u', 'alice', '-p', 'wrong', host);
    assert.equal(res.code, 1);
    assert.match(res.stderr, new RegExp(`^berth: logging in to ${host}: invalid username or password`, 'm'));
    assert.equal(res.stdout, '');
    assert.equal(await readFile(authfile, 'utf8'), before);
  });

  it('logs in (stdin password too), writes auths[HOST].auth, and the stored credentials work for other commands', async () => {
    const res = await berth('login', '--tls-verify=false', '-u', 'alice', '-p', 's3cret', host);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'Login Succeeded!\n');
    const a = await auths();
    assert.equal(a[host]?.auth, b64('alice:s3cret'));
    assert.ok(a['other.example'], 'other entries are kept');
    assert.equal((await berth('login', '--get-login', host)).stdout, 'alice\n');

    const piped = join(dir, 'piped.json');
    const viaStdin = await berthIn('s3cret\n', 'login', '-v', '--authfile', piped, '--tls-verify=false', '-u', 'alice', '--password-stdin', host);
    assert.equal(viaStdin.code, 0, viaStdin.stderr);
    assert.equal(viaStdin.stdout, `Used:  ${piped}\nLogin Succeeded!\n`, 'as skopeo login -v prints it');
    assert.equal((await auths(piped))[host]?.auth, b64('alice:s3cret'), 'the trailing newline is not part of the password');

    // No user given: the stored credentials are checked and reused, as podman does.
    const again = await berth('login', '--tls-verify=false', host);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Existing credentials are valid/);

    const tags = await berth('list-tags', '--tls-verify=false', `docker://${host}/nothing/here`);
    assert.equal(tags.code, 2, tags.stderr);
    assert.match(tags.stderr, /NAME_UNKNOWN/, 'past authentication: the registry says the repository is not there');
  });

  it('refuses a missing password without a terminal, and --password-stdin without a user', async () => {
    const noPass = await berthIn('', 'login', '--tls-verify=false', '-u', 'alice', host);
    assert.equal(noPass.code, 1);
    assert.match(noPass.stderr, /^berth: .*password is needed/m);
    const noUser = await berthIn('x', 'login', '--tls-verify=false', '--password-stdin', host);
    assert.equal(noUser.code, 1);
    assert.match(noUser.stderr, /^berth: --password-stdin needs --username/m);
  });

  it('logout removes one entry, then says it is not logged in; --all removes every entry', async () => {
    await berth('login', '--tls-verify=false', '-u', 'alice', '-p', 's3cret', host);
    const out = await berth('logout', host);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, `Removed login credentials for ${host}\n`);
    assert.equal((await auths())[host], undefined);
    const missing = await berth('logout', host);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, new RegExp(`^berth: not logged into ${host}`, 'm'));
    const get = await berth('login', '--get-login', host);
    assert.equal(get.code, 1);
    assert.match(get.stderr, /^berth: not logged into/m);
    await berth('login', '--tls-verify=false', '-u', 'alice', '-p', 's3cret', host);
    const all = await berth('logout', '--all');
    assert.equal(all.stdout, 'Removed login credentials for all registries\n');
    assert.deepEqual(await auths(), {});
  });

  it('interop: skopeo reads what berth login wrote, berth reads what skopeo login wrote', { skip: !hasSkopeo && 'skopeo is not installed' }, async () => {
    const ours = join(dir, 'berth-auth.json');
    assert.equal((await berth('login', '--authfile', ours, '--tls-verify=false', '-u', 'alice', '-p', 's3cret', host)).code, 0);
    assert.equal((await skopeo('login', '--authfile', ours, '--get-login', host)).stdout.trim(), 'alice');
    const tags = await skopeo('list-tags', '--authfile', ours, '--tls-verify=false', `docker://${host}/nothing/here`);
    assert.notEqual(tags.code, 0);
    assert.match(tags.stderr, /404 \(Not Found\)|name unknown/i, 'past authentication: the repository is not there');
    assert.equal((await skopeo('logout', '--authfile', ours, host)).code, 0);
    assert.equal((await auths(ours))[host], undefined, 'skopeo logout edits the file berth wrote');

    const theirs = join(dir, 'skopeo-auth.json');
    const sk = await skopeo('login', '--authfile', theirs, '--tls-verify=false', '-u', 'alice', '-p', 's3cret', host);
    assert.equal(sk.code, 0, sk.stderr);
    assert.equal((await berth('login', '--authfile', theirs, '--get-login', host)).stdout, 'alice\n');
    assert.equal((await berth('logout', '--authfile', theirs, host)).stdout, `Removed login credentials for ${host}\n`);
    const gone = await skopeo('login', '--authfile', theirs, '--get-login', host);
    assert.notEqual(gone.code, 0, 'skopeo sees the entry berth removed as gone');
  });

  it('copy --authfile serves both sides; --src-authfile or --dest-authfile overrides it for its side', async () => {
    const both = join(dir, 'both.json');
    const empty = join(dir, 'empty.json');
    await writeFile(both, JSON.stringify({ auths: { [host]: { auth: b64('alice:s3cret') } } }));
    await writeFile(empty, '{"auths":{}}');
    const layout = join(dir, 'authfile-src');
    const img = realImage({ layers: 1 });
    await writeLayout(layout, { v1: img });
    // The default auth file has no credentials here: only the flags can get berth past the registry's 401.
    const cp = async (...args: string[]): Promise<Result> => {
      try {
        const { stdout, stderr } = await run(process.execPath, [BIN, '--policy', join(dir, 'policy.json'), 'copy', '--src-tls-verify=false', '--dest-tls-verify=false', ...args], { env: { ...env, REGISTRY_AUTH_FILE: empty } });
        return { code: 0, stdout, stderr };
      } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    };
    const denied = await cp(`oci:${layout}:v1`, `docker://${host}/authfile/app:v1`);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /401 .*no credentials are configured for this registry/);

    assert.equal((await cp('--authfile', both, `oci:${layout}:v1`, `docker://${host}/authfile/app:v1`)).code, 0, 'destination side');
    const r2r = await cp('--authfile', both, `docker://${host}/authfile/app:v1`, `docker://${host}/authfile/copy:v1`);
    assert.equal(r2r.code, 0, r2r.stderr);
    const srcOverride = await cp('--authfile', both, '--src-authfile', empty, `docker://${host}/authfile/app:v1`, `oci:${join(dir, 'authfile-out')}:v1`);
    assert.equal(srcOverride.code, 1, 'the source reads only --src-authfile');
    assert.match(srcOverride.stderr, /no credentials are configured/);
    const destOverride = await cp('--authfile', empty, '--dest-authfile', both, `docker://${host}/authfile/app:v1`, `docker://${host}/authfile/copy2:v1`);
    assert.equal(destOverride.code, 1, 'the source reads --authfile, which has nothing for it');
    assert.match(destOverride.stderr, /no credentials are configured/);
  });
});

describe('berth login against a Bearer token service', () => {
  let reg: TestRegistry;
  let front: BearerFront;
  before(async () => {
    reg = await startTestRegistry();
    await pushImage(reg.url, 'team/app', randomImage(), 'v1');
    front = await startBearerFront(reg.url, { users: { alice: 's3cret' } });
  });
  after(async () => {
    await front.close();
    await reg.close();
  });

  it('asks the token service for a token with no scope, with the credentials; a refusal is "invalid username or password"', async () => {
    const file = join(dir, 'bearer.json');
    const bad = await berth('login', '--authfile', file, '--tls-verify=false', '-u', 'alice', '-p', 'nope', front.host);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^berth: logging in to .*: invalid username or password/m);
    front.tokenRequests.length = 0;
    const ok = await berth('login', '--authfile', file, '--tls-verify=false', '-u', 'alice', '-p', 's3cret', front.host);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'Login Succeeded!\n');
    assert.deepEqual(front.tokenRequests.map((r) => [r.method, r.user, r.scopes]), [['GET', 'alice', []]]);
    assert.equal((await auths(file))[front.host]?.auth, b64('alice:s3cret'));
    const inspect = await berth('inspect', '--authfile', file, '--tls-verify=false', '-n', `docker://${front.host}/team/app:v1`);
    assert.equal(inspect.code, 0, inspect.stderr);
  });

  it('refuses a docker:// reference and a tagged key', async () => {
    const r = await berth('login', '-u', 'a', '-p', 'b', `docker://${front.host}`);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^berth: .*not a docker:\/\/ reference/m);
  });
});

describe('berth login with a token service that hands out refresh tokens (offline_token=true)', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry();
    await pushImage(reg.url, 'team/app', randomImage(), 'v1');
  });
  after(() => reg.close());

  it('stores the refresh token as identitytoken (not the password), and later commands get tokens with it by POST', async () => {
    const front = await startBearerFront(reg.url, { users: { alice: 's3cret' }, offlineTokens: true, oauthPost: true });
    try {
      const file = join(dir, 'identity.json');
      const ok = await berth('login', '--authfile', file, '--tls-verify=false', '-u', 'alice', '-p', 's3cret', front.host);
      assert.equal(ok.code, 0, ok.stderr);
      const entry = (await auths(file))[front.host] as { auth?: string; identitytoken?: string };
      assert.match(entry.identitytoken ?? '', /^refresh-/);
      assert.equal(entry.auth, b64('alice:'), 'the password is not kept');
      assert.deepEqual(front.tokenRequests[0], { method: 'GET', grant: 'get', user: 'alice', scopes: [], service: 'berth-test', offline: true });
      front.tokenRequests.length = 0;
      const inspect = await berth('inspect', '--authfile', file, '--tls-verify=false', `docker://${front.host}/team/app:v1`);
      assert.equal(inspect.code, 0, inspect.stderr);
      assert.ok(front.tokenRequests.length > 0 && front.tokenRequests.every((r) => r.method === 'POST' && r.grant === 'refresh_token' && r.user === 'alice'), JSON.stringify(front.tokenRequests));
      if (hasSkopeo) {
        // skopeo reads the same entry and uses the token too.
        const sk = await skopeo('inspect', '--authfile', file, '--tls-verify=false', `docker://${front.host}/team/app:v1`);
        assert.equal(sk.code, 0, sk.stderr);
      }
    } finally {
      await front.close();
    }
  });

  it('a service that hands out refresh tokens but takes no POST: the password is stored, as without one', async () => {
    const front = await startBearerFront(reg.url, { users: { alice: 's3cret' }, offlineTokens: true, oauthPost: false });
    try {
      const file = join(dir, 'no-post.json');
      const ok = await berth('login', '--authfile', file, '--tls-verify=false', '-u', 'alice', '-p', 's3cret', front.host);
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual((await auths(file))[front.host], { auth: b64('alice:s3cret') });
      const inspect = await berth('inspect', '--authfile', file, '--tls-verify=false', `docker://${front.host}/team/app:v1`);
      assert.equal(inspect.code, 0, inspect.stderr);
    } finally {
      await front.close();
    }
  });
});
