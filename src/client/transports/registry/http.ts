/**
 * One HTTP exchange with a registry over node:http / node:https (not fetch: request bodies must stream with
 * backpressure, and TLS needs per-registry CAs and client certificates), and the retry policy around it:
 * 429 (honouring Retry-After), 5xx and connection failures are retried with exponential backoff, only when
 * the request body can be sent again (none, or bytes in memory).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { ClientError } from '../../errors.js';

export interface TlsConfig {
  /** false: accept any certificate (skopeo --tls-verify=false; registries.conf `insecure`). */
  verify: boolean;
  /** The trusted roots (PEM, concatenated), normally `systemRoots()`; unset: the roots bundled with Node.js. */
  roots?: string;
  /** Extra trusted CAs (PEM), added to the roots. */
  ca?: string[];
  /** A client certificate and its key (PEM). */
  cert?: string;
  key?: string;
}

/** Where Go's crypto/x509, and so skopeo and podman, looks for the system's CA bundle on Linux, in this order. */
const SYSTEM_CA_FILES = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu, Gentoo
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL 6
  '/etc/ssl/ca-bundle.pem', // openSUSE
  '/etc/pki/tls/cacert.pem', // OpenELEC
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', // CentOS, RHEL 7
  '/etc/ssl/cert.pem', // Alpine
];

const systemRootsCache = new Map<string, string | undefined>();

/**
 * The system's trusted CAs, found as skopeo finds them: the file `$SSL_CERT_FILE`, else the first of
 * SYSTEM_CA_FILES that exists, plus the files in each directory of `$SSL_CERT_DIR` (colon-separated). So a CA
 * installed with update-ca-certificates or update-ca-trust is trusted, as it is by every containers tool.
 * Unlike Go, /etc/ssl/certs is not scanned unless `$SSL_CERT_DIR` names it: the bundle is built from it.
 * Undefined when none is found; Node's bundled roots apply then. Read once per process.
 */
export function systemRoots(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const files = env['SSL_CERT_FILE'] ? [env['SSL_CERT_FILE']] : SYSTEM_CA_FILES;
  const dirs = env['SSL_CERT_DIR'] ? env['SSL_CERT_DIR'].split(':').filter(Boolean) : [];
  const key = JSON.stringify([files, dirs]);
  if (systemRootsCache.has(key)) return systemRootsCache.get(key);
  const read = (f: string): string | undefined => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return undefined;
    }
  };
  const pems: string[] = [];
  for (const f of files) {
    const pem = read(f);
    if (pem !== undefined) {
      pems.push(pem);
      break;
    }
  }
  for (const d of dirs) {
    let names: string[] = [];
    try {
      names = readdirSync(d).sort();
    } catch {
      continue;
    }
    for (const n of names) {
      const pem = read(join(d, n));
      if (pem?.includes('-----BEGIN CERTIFICATE-----')) pems.push(pem);
    }
  }
  const roots = pems.some((p) => p.includes('-----BEGIN CERTIFICATE-----')) ? pems.join('\n') : undefined;
  systemRootsCache.set(key, roots);
  return roots;
}

/**
 * Reads a containers-certs.d(5) directory: every `*.crt` is a trusted CA, `X.cert` + `X.key` is a client
 * certificate pair. A missing directory is no configuration; a `.cert` without its `.key` is an error.
 */
export async function loadCertDir(dir: string): Promise<Omit<TlsConfig, 'verify'>> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch {
    return {};
  }
  const out: Omit<TlsConfig, 'verify'> = {};
  for (const n of names) {
    if (n.endsWith('.crt')) (out.ca ??= []).push(await readFile(join(dir, n), 'utf8'));
    if (n.endsWith('.cert')) {
      const key = `${n.slice(0, -'.cert'.length)}.key`;
      if (!names.includes(key)) throw new ClientError('CONFIG_INVALID', `${join(dir, n)}: client certificate without its key ${key}`);
      out.cert = await readFile(join(dir, n), 'utf8');
      out.key = await readFile(join(dir, key), 'utf8');
    }
    if (n.endsWith('.key') && !names.includes(`${n.slice(0, -'.key'.length)}.cert`)) {
      throw new ClientError('CONFIG_INVALID', `${join(dir, n)}: key without its client certificate`);
    }
  }
  return out;
}

export interface RetryPolicy {
  /** Total attempts, the first included (default 4). */
  attempts: number;
  /** First backoff (default 500 ms); doubled each time, with jitter. */
  baseDelayMs: number;
  /** Longest wait between attempts, Retry-After included (default 30 s). */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 30_000 };

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  /** Bytes (replayable, so retried) or a stream (sent once, with backpressure). */
  body?: Buffer | Readable;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Always consume or destroy it. */
  body: IncomingMessage;
  url: URL;
}

/** Connection-level failures worth another attempt (the peer may be back, or was restarting). */
const RETRYABLE_ERRORS = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

export function isRetryableNetworkError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && RETRYABLE_ERRORS.has(code);
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

