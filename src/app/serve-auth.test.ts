// `berth serve` is secure by default: the first start creates `admin` (password generated and printed once, or
// taken from BERTH_ADMIN_PASSWORD), anonymous pushes are refused, and no secret reaches the structured log.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startBerthProcess } from '../testing/processes.js';
import { errorOf, pushImage, randomImage } from '../testing/fixtures.js';

const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('berth serve with authentication (the default)', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const tempDir = async () => {
    const d = await mkdtemp(join(tmpdir(), 'berth-serve-auth-'));
    dirs.push(d);
    return d;
  };
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
    const { BERTH_ADMIN_PASSWORD: _a, BERTH_AUTH_ADMIN_PASSWORD: _b, ...rest } = process.env;
    return { ...rest, BERTH_AUTH_ENABLED: 'true', ...extra };
  };

  it('generates the admin password once, shows it on stderr only, and refuses anonymous pushes', async () => {
    const data = await tempDir();
    const first = await startBerthProcess(['--data', data], env());
    let password: string;
    try {
      const m = /generated password:\s+(\S+)/.exec(first.stderr());
      assert.ok(m, first.stderr());
      password = m[1]!;
      assert.ok(password.length >= 20);
      assert.ok(!JSON.stringify(first.lines).includes(password), 'the password must not reach the structured log');

      const img = randomImage({ layers: 1, size: 128 });
      const anon = await fetch(`${first.url}/v2/anyone/app/blobs/uploads/`, { method: 'POST' });
      assert.deepEqual(await errorOf(anon), { status: 401, code: 'UNAUTHORIZED' });
      assert.match(anon.headers.get('www-authenticate') ?? '', /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/v2\/auth",service="berth",scope="repository:anyone\/app:pull,push"$/);
      await pushImage(first.url, 'admin/app', img, 'v1', { Authorization: basic('admin', password) });
      const pulled = await fetch(`${first.url}/v2/admin/app/manifests/v1`, { headers: { Authorization: basic('admin', password) } });
      assert.equal(pulled.status, 200);
      await pulled.arrayBuffer();
    } finally {
      assert.equal(await first.stop(), 0);
    }
    const second = await startBerthProcess(['--data', data], env());
    try {
      assert.doesNotMatch(second.stderr(), /generated password/);
      const ok = await fetch(`${second.url}/v2/`, { headers: { Authorization: basic('admin', password) } });
      assert.equal(ok.status, 200);
    } finally {
      await second.stop();
    }
  });

  it('takes the admin password from BERTH_ADMIN_PASSWORD and never prints it', async () => {
    const data = await tempDir();
    const proc = await startBerthProcess(['--data', data], env({ BERTH_ADMIN_PASSWORD: 'correct horse battery staple' }));
    try {
      assert.doesNotMatch(proc.stderr(), /generated password|correct horse/);
      const ok = await fetch(`${proc.url}/v2/`, { headers: { Authorization: basic('admin', 'correct horse battery staple') } });
      assert.equal(ok.status, 200);
      const bad = await fetch(`${proc.url}/v2/`, { headers: { Authorization: basic('admin', 'wrong password') } });
      assert.equal(bad.status, 401);
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(!JSON.stringify(proc.lines).includes('wrong password'));
      assert.ok(!JSON.stringify(proc.lines).includes('correct horse'));
    } finally {
      await proc.stop();
    }
  });
});
