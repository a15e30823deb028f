/**
 * ImageDestination over the registry API. Blobs: HEAD to skip what is there, cross-repository mount when the
 * source is another repository of the same registry, else POST an upload and PUT the whole body in one
 * request (monolithic, Content-Length set, streamed with backpressure; the default), or, with a chunk size,
 * PATCH it in chunks that resume where the registry says the upload stands, then PUT the digest. Digest and
 * size are checked as the bytes flow, so a corrupt blob fails before the registry could commit it. Manifests: children by digest,
 * the top by tag (or by the digest the reference pins).
 *
 * A registry has no transactions: commit() does nothing, and close() without commit() cannot take back what
 * was pushed. Nothing is tagged before the top manifest, so a failed copy leaves every tag as it was; blobs and
 * child manifests already sent stay until the registry's garbage collection.
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-blobs
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Descriptor } from '../../../content/descriptor.js';
import { ClientError, isClientError } from '../../errors.js';
import { verifier } from '../../internal/verify.js';
import type { ImageDestination, ImageReference, RawManifest, SourceOptions } from '../../transport.js';
import type { RegistryClient } from './client.js';
import { registryErrorFrom } from './errors.js';
import { backoffDelay, discard, sleep } from './http.js';
import { DockerReference } from './reference.js';

export class RegistryDestination implements ImageDestination {
  constructor(
    readonly reference: DockerReference,
    private readonly client: RegistryClient,
    private readonly repository: string,
    /** Bytes per PATCH for chunked uploads; undefined: monolithic. */
    private readonly chunkSize?: number,
  ) {
    if (chunkSize !== undefined && (!Number.isSafeInteger(chunkSize) || chunkSize < 1)) {
      throw new ClientError('OPTION_INVALID', `chunk size ${String(chunkSize)}: must be a whole number of bytes, at least 1`);
    }
  }

  private get push(): string[] {
    return [`repository:${this.repository}:pull,push`];
  }

  private where(): string {
    return `${this.client.registry}/${this.repository}`;
  }

  // hasBlob implements ImageDestination.
  async hasBlob(desc: Descriptor, opts: SourceOptions = {}): Promise<boolean> {
    const res = await this.client.expect({ method: 'HEAD', path: `/v2/${this.repository}/blobs/${desc.digest}`, scopes: this.push, signal: opts.signal }, [200, 404], `HEAD blob ${desc.digest} of ${this.where()}`);
    await discard(res.body);
    if (res.status === 404) return false;
    const len = Number(res.headers['content-length']);
    // A registry that has the digest but reports another size holds something else under that name: upload.
    return !(Number.isFinite(len) && desc.size >= 0 && len !== desc.size);
  }

  /**
   * Asks the registry to link `desc` from repository `from` (same registry only) instead of uploading it.
   * True when mounted; false when the registry declined (it then opened an upload, which is cancelled) or
   * `from` is elsewhere.
   */
  async tryMount(desc: Descriptor, from: ImageReference | string, opts: SourceOptions = {}): Promise<boolean> {
    let repo: string;
    if (typeof from === 'string') repo = from;
    else if (from instanceof DockerReference && from.registry === this.reference.registry) repo = from.repository;
    else return false;
    if (repo === this.repository) return false;
    const q = new URLSearchParams({ mount: desc.digest, from: repo });
    let res;
    try {
      res = await this.client.request({ method: 'POST', path: `/v2/${this.repository}/blobs/uploads/?${q}`, scopes: [...this.push, `repository:${repo}:pull`], signal: opts.signal });
    } catch (err) {
      if (isClientError(err, 'NETWORK_ERROR')) throw err;
      return false;
    }
    await discard(res.body);
    if (res.status === 201) return true;
    if (res.status === 202 && res.headers.location) await this.cancelUpload(res.headers.location);
    return false;
  }

  private async cancelUpload(location: string): Promise<void> {
    try {
      const res = await this.client.request({ method: 'DELETE', path: location, scopes: this.push });
      await discard(res.body);
    } catch {
      // Best effort: the registry expires abandoned uploads anyway.
    }
  }

  // putBlob implements ImageDestination.
  async putBlob(desc: Descriptor, stream: Readable, opts: SourceOptions = {}): Promise<void> {
    const what = `upload blob ${desc.digest} to ${this.where()}`;
    let location: string | undefined;
    try {
      const start = await this.client.expect({ method: 'POST', path: `/v2/${this.repository}/blobs/uploads/`, scopes: this.push, signal: opts.signal }, [202], what);
      await discard(start.body);
      location = start.headers.location;
      if (!location) throw new ClientError('REGISTRY_ERROR', `${what}: the registry started an upload without a Location`);
      const body = verifier(desc);
      // pipeline destroys the verifier with the source's error, and the request with the verifier's.
      pipeline(stream, body).catch(() => undefined);
      let res;
      if (this.chunkSize === undefined) {
        const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
        if (desc.size >= 0) headers['content-length'] = String(desc.size);
        res = await this.client.request({ method: 'PUT', path: withDigest(location, desc), scopes: this.push, headers, body, signal: opts.signal });
      } else {
        location = await this.sendChunks(body, location, this.chunkSize, what, opts.signal);
        res = await this.client.request({ method: 'PUT', path: withDigest(location, desc), scopes: this.push, headers: { 'content-length': '0' }, signal: opts.signal });
      }
      if (res.status !== 201) throw await registryErrorFrom(res.body, { what });
      await discard(res.body);
      location = undefined;
      const stored = res.headers['docker-content-digest'];
      if (typeof stored === 'string' && stored !== desc.digest) {
        throw new ClientError('DIGEST_MISMATCH', `${what}: the registry stored it as ${stored}`, { expected: desc.digest, got: stored });
      }
    } catch (err) {
      if (location) await this.cancelUpload(location);
      throw err;
    } finally {
      if (!stream.readableEnded) stream.destroy();
    }
  }

  /**
   * Chunked upload (distribution-spec "Pushing a blob in chunks"): PATCHes of `size` bytes with Content-Range,
   * each answered by 202 and the Location to use next. Only the chunk in flight is held in memory. A chunk
   * that fails (network error, 5xx, 429, or 416 out of order) is resumed from the offset the registry reports
   * for the upload (GET Location → 204 with `Range: 0-<last>`), with backoff, up to the retry attempts.
   * Resolves to the Location for the closing PUT.
   */
  private async sendChunks(body: Readable, location: string, size: number, what: string, signal?: AbortSignal): Promise<string> {
    const policy = this.client.settings.retry;
    let offset = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const send = async (chunk: Buffer): Promise<void> => {
      const chunkStart = offset;
      for (let attempt = 1; ; attempt++) {
        const part = chunk.subarray(offset - chunkStart);
        let failure: unknown;
        try {
          const res = await this.client.request({
            method: 'PATCH',
            path: location,
            scopes: this.push,
            // A stream, not a Buffer: a blind replay of a chunk the registry may have half-committed would be
            // refused as out of order, so retries go through the status query below instead.
            headers: { 'content-type': 'application/octet-stream', 'content-length': String(part.length), 'content-range': `${offset}-${offset + part.length - 1}` },
            body: Readable.from([part]),
            signal,
          });
          if (res.status === 202) {
            await discard(res.body);
            if (res.headers.location) location = res.headers.location;
            offset += part.length;
            return;
          }
          if (res.status !== 416 && res.status !== 429 && res.status < 500) throw await registryErrorFrom(res.body, { what });
          failure = await registryErrorFrom(res.body, { what });
        } catch (err) {
          if (signal?.aborted || (isClientError(err) && !isClientError(err, 'NETWORK_ERROR'))) throw err;
          failure = err;
        }
        if (attempt >= Math.max(1, policy.attempts)) throw failure;
        await sleep(backoffDelay(policy, attempt), signal);
        const committed = await this.uploadOffset(location, what, signal);
        if (committed < chunkStart || committed > chunkStart + chunk.length) {
          throw new ClientError('REGISTRY_ERROR', `${what}: the registry holds ${committed} bytes of the upload, outside the chunk ${chunkStart}-${chunkStart + chunk.length - 1} being resent`, undefined, { cause: failure });
        }
        offset = committed;
        if (offset === chunkStart + chunk.length) return;
      }
    };
    for await (const piece of body as AsyncIterable<Buffer>) {
      pending.push(piece);
      pendingBytes += piece.length;
      while (pendingBytes >= size) {
        const all = Buffer.concat(pending);
        await send(all.subarray(0, size));
        pending = [all.subarray(size)];
        pendingBytes = all.length - size;
      }
    }
    if (pendingBytes > 0) await send(Buffer.concat(pending));
    return location;
  }

  /** Where an upload stands: the number of bytes the registry has (GET on its Location, `Range: 0-<last>`). */
  private async uploadOffset(location: string, what: string, signal?: AbortSignal): Promise<number> {
    const res = await this.client.expect({ method: 'GET', path: location, scopes: this.push, signal }, [204, 200], `${what}: upload status`);
    await discard(res.body);
    const range = res.headers['range'];
    const m = typeof range === 'string' ? /^(?:bytes=)?0-(\d+)$/.exec(range.trim()) : null;
    if (!m) return 0;
    // "0-0" is what registries say for an empty upload too; resending one byte is harmless, skipping it is not.
    const last = Number(m[1]);
    return last === 0 ? 0 : last + 1;
  }

  // putManifest implements ImageDestination.
  async putManifest(m: RawManifest, opts: { top: boolean; signal?: AbortSignal }): Promise<void> {
    let ref: string = m.digest;
    if (opts.top) {
      if (this.reference.digest && this.reference.digest !== m.digest) {
        throw new ClientError('DIGEST_MISMATCH', `${String(this.reference)} names ${this.reference.digest}, the manifest is ${m.digest}`);
      }
      ref = this.reference.digest ?? this.reference.tag ?? 'latest';
    }
    const what = `PUT manifest ${ref} to ${this.where()}`;
    const res = await this.client.expect({ method: 'PUT', path: `/v2/${this.repository}/manifests/${ref}`, scopes: this.push, headers: { 'content-type': m.mediaType }, body: m.bytes, signal: opts.signal }, [201, 200], what);
    await discard(res.body);
    const stored = res.headers['docker-content-digest'];
    if (typeof stored === 'string' && stored.startsWith('sha256:') && m.digest.startsWith('sha256:') && stored !== m.digest) {
      throw new ClientError('DIGEST_MISMATCH', `${what}: the registry stored it as ${stored}, not ${m.digest}`, { expected: m.digest, got: stored });
    }
  }

  async commit(): Promise<void> {
    // Pushed content is live as soon as the registry accepts it; the top manifest is the last write.
  }

  async close(): Promise<void> {
    // Connections are the session's; see the module comment for what a failed push leaves behind.
  }
}

/** The upload Location with `?digest=` added, as the closing PUT needs it. */
function withDigest(location: string, desc: Descriptor): string {
  const url = new URL(location, 'http://placeholder/');
  url.searchParams.set('digest', desc.digest);
  return /^https?:\/\//.test(location) ? url.href : `${url.pathname}${url.search}`;
}
