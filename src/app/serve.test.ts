// `berth serve` as a real process: starts on the README's defaults, refuses a second server on the same
// data directory, finishes requests in flight on SIGTERM, and leaves nothing half-written.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { get as httpsGet } from 'node:https';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBlob, pushImage, randomImage } from '../testing/fixtures.js';
import { startBerthProcess } from '../testing/processes.js';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const BIN = fileURLToPath(new URL('../../bin/berth.js', import.meta.url));
let dir: string;
before(async () => (dir = await mkdtemp(join(tmpdir(), 'berth-serve-'))));
after(() => rm(dir, { recursive: true, force: true }));

const startBerth = (args: string[]) => startBerthProcess(args);

describe('berth serve', () => {
  it('serves, refuses a second server on the same data, and stops gracefully on SIGTERM', async () => {
    const data = join(dir, 'data');
    const berth = await startBerth(['--data', data]);
    assert.equal(await readFile(join(data, 'berth.pid'), 'utf8'), `${berth.child.pid}\n`);
    const img = randomImage();
    await pushImage(berth.url, 'proc/app', img, 'v1');

    const second = spawn(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    second.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => second.once('exit', r));
    assert.notEqual(code, 0);
    assert.match(err, new RegExp(`another berth process \\(pid ${berth.child.pid}\\) is serving`));

    // A slow upload in flight when SIGTERM arrives still completes.
    const blob = randomBlob(256 * 1024);
    // pull() runs only once fetch is sending, so the signal arrives with the request half-way through.
    let offset = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (offset >= blob.bytes.length) return controller.close();
        controller.enqueue(new Uint8Array(blob.bytes.subarray(offset, offset + 32 * 1024)));
        offset += 32 * 1024;
        if (offset === 3 * 32 * 1024) berth.child.kill('SIGTERM');
        await new Promise((r) => setTimeout(r, 20));
      },
    });
    const res = await fetch(`${berth.url}/v2/proc/app/blobs/uploads/?digest=${blob.digest}`, { method: 'POST', body, duplex: 'half' } as RequestInit);
    assert.equal(res.status, 201);
    assert.equal(await berth.exited, 0);
    assert.ok(berth.lines.some((l) => l.msg === 'stopped'));
    await assert.rejects(stat(join(data, 'berth.pid')), { code: 'ENOENT' });

    // Everything committed is there after a restart.
    const again = await startBerth(['--data', data]);
    const m = await fetch(`${again.url}/v2/proc/app/manifests/v1`);
    assert.equal(m.status, 200);
    await m.body?.cancel();
    const b = await fetch(`${again.url}/v2/proc/app/blobs/${blob.digest}`);
    assert.deepEqual(Buffer.from(await b.arrayBuffer()), blob.bytes);
    again.child.kill('SIGTERM');
    assert.equal(await again.exited, 0);
  });

  it('loses nothing committed when killed (SIGKILL) in the middle of an upload', async () => {
    const data = join(dir, 'crash');
    const berth = await startBerth(['--data', data]);
    const img = randomImage({ layers: 2, size: 50_000 });
    await pushImage(berth.url, 'crash/app', img, 'v1');
    const blob = randomBlob(1024 * 1024);
    const post = await fetch(`${berth.url}/v2/crash/app/blobs/uploads/`, { method: 'POST' });
    const location = `${berth.url}${post.headers.get('location')}`;
    await fetch(location, { method: 'PATCH', body: new Uint8Array(blob.bytes.subarray(0, 300_000)), headers: { 'Content-Range': '0-299999' } });
    let offset = 300_000;
    // Once the server is killed the body errors, so nothing keeps feeding a request that is gone.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (berth.child.signalCode) return controller.error(new Error('the server was killed'));
        controller.enqueue(new Uint8Array(blob.bytes.subarray(offset, offset + 100_000)));
        offset += 100_000;
        if (offset >= 600_000) berth.child.kill('SIGKILL');
        await new Promise((r) => setTimeout(r, 20));
      },
    });
    await fetch(location, { method: 'PATCH', body, duplex: 'half', headers: { 'Content-Range': '300000-1048575' } } as RequestInit).catch(() => undefined);
    await berth.exited;

    const again = await startBerth(['--data', data]);
    const m = await fetch(`${again.url}/v2/crash/app/manifests/v1`);
    assert.deepEqual(Buffer.from(await m.arrayBuffer()), img.manifest);
    for (const l of img.layers) {
      const b = await fetch(`${again.url}/v2/crash/app/blobs/${l.digest}`);
      assert.deepEqual(Buffer.from(await b.arrayBuffer()), l.bytes);
    }
    assert.equal((await fetch(`${again.url}/v2/crash/app/blobs/${blob.digest}`, { method: 'HEAD' })).status, 404, 'the unfinished blob is not visible');
    // The session resumes from what was committed before the crash, or fails cleanly (never a corrupt blob).
    const resumeAt = Number((await fetch(location.replace(berth.url, again.url))).headers.get('range')?.split('-')[1]) + 1;
    assert.equal(resumeAt, 300_000);
    const rest = await fetch(location.replace(berth.url, again.url), { method: 'PATCH', body: new Uint8Array(blob.bytes.subarray(resumeAt)), headers: { 'Content-Range': `${resumeAt}-${blob.bytes.length - 1}` } });
    if (rest.status === 202) {
      const put = await fetch(`${location.replace(berth.url, again.url)}?digest=${blob.digest}`, { method: 'PUT' });
      assert.equal(put.status, 201);
      const b = await fetch(`${again.url}/v2/crash/app/blobs/${blob.digest}`);
      assert.deepEqual(Buffer.from(await b.arrayBuffer()), blob.bytes);
    } else {
      assert.equal(rest.status, 400);
      assert.equal((await rest.json() as { errors: Array<{ code: string }> }).errors[0]!.code, 'BLOB_UPLOAD_INVALID');
      assert.equal((await fetch(`${again.url}/v2/crash/app/blobs/${blob.digest}`, { method: 'HEAD' })).status, 404);
    }
    again.child.kill('SIGTERM');
    assert.equal(await again.exited, 0);
  });

  it('serves TLS when a certificate and key are configured', { skip: !hasOpenssl && 'openssl is not installed' }, async () => {
    const tlsDir = join(dir, 'tls');
    await mkdir(tlsDir);
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(tlsDir, 'key.pem'), '-out', join(tlsDir, 'cert.pem')]);
    assert.equal(r.status, 0, r.stderr.toString());
    const config = join(tlsDir, 'config.yaml');
    await writeFile(config, `tls:\n  cert: ${join(tlsDir, 'cert.pem')}\n  key: ${join(tlsDir, 'key.pem')}\n`);
    const berth = await startBerth(['--data', join(dir, 'tlsdata'), '--config', config]);
    assert.match(berth.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = await readFile(join(tlsDir, 'cert.pem'));
    const status = await new Promise<number | undefined>((resolve, reject) => {
      httpsGet(`${berth.url}/v2/`, { ca }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject);
    });
    assert.equal(status, 200);
    berth.child.kill('SIGTERM');
    assert.equal(await berth.exited, 0);
  });

  it('reports a bad config file and exits non-zero', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--config', join(dir, 'missing.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    assert.equal(code, 1);
    assert.match(err, /^berth: cannot read config file .*missing.yaml/);
  });
});