/** The agents of one client: keep-alive connections, with its TLS settings. */
export class Connections {
  private readonly http = new HttpAgent({ keepAlive: true });
  private httpsAgent: HttpsAgent | undefined;
  constructor(readonly tls: TlsConfig) {}

  /**
   * Made on the first https request, with one TLS context for all its connections. Building a context with
   * the default roots parses every bundled CA certificate (10-30 ms); a client that does not verify, or
   * never speaks TLS, does not pay for that.
   */
  private get https(): HttpsAgent {
    return (this.httpsAgent ??= new HttpsAgent({ keepAlive: true, rejectUnauthorized: this.tls.verify, secureContext: secureContextFor(this.tls) }));
  }

  /** One exchange, no retries and no redirects. Rejects with the body's error (e.g. DIGEST_MISMATCH) first. */
  send(req: HttpRequest): Promise<HttpResponse> {
    const isHttps = req.url.protocol === 'https:';
    const headers: Record<string, string> = { ...req.headers };
    if (Buffer.isBuffer(req.body)) headers['content-length'] = String(req.body.length);
    return new Promise<HttpResponse>((resolve, reject) => {
      let bodyError: unknown;
      const cr = (isHttps ? httpsRequest : httpRequest)(req.url, { method: req.method, headers, agent: isHttps ? this.https : this.http, signal: req.signal });
      cr.on('response', (res) => {
        if (bodyError !== undefined) {
          res.destroy();
          return;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url: req.url });
      });
      cr.on('error', (err) => reject(bodyError ?? err));
      if (req.body instanceof Readable) {
        pipeline(req.body, cr).catch((err: unknown) => {
          // The body failed (a digest check, the source breaking off): that is the error to report, and the
          // request must not complete, so the registry never sees a whole (wrong) body.
          bodyError = err;
          cr.destroy(err as Error);
          reject(err);
        });
      } else {
        cr.end(req.body);
      }
    });
  }

  close(): void {
    this.http.destroy();
    this.httpsAgent?.destroy();
  }
}

function secureContextFor(tls: TlsConfig): SecureContext {
  // An empty `ca` list means no roots at all, which is all a client that does not verify needs.
  const ca = !tls.verify ? [] : tls.roots !== undefined || tls.ca?.length ? [...(tls.roots !== undefined ? [tls.roots] : rootCertificates), ...(tls.ca ?? [])] : undefined;
  return createSecureContext({ ...(ca ? { ca } : {}), ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}) });
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The wait before attempt `attempt + 1` (1-based `attempt`), from Retry-After when the server sent one. */
export function backoffDelay(policy: RetryPolicy, attempt: number, retryAfter?: string | string[]): number {
  const header = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
  if (header !== undefined) {
    const secs = Number(header);
    const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(header) - Date.now();
    if (Number.isFinite(ms) && ms >= 0) return Math.min(ms, policy.maxDelayMs);
  }
  const exp = policy.baseDelayMs * 2 ** (attempt - 1);
  return Math.min(policy.maxDelayMs, exp / 2 + Math.random() * (exp / 2));
}

/** Drains and discards a response body (so its connection can be reused). */
export async function discard(res: IncomingMessage): Promise<void> {
  res.resume();
  await new Promise<void>((resolve) => {
    if (res.complete || res.destroyed) resolve();
    else {
      res.once('end', resolve);
      res.once('error', () => resolve());
      res.once('close', resolve);
    }
  });
}

/**
 * `send` with retries: 429, retryable 5xx and connection failures are tried again (after backoff) while
 * attempts remain and the body can be replayed. The last retryable response is returned as is (the caller
 * turns it into an error); the last connection failure is thrown as `NETWORK_ERROR` naming the host.
 */
export async function sendWithRetries(conn: Connections, req: HttpRequest, policy: RetryPolicy): Promise<HttpResponse> {
  const replayable = !(req.body instanceof Readable);
  const attempts = replayable ? Math.max(1, policy.attempts) : 1;
  for (let attempt = 1; ; attempt++) {
    let res: HttpResponse;
    try {
      res = await conn.send(req);
    } catch (err) {
      if (err instanceof ClientError || req.signal?.aborted) throw err;
      if (attempt < attempts && isRetryableNetworkError(err)) {
        await sleep(backoffDelay(policy, attempt), req.signal);
        continue;
      }
      throw networkError(req.url, err, attempt);
    }
    if (attempt < attempts && isRetryableStatus(res.status)) {
      await discard(res.body);
      await sleep(backoffDelay(policy, attempt, res.headers['retry-after']), req.signal);
      continue;
    }
    return res;
  }
}

export function networkError(url: URL, err: unknown, attempts: number): ClientError {
  const e = err as NodeJS.ErrnoException;
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  return new ClientError('NETWORK_ERROR', `cannot reach registry ${url.host} (${url.protocol}//${url.host})${tries}: ${e.code ? `${e.code} ` : ''}${e.message}`, { host: url.host, code: e.code }, { cause: err });
}
