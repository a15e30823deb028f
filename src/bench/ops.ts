/**
 * OCI Distribution operations the phases are built from. The same code runs against both registries.
 * Spec: https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md
 */
import { HttpClient, expectStatus, header, nextLink, withQuery, type Response } from './client.js';
import { blobBytes, blobDigest, sha256Digest, smallBlob, type BlobSpec } from './data.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';

function location(res: Response, what: string): string {
  const loc = header(res, 'location');
  if (!loc) throw new Error(`${what}: HTTP ${res.status} without a Location header`);
  return loc;
}

/** POST /v2/<name>/blobs/uploads/ → upload Location (end-4a). */
export async function startUpload(c: HttpClient, repo: string): Promise<string> {
  const res = await c.request('POST', `/v2/${repo}/blobs/uploads/`);
  expectStatus(res, 202, `start upload in ${repo}`);
  return location(res, 'start upload');
}

/** POST, then one PUT ?digest= carrying the whole blob, streamed (end-4a, end-6). */
export async function pushMonolithic(c: HttpClient, repo: string, spec: BlobSpec, digest = blobDigest(spec)): Promise<void> {
  const loc = await startUpload(c, repo);
  const res = await c.request('PUT', withQuery(loc, 'digest', digest), {
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': spec.size },
    body: blobBytes(spec),
  });
  expectStatus(res, 201, `monolithic PUT ${spec.size} bytes`);
}

/** POST, PATCH chunks with Content-Range, then PUT ?digest= with no body (end-4a, end-5, end-6). */
export async function pushChunked(
  c: HttpClient,
  repo: string,
  spec: BlobSpec,
  chunkSize: number,
  digest = blobDigest(spec),
): Promise<number> {
  let loc = await startUpload(c, repo);
  let patches = 0;
  for (let start = 0; start < spec.size; start += chunkSize) {
    const end = Math.min(spec.size, start + chunkSize);
    const res = await c.request('PATCH', loc, {
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Length': end - start,
        'Content-Range': `${start}-${end - 1}`,
      },
      body: blobBytes(spec, start, end),
    });
    expectStatus(res, 202, `PATCH ${start}-${end - 1}`);
    loc = location(res, 'PATCH');
    patches++;
  }
  const res = await c.request('PUT', withQuery(loc, 'digest', digest));
  expectStatus(res, 201, 'closing PUT of chunked upload');
  return patches;
}

/** How a registry takes a small blob: one POST ?digest= (end-4b answering 201), or POST then PUT. */
export type SmallPushMode = 'single-post' | 'post-put';

/**
 * Pushes one small blob with POST ?digest= and its body. A registry that does not do single-request
 * uploads answers 202 with an upload Location; the blob is then finished with PUT, as clients do.
 */
export async function probeSmallPushMode(c: HttpClient, repo: string, body: Buffer): Promise<SmallPushMode> {
  const digest = sha256Digest(body);
  const res = await c.request('POST', withQuery(`/v2/${repo}/blobs/uploads/`, 'digest', digest), {
    headers: { 'Content-Type': 'application/octet-stream' },
    body,
  });
  if (res.status === 201) return 'single-post';
  expectStatus(res, 202, 'POST ?digest=');
  const put = await c.request('PUT', withQuery(location(res, 'POST ?digest='), 'digest', digest), {
    headers: { 'Content-Type': 'application/octet-stream' },
    body,
  });
  expectStatus(put, 201, 'PUT after POST ?digest= answered 202');
  return 'post-put';
}

export async function pushSmall(c: HttpClient, repo: string, body: Buffer, mode: SmallPushMode, digest = sha256Digest(body)): Promise<void> {
  if (mode === 'single-post') {
    const res = await c.request('POST', withQuery(`/v2/${repo}/blobs/uploads/`, 'digest', digest), {
      headers: { 'Content-Type': 'application/octet-stream' },
      body,
    });
    expectStatus(res, 201, 'single POST upload');
    return;
  }
  const loc = await startUpload(c, repo);
  const res = await c.request('PUT', withQuery(loc, 'digest', digest), {
    headers: { 'Content-Type': 'application/octet-stream' },
    body,
  });
  expectStatus(res, 201, 'PUT small blob');
}

/** HEAD the blob; push it monolithically when it is missing. */
export async function ensureBlob(c: HttpClient, repo: string, spec: BlobSpec): Promise<string> {
  const digest = blobDigest(spec);
  const head = await c.request('HEAD', `/v2/${repo}/blobs/${digest}`);
  if (head.status !== 200) {
    if (spec.size <= 1024 * 1024) await pushSmall(c, repo, smallBlob(spec), 'post-put', digest);
    else await pushMonolithic(c, repo, spec, digest);
  }
  return digest;
}