describe('berth gc', () => {
  it('collects in-process when no server runs, with --format json', async () => {
    const data = join(dir, 'gcdata');
    const child = spawn(process.execPath, [BIN, 'gc', '--data', data, '--format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    assert.equal(await new Promise((r) => child.once('exit', r)), 0);
    const result = JSON.parse(out) as Record<string, number>;
    assert.deepEqual(Object.keys(result).sort(), ['blobs', 'bytes', 'durationMs', 'links', 'manifests', 'ran', 'strayBytes', 'strays', 'uploads']);
  });

  it('--sweep-storage deletes bytes no record accounts for, in-process; a running server is not asked to', async () => {
    const data = join(dir, 'gcdata3');
    // A stray upload file, old enough for any upload TTL and grace period.
    const stray = join(data, 'storage', 'uploads', 'lost-session', 'data');
    await mkdir(dirname(stray), { recursive: true });
    await writeFile(stray, 'partial');
    await utimes(stray, new Date(0), new Date(0));
    const run = async (): Promise<{ code: number | null; out: string; err: string }> => {
      const child = spawn(process.execPath, [BIN, 'gc', '--data', data, '--sweep-storage'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      return { code: await new Promise((r) => child.once('exit', r)), out, err };
    };
    const berth = await startBerth(['--data', data]);
    const refused = await run();
    assert.equal(refused.code, 1);
    assert.match(refused.err, /gc.sweepStorage/);
    berth.child.kill('SIGTERM');
    assert.equal(await berth.exited, 0);
    const swept = await run();
    assert.equal(swept.code, 0, swept.err);
    assert.match(swept.out, /, 1 stray files \(7 bytes\)/);
    await assert.rejects(stat(stray), { code: 'ENOENT' });
  });

  it('asks a running server to collect (SIGUSR2) instead of racing it', async () => {
    const data = join(dir, 'gcdata2');
    const berth = await startBerth(['--data', data]);
    const child = spawn(process.execPath, [BIN, 'gc', '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    assert.equal(await new Promise((r) => child.once('exit', r)), 0);
    assert.match(out, new RegExp(`asked the running server \\(pid ${berth.child.pid}\\)`));
    for (let i = 0; i < 100 && !berth.lines.some((l) => l.msg === 'garbage collected'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(berth.lines.some((l) => l.msg === 'garbage collected'));
    berth.child.kill('SIGTERM');
    assert.equal(await berth.exited, 0);
  });
});
