// berth user|org|team|robot|repo|token|logs as an operator runs them: the real binary against a real registry
// with auth on, with the credentials `berth login` stored, a table or JSON out, and a clear error with a
// non-zero exit when something is refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestRegistry, type TestRegistry } from '../../testing/registry.js';
import { pushImage, randomImage } from '../../testing/fixtures.js';

const BIN = fileURLToPath(new URL('../../../bin/berth.js', import.meta.url));
let reg: TestRegistry;
let dir: string;
let host: string;
let env: NodeJS.ProcessEnv;
const ALICE = 'alice:alice-password-1';

async function berth(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: opts.env ?? env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(opts.input ?? '');
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  return { code, stdout, stderr };
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await berth(args, { input });
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function json<T>(args: string[], input?: string): Promise<T> {
  return JSON.parse(await ok([...args, '--format', 'json'], input)) as T;
}

before(async () => {
  reg = await startTestRegistry({ auth: true });
  host = new URL(reg.url).host;
  dir = await mkdtemp(join(tmpdir(), 'berth-api-cli-'));
  // The registry speaks plain HTTP: registries.conf marks it insecure, so no command needs --tls-verify=false.
  await writeFile(join(dir, 'registries.conf'), `unqualified-search-registries = []\n[[registry]]\nlocation = "${host}"\ninsecure = true\n`);
  env = {
    ...process.env,
    HOME: dir,
    XDG_RUNTIME_DIR: dir,
    REGISTRY_AUTH_FILE: join(dir, 'auth.json'),
    CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'),
    BERTH_REGISTRY: host,
  };
  await ok(['login', '-u', 'admin', '--password-stdin', host], reg.adminPassword!);
});
after(async () => {
  await reg.close();
  await rm(dir, { recursive: true, force: true });
});

describe('berth management commands', () => {
  it('user: whoami, create from stdin, list as a table', async () => {
    const me = await json<{ kind: string; name: string; superuser: boolean }>(['user', 'whoami']);
    assert.deepEqual([me.kind, me.name, me.superuser], ['user', 'admin', true]);
    assert.match(await ok(['user', 'create', 'alice', '--password-stdin', '--email', 'alice@example.com'], 'alice-password-1\n'), /created user: alice/);
    await ok(['user', 'create', 'bob', '--password', 'bob-password-1']);
    const table = (await ok(['user', 'list'])).split('\n');
    assert.match(table[0]!, /^NAME\s+SUPERUSER\s+EMAIL\s+CREATED$/);
    assert.match(table.find((l) => l.startsWith('alice'))!, /^alice\s+no\s+alice@example\.com\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}Z$/);
  });

  it('org, team and robot: set up an organisation with a CI robot', async () => {
    const c = ['--creds', ALICE];
    await ok(['org', 'create', 'acme', ...c]);
    await ok(['team', 'set', 'acme', 'devs', '--role', 'creator', '--description', 'developers', ...c]);
    assert.match(await ok(['team', 'add', 'acme', 'devs', 'bob', ...c]), /Added bob to acme\/devs/);
    const teams = await ok(['team', 'list', 'acme', ...c]);
    assert.match(teams, /^owners\s+admin/m);
    assert.match(teams, /^devs\s+creator\s+developers/m);
    assert.deepEqual(await json(['team', 'members', 'acme', 'devs', ...c]), { members: ['bob'] });

    const robot = await json<{ name: string; token: string; expiresAt: string }>(['robot', 'create', 'acme+ci', '--expires', '30d', ...c]);
    assert.equal(robot.name, 'acme+ci');
    assert.ok(Date.parse(robot.expiresAt) > Date.now() + 29 * 86_400_000);
    const login = await fetch(`${reg.url}/v2/`, { headers: { authorization: `Basic ${Buffer.from(`acme+ci:${robot.token}`).toString('base64')}` } });
    assert.equal(login.status, 200, 'the printed token logs in');
    const table = await berth(['robot', 'regenerate', 'acme+ci', ...c]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^Token: \S{20,}$/m);
    assert.match(table.stderr, /not shown again/);
    assert.doesNotMatch(await ok(['robot', 'list', 'acme', ...c]), /Token/);
  });

  it('repo: create, grant, visibility, tags, permissions', async () => {
    const c = ['--creds', ALICE];
    await ok(['repo', 'create', 'acme/app', '--visibility', 'public', '--description', 'the app', ...c]);
    assert.match(await ok(['repo', 'grant', 'acme/app', 'robot', 'acme+ci', 'write', ...c]), /Gave robot acme\+ci write on acme\/app/);
    await ok(['repo', 'grant', 'acme/app', 'team', 'devs', 'read', ...c]);
    const perms = await json<{ permissions: { kind: string; name: string; role: string }[] }>(['repo', 'permissions', 'acme/app', ...c]);
    assert.deepEqual(perms.permissions.sort((a, b) => (a.kind < b.kind ? -1 : 1)), [
      { kind: 'robot', name: 'acme+ci', role: 'write' },
      { kind: 'team', name: 'devs', role: 'read' },
    ]);
    await ok(['repo', 'revoke', 'acme/app', 'team', 'devs', ...c]);
    const changed = await json<{ visibility: string; description: string }>(['repo', 'set', 'acme/app', '--visibility', 'private', ...c]);
    assert.deepEqual(changed.visibility, 'private');
    assert.equal((await fetch(`${reg.url}/v2/acme/app/tags/list`)).status, 401);

    const img = randomImage({ platform: { os: 'linux', architecture: 'arm64' } });
    await pushImage(reg.url, 'acme/app', img, 'v1', { authorization: `Basic ${Buffer.from(ALICE).toString('base64')}` });
    const tags = (await ok(['repo', 'tags', 'acme/app', '--sort', 'pushed', ...c])).split('\n');
    assert.match(tags[0]!, /^TAG\s+DIGEST\s+SIZE\s+PLATFORMS\s+PUSHED$/);
    assert.match(tags[1]!, new RegExp(`^v1\\s+${img.digest}\\s+\\d+(\\.\\d)? KiB\\s+linux/arm64\\s+\\d{4}-`));
    const list = await ok(['repo', 'list', ...c]);
    assert.match(list, /^acme\/app\s+private\s+pull,push,delete\s+the app$/m);
    assert.match(await ok(['repo', 'show', 'acme/app', ...c]), /^visibility:\s+private$/m);
  });

  it('token: an app token created by the CLI works as --registry-token', async () => {
    const t = await json<{ id: string; token: string }>(['token', 'create', 'ci', '--creds', ALICE]);
    assert.match(t.token, /^berth_app_/);
    const me = await json<{ name: string }>(['user', 'whoami', '--registry-token', t.token]);
    assert.equal(me.name, 'alice');
    assert.match(await ok(['token', 'list', '--creds', ALICE]), new RegExp(`^${t.id}\\s+ci\\s+app`, 'm'));
    await ok(['token', 'revoke', t.id, '--creds', ALICE]);
    const refused = await berth(['user', 'whoami', '--registry-token', t.token]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /401/);
  });

  it('user passwd: your own, with the current password, and anyone’s as a superuser', async () => {
    const authfile = join(dir, 'carol.json');
    await ok(['user', 'create', 'carol', '--password', 'carol-password-1']);
    await ok(['login', '-u', 'carol', '-p', 'carol-password-1', '--authfile', authfile, host]);
    // What login stored may be a token rather than the password: then the current one must be given.
    const stored = await berth(['user', 'passwd', '--password-stdin', '--authfile', authfile], { input: 'carol-password-2\n' });
    if (stored.code !== 0) assert.match(stored.stderr, /--current-password/);
    else assert.match(stored.stdout, /Changed your password/);
    const current = stored.code === 0 ? 'carol-password-2' : 'carol-password-1';
    assert.match(await ok(['user', 'passwd', '--password-stdin', '--current-password', current, '--authfile', authfile], 'carol-password-3\n'), /Changed your password/);
    assert.match(await ok(['user', 'passwd', '--password-stdin', '--creds', 'carol:carol-password-3'], 'carol-password-4\n'), /Changed your password/);
    const wrong = await berth(['user', 'passwd', '--password', 'carol-password-5', '--current-password', 'carol-password-1', '--creds', 'carol:carol-password-4']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /403 FORBIDDEN: the current password is wrong/);
    assert.match(await ok(['user', 'passwd', 'carol', '--password', 'carol-password-6']), /Changed the password of carol/);
    const relogin = await berth(['login', '-u', 'carol', '-p', 'carol-password-6', '--authfile', authfile, host]);
    assert.equal(relogin.code, 0, relogin.stderr);
  });

  it('logs: the organisation’s audit log, filtered', async () => {
    const r = await json<{ events: { action: string; actor: string; detail?: Record<string, unknown> }[] }>(['logs', '--namespace', 'acme', '--action', 'permission_set', '--since', '1h', '--creds', ALICE]);
    assert.deepEqual(
      r.events.map((e) => [e.action, e.actor, e.detail?.subject]).sort(),
      [
        ['permission_set', 'alice', 'acme+ci'],
        ['permission_set', 'alice', 'acme/devs'],
      ],
    );
    const table = await ok(['logs', '--repository', 'acme/app', '-n', '3', '--creds', ALICE]);
    assert.match(table.split('\n')[0]!, /^ID\s+TIME\s+ACTION\s+ACTOR\s+REPOSITORY\s+IP\s+DETAIL$/);
    assert.equal(table.trim().split('\n').length, 4);
    const bad = await berth(['logs', '--since', 'yesterday', '--creds', ALICE]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--since "yesterday": give a time/);
  });

  it('fails clearly, with a non-zero exit', async () => {
    const missing = await berth(['repo', 'show', 'acme/nope', '--creds', ALICE]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^berth: .*404 NOT_FOUND: repository acme\/nope not found\n$/);
    const forbidden = await berth(['user', 'list', '--creds', ALICE]);
    assert.equal(forbidden.code, 1);
    assert.match(forbidden.stderr, /403 FORBIDDEN: only superusers may do this/);
    const noRegistry = await berth(['org', 'list'], { env: { ...env, BERTH_REGISTRY: '' } });
    assert.equal(noRegistry.code, 1);
    assert.match(noRegistry.stderr, /--registry HOST/);
    const badRobot = await berth(['robot', 'create', 'ci-without-namespace', '--creds', ALICE]);
    assert.equal(badRobot.code, 1);
    assert.match(badRobot.stderr, /NAMESPACE\+NAME/);
    const badRole = await berth(['team', 'set', 'acme', 'x', '--role', 'owner', '--creds', ALICE]);
    assert.notEqual(badRole.code, 0);
    assert.match(badRole.stderr, /Allowed choices are admin, creator, member/);
    const wrong = await berth(['user', 'whoami', '--creds', 'alice:not-her-password']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^berth: /);
  });

  it('every command has --help with examples', async () => {
    for (const group of ['user', 'org', 'team', 'robot', 'repo', 'token']) {
      const help = await ok([group, '--help']);
      assert.match(help, /Examples:\n {2}\$ berth /, group);
    }
    for (const leaf of [['logs'], ['repo', 'grant'], ['robot', 'create'], ['token', 'create'], ['team', 'set'], ['user', 'passwd']]) {
      const help = await ok([...leaf, '--help']);
      assert.match(help, /--registry <host>/, leaf.join(' '));
      assert.match(help, /--format <format>/, leaf.join(' '));
      assert.match(help, /Examples:\n {2}\$ .*berth /, leaf.join(' '));
    }
  });
});
