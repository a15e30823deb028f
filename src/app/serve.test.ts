// `berth serve` as a real process: starts on the README's defaults, refuses a second server on the same
// data directory, finishes requests in flight on SIGTERM, and leaves nothing half-written.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBlob, pushImage, randomImage } from '../testing/fixtures.js';

const BIN = fileURLToPath(new URL('../../bin/berth.js', import.meta.url));
let dir: string;
before(async () => (dir = await mkdtemp(join(tmpdir(), 'berth-serve-'))));
after(() => rm(dir, { recursive: true, force: true }));

interface Proc {
  child: ChildProcess;
  url: string;
  lines: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

async function startBerth(args: string[]): Promise<Proc> {
  const child = spawn(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = JSON.parse(buf.slice(0, i)) as Record<string, unknown>;
        buf = buf.slice(i + 1);
        lines.push(line);
        if (line.msg === 'berth is serving') resolve(line.url as string);
      }
    });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    void exited.then((code) => reject(new Error(`berth exited with ${code}: ${err}`)));
  });
  return { child, url, lines, exited };
}

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
    assert.deepEqual(Object.keys(result).sort(), ['blobs', 'bytes', 'durationMs', 'links', 'manifests', 'uploads']);
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
