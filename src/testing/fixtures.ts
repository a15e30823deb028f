import { randomBytes } from 'node:crypto';
import { digestOf, type Digest, type DigestAlgorithm } from '../content/digest.js';
import {
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST_LIST,
  DOCKER_MANIFEST_V2,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
} from '../content/media-types.js';

/** Generated test content (go-containerregistry's `random` package): never committed fixtures. */
export interface Blob {
  bytes: Buffer;
  digest: Digest;
  mediaType: string;
}

export interface ImageFixture {
  config: Blob;
  layers: Blob[];
  manifest: Buffer;
  mediaType: string;
  digest: Digest;
}

export function randomBlob(size: number, mediaType = 'application/octet-stream', algorithm: DigestAlgorithm = 'sha256'): Blob {
  const bytes = randomBytes(size);
  return { bytes, digest: digestOf(bytes, algorithm), mediaType };
}

export function jsonBlob(value: unknown, mediaType: string): Blob {
  const bytes = Buffer.from(JSON.stringify(value));
  return { bytes, digest: digestOf(bytes), mediaType };
}

function descriptor(b: Blob) {
  return { mediaType: b.mediaType, digest: b.digest, size: b.bytes.length };
}

/** A random image: `layers` random "layers" of `size` bytes and a matching config with diff_ids and history. */
export function randomImage(opts: { layers?: number; size?: number; format?: 'oci' | 'docker'; platform?: { os: string; architecture: string }; extra?: Record<string, unknown> } = {}): ImageFixture {
  const docker = opts.format === 'docker';
  const layers = Array.from({ length: opts.layers ?? 2 }, () => randomBlob(opts.size ?? 1024, docker ? DOCKER_LAYER_GZIP : OCI_LAYER_GZIP));
  const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };
  const config = jsonBlob(
    {
      ...platform,
      created: '2026-01-01T00:00:00Z',
      config: { Env: ['PATH=/usr/bin'], Cmd: ['/bin/sh'], Labels: { 'org.example': 'yes' } },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      history: layers.map((_, i) => ({ created: '2026-01-01T00:00:00Z', created_by: `step ${i}` })),
    },
    docker ? DOCKER_CONFIG : OCI_CONFIG,
  );
  const mediaType = docker ? DOCKER_MANIFEST_V2 : OCI_MANIFEST;
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType, config: descriptor(config), layers: layers.map(descriptor), ...opts.extra }),
  );
  return { config, layers, manifest, mediaType, digest: digestOf(manifest) };
}

export function indexOf(images: ImageFixture[], opts: { format?: 'oci' | 'docker'; platforms?: Array<{ os: string; architecture: string }>; extra?: Record<string, unknown> } = {}): { bytes: Buffer; digest: Digest; mediaType: string } {
  const mediaType = opts.format === 'docker' ? DOCKER_MANIFEST_LIST : OCI_INDEX;
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: images.map((img, i) => ({
        mediaType: img.mediaType,
        digest: img.digest,
        size: img.manifest.length,
        platform: opts.platforms?.[i] ?? { os: 'linux', architecture: i === 0 ? 'amd64' : 'arm64' },
      })),
      ...opts.extra,
    }),
  );
  return { bytes, digest: digestOf(bytes), mediaType };
}

// --- a minimal HTTP client for tests (the real client library is `client/`) ----------------------

/** Extra request headers, e.g. `Authorization` against a registry with auth on. */
export type Headers = Record<string, string>;

export async function pushBlob(url: string, repo: string, blob: Pick<Blob, 'bytes' | 'digest'>, headers: Headers = {}): Promise<void> {
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${blob.digest}`, { method: 'POST', body: new Uint8Array(blob.bytes), headers });
  if (res.status !== 201) throw new Error(`push blob: ${res.status} ${await res.text()}`);
  await res.body?.cancel();
}

export async function pushManifest(url: string, repo: string, reference: string, bytes: Buffer, mediaType: string, headers: Headers = {}): Promise<Response> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${reference}`, { method: 'PUT', body: new Uint8Array(bytes), headers: { 'Content-Type': mediaType, ...headers } });
  if (res.status !== 201) throw new Error(`push manifest: ${res.status} ${await res.text()}`);
  await res.body?.cancel();
  return res;
}

export async function pushImage(url: string, repo: string, image: ImageFixture, reference: string = image.digest, headers: Headers = {}): Promise<Response> {
  for (const b of [image.config, ...image.layers]) await pushBlob(url, repo, b, headers);
  return pushManifest(url, repo, reference, image.manifest, image.mediaType, headers);
}

/** The `errors[0].code` of a response, and its status. */
export async function errorOf(res: Response): Promise<{ status: number; code: string | undefined }> {
  const text = await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { errors?: Array<{ code: string }> }).errors?.[0]?.code;
  } catch {
    code = undefined;
  }
  return { status: res.status, code };
}
