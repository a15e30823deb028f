/**
 * Fixed-duration HTTP load at N keep-alive connections.
 *
 * GET uses `wrk` when it is installed (far lighter than Node on a 2-core machine). wrk cannot do
 * HEAD: its parser waits for the Content-Length bytes a HEAD response never sends, so every
 * connection stalls and it reports 0 req/s. HEAD (and GET when wrk is missing) therefore uses a
 * raw-socket generator: one request in flight per connection, responses framed by hand from the
 * header block and Content-Length, no node:http machinery per request.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface LoadSpec {
  url: string;
  method: 'GET' | 'HEAD';
  headers: Record<string, string>;
  connections: number;
  threads: number;
  durationS: number;
}

export interface LoadResult {
  tool: 'wrk' | 'raw-socket';
  rps: number;
  requests: number;
  /** Responses outside 2xx/3xx plus socket errors. */
  bad: number;
}

let wrkPath: string | null | undefined;

export function findWrk(): string | null {
  if (wrkPath !== undefined) return wrkPath;
  try {
    wrkPath = execFileSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).trim() || null;
  } catch {
    wrkPath = null;
  }
  return wrkPath;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const wrk = spec.method === 'GET' ? findWrk() : null;
  const r = wrk ? await runWrk(wrk, spec) : await runRaw(spec);
  if (r.requests === 0) throw new Error(`${r.tool}: no request completed in ${spec.durationS} s`);
  return r;
}

async function runWrk(wrk: string, spec: LoadSpec): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-wrk-'));
  try {
    const args = ['-c', String(spec.connections), '-t', String(spec.threads), '-d', `${spec.durationS}s`];
    for (const [k, v] of Object.entries(spec.headers)) args.push('-H', `${k}: ${v}`);
    if (spec.method !== 'GET') {
      const script = join(dir, 'method.lua');
      writeFileSync(script, `wrk.method = "${spec.method}"\n`);
      args.push('-s', script);
    }
    args.push(spec.url);
    const { stdout } = await promisify(execFile)(wrk, args, { timeout: (spec.durationS + 30) * 1000 });
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
    const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
    if (!Number.isFinite(rps)) throw new Error(`cannot parse wrk output:\n${stdout}`);
    const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
    const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
    const sockErrors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
    return { tool: 'wrk', rps, requests, bad: non2xx + sockErrors };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** Keep-alive load over raw sockets; see the module comment. Chunked responses are not supported. */
async function runRaw(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const port = Number(url.port || 80);
  const extra = Object.entries(spec.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const request = Buffer.from(`${spec.method} ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n${extra}\r\n`);
  const end = Date.now() + spec.durationS * 1000;
  let requests = 0;
  let bad = 0;
  const t0 = process.hrtime.bigint();

  const connection = (): Promise<void> =>
    new Promise<void>((resolve) => {
      let buf: Buffer = Buffer.alloc(0);
      const sock = net.connect(port, url.hostname);
      sock.setNoDelay(true);
      const finish = (): void => {
        sock.destroy();
        resolve();
      };
      sock.on('connect', () => sock.write(request));
      sock.on('error', () => {
        bad++;
        finish();
      });
      sock.on('close', () => resolve());
      sock.on('data', (chunk: Buffer) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        for (;;) {
          const he = buf.indexOf(HEADER_END);
          if (he < 0) return;
          const head = buf.subarray(0, he).toString('latin1');
          const status = Number(head.slice(9, 12));
          const bodiless = spec.method === 'HEAD' || status === 204 || status === 304;
          if (!bodiless && /\r\ntransfer-encoding:\s*chunked/i.test(head)) {
            bad++;
            finish();
            return;
          }
          const bodyLen = bodiless ? 0 : Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
          const total = he + 4 + bodyLen;
          if (buf.length < total) return;
          buf = buf.subarray(total);
          requests++;
          if (status < 200 || status >= 400) bad++;
          if (Date.now() >= end) {
            finish();
            return;
          }
          sock.write(request);
        }
      });
    });

  // If a connection dies early (server closed it), open another while time remains.
  const worker = async (): Promise<void> => {
    while (Date.now() < end) await connection();
  };
  await Promise.all(Array.from({ length: spec.connections }, worker));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return { tool: 'raw-socket', rps: requests / secs, requests, bad };
}