/** GET a blob, discarding the bytes; returns the byte count (end-2). */
export async function pullBlob(c: HttpClient, repo: string, digest: string): Promise<number> {
  const res = await c.request('GET', `/v2/${repo}/blobs/${digest}`, { discard: true });
  expectStatus(res, 200, `GET blob ${digest}`);
  return res.bytes;
}

export async function putManifest(c: HttpClient, repo: string, ref: string, manifest: Buffer, mediaType = OCI_MANIFEST): Promise<void> {
  const res = await c.request('PUT', `/v2/${repo}/manifests/${ref}`, {
    headers: { 'Content-Type': mediaType },
    body: manifest,
  });
  expectStatus(res, 201, `PUT manifest ${repo}:${ref}`);
}

export interface SmallImage {
  config: Buffer;
  configDigest: string;
  layers: { spec: BlobSpec; digest: string }[];
  manifest: Buffer;
  manifestDigest: string;
}

/** An OCI image manifest with a tiny config and `layerSizes.length` generated layers. */
export function smallImage(seed: string, layerSizes: number[]): SmallImage {
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Labels: { seed } } }),
  );
  const configDigest = sha256Digest(config);
  const layers = layerSizes.map((size, i) => {
    const spec = { seed: `${seed}/layer${i}`, size };
    return { spec, digest: blobDigest(spec) };
  });
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
      layers: layers.map((l) => ({ mediaType: OCI_LAYER, digest: l.digest, size: l.spec.size })),
    }),
  );
  return { config, configDigest, layers, manifest, manifestDigest: sha256Digest(manifest) };
}

/** Pushes the image's blobs (small-blob flow) and its manifest under `tag`. */
export async function pushSmallImage(c: HttpClient, repo: string, img: SmallImage, tag: string, mode: SmallPushMode): Promise<void> {
  await pushSmall(c, repo, img.config, mode, img.configDigest);
  for (const l of img.layers) await pushSmall(c, repo, smallBlob(l.spec), mode, l.digest);
  await putManifest(c, repo, tag, img.manifest);
}

export interface PageSize {
  n: number;
  /** What was asked and what the registry accepted, for the report. */
  note: string;
}

/**
 * The page size to list with: `wanted` if the registry takes it, otherwise the largest `n` it
 * accepts (distribution caps `_catalog` at catalog.maxentries, default 1000, and answers 400
 * PAGINATION_NUMBER_INVALID above it). Found by bisection before any timing.
 */
export async function acceptedPageSize(c: HttpClient, path: string, wanted: number): Promise<PageSize> {
  let code = '';
  const ok = async (n: number): Promise<boolean> => {
    const res = await c.request('GET', `${path}?n=${n}`);
    if (res.status === 400) {
      code ||= /"code"\s*:\s*"([A-Z_]+)"/.exec(res.body.toString('utf8'))?.[1] ?? 'HTTP 400';
      return false;
    }
    expectStatus(res, 200, `GET ${path}?n=${n}`);
    return true;
  };
  if (await ok(wanted)) return { n: wanted, note: `n=${wanted} accepted` };
  let lo = 0; // largest accepted so far (0: none yet)
  let hi = wanted; // smallest rejected
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (await ok(mid)) lo = mid;
    else hi = mid;
  }
  if (lo === 0) throw new Error(`${path} rejects every page size (${code})`);
  return { n: lo, note: `n=${wanted} rejected (${code}), largest accepted n=${lo}` };
}

/** Fetches a whole paginated list (tags/list or _catalog) with `?n=`, following `Link: rel="next"`. */
export async function listAll(c: HttpClient, path: string, n: number, field: 'tags' | 'repositories'): Promise<{ items: string[]; pages: number }> {
  const items: string[] = [];
  let pages = 0;
  let url: string | undefined = `${path}?n=${n}`;
  while (url) {
    const res = await c.request('GET', url);
    expectStatus(res, 200, `GET ${url}`);
    pages++;
    const doc = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
    const list = doc[field];
    if (Array.isArray(list)) for (const x of list) items.push(String(x));
    url = nextLink(res);
  }
  return { items, pages };
}

const modeCache = new WeakMap<HttpClient, SmallPushMode>();

/** The small-blob flow this registry takes, probed once per client with a throwaway blob in `repo`. */
export async function smallPushModeOf(c: HttpClient, repo: string): Promise<SmallPushMode> {
  const hit = modeCache.get(c);
  if (hit) return hit;
  const mode = await probeSmallPushMode(c, repo, smallBlob({ seed: `probe/${Date.now()}`, size: 4096 }));
  modeCache.set(c, mode);
  return mode;
}
