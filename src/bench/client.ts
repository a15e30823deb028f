/**
 * A small HTTP/1.1 client for the benchmark: node:http with a keep-alive Agent, streamed request
 * bodies (with backpressure, via pipeline) and response bodies that are either collected (small
 * JSON) or counted and discarded (blobs).
 */
import http from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export type Body = Buffer | Iterable<Buffer> | AsyncIterable<Buffer>;

export interface RequestOptions {
  headers?: Record<string, string | number>;
  /** A Buffer is sent at once; an iterable is streamed (set Content-Length in headers yourself). */
  body?: Body;
  /** Count the response bytes and drop them instead of collecting them. */
  discard?: boolean;
}

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Empty when `discard` was set. */
  body: Buffer;
  /** Bytes of response body received. */
  bytes: number;
}

/** Collected bodies above this are an error: only manifests, tag lists and catalogs are collected. */
const MAX_COLLECT = 64 * 1024 * 1024;

export class HttpClient {
  readonly agent: http.Agent;

  constructor(readonly base: string, maxSockets = 64) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  /** Resolves a path or a Location header (relative or absolute) against the registry base. */
  url(pathOrLocation: string): URL {
    return new URL(pathOrLocation, this.base);
  }

  request(method: string, pathOrUrl: string, opts: RequestOptions = {}): Promise<Response> {
    const url = this.url(pathOrUrl);
    const headers: Record<string, string | number> = { ...opts.headers };
    if (opts.body === undefined && method !== 'GET' && method !== 'HEAD' && headers['Content-Length'] === undefined) {
      headers['Content-Length'] = 0;
    }
    if (Buffer.isBuffer(opts.body)) headers['Content-Length'] = opts.body.length;

    return new Promise<Response>((resolve, reject) => {
      const req = http.request(url, { method, headers, agent: this.agent });
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        req.destroy();
        reject(new Error(`${method} ${url.pathname}: ${err.message}`, { cause: err }));
      };
      req.on('error', fail);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (opts.discard) return;
          if (bytes > MAX_COLLECT) {
            res.destroy(new Error(`response body over ${MAX_COLLECT} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('error', fail);
        res.on('end', () => {
          if (settled) return;
          settled = true;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), bytes });
        });
      });

      const body = opts.body;
      if (body === undefined) {
        req.end();
      } else if (Buffer.isBuffer(body)) {
        req.end(body);
      } else {
        // pipeline() ends req and carries backpressure from the socket back to the generator.
        // If the server answers early and closes, the response handler above has already settled.
        pipeline(Readable.from(body, { objectMode: false }), req).catch(fail);
      }
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Throws with the status and the start of the body when the status is not one of `ok`. */
export function expectStatus(res: Response, ok: number | number[], what: string): void {
  const list = Array.isArray(ok) ? ok : [ok];
  if (!list.includes(res.status)) {
    const text = res.body.subarray(0, 300).toString('utf8').trim();
    throw new Error(`${what}: HTTP ${res.status}${text ? `: ${text}` : ''}`);
  }
}

export function header(res: Response, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Appends a query parameter to a Location that may already carry its own (e.g. distribution's `_state`). */
export function withQuery(location: string, key: string, value: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}${key}=${encodeURIComponent(value)}`;
}

/** RFC 5988 `Link: <url>; rel="next"` → url, or undefined. */
export function nextLink(res: Response): string | undefined {
  const link = header(res, 'link');
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(part);
    if (m) return m[1];
  }
  return undefined;
}

/** Runs `fn` over 0..count-1 with at most `concurrency` in flight. */
export async function runPool(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
