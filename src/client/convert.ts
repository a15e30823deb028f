/**
 * Manifest format conversion, for destinations that cannot store the source's format (docker-archive takes
 * Docker v2 only) and for skopeo's `--format oci|v2s2|v2s1`; layer and child replacement for recompression.
 * Conversion rewrites the manifest, so the digest changes: copy refuses it when asked to keep digests. convertManifest keeps the config bytes (skopeo does too for OCI → v2s2); for v2s2 → OCI skopeo
 * rewrites the config, which `ociConfigFromDocker` reproduces.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { Descriptor } from '../content/descriptor.js';
import { digestOf } from '../content/digest.js';
import { goJson } from '../content/go-json.js';
import { ContentError } from '../content/errors.js';
import { parseManifest, type ParsedManifest } from '../content/manifest.js';
import * as mt from '../content/media-types.js';
import { convertToSchema1, EMPTY_GZIP_LAYER, EMPTY_GZIP_LAYER_BYTES } from '../content/schema1.js';
import { ClientError } from './errors.js';
import type { RawManifest } from './transport.js';


const OCI_TO_DOCKER: Record<string, string> = {
  [mt.OCI_CONFIG]: mt.DOCKER_CONFIG,
  [mt.OCI_LAYER_GZIP]: mt.DOCKER_LAYER_GZIP,
  [mt.OCI_LAYER_TAR]: mt.DOCKER_LAYER_TAR,
  [mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP]: mt.DOCKER_FOREIGN_LAYER,
};
const DOCKER_TO_OCI: Record<string, string> = {
  [mt.DOCKER_CONFIG]: mt.OCI_CONFIG,
  [mt.DOCKER_LAYER_GZIP]: mt.OCI_LAYER_GZIP,
  [mt.DOCKER_LAYER_TAR]: mt.OCI_LAYER_TAR,
  [mt.DOCKER_FOREIGN_LAYER]: mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP,
};

function mapDescriptor(d: Descriptor, table: Record<string, string>, what: string): Record<string, unknown> {
  const mediaType = table[d.mediaType];
  if (!mediaType) throw new ClientError('UNSUPPORTED_FORMAT', `cannot convert ${what} of type ${d.mediaType}`);
  // Go's schema2 / imgspecv1 field orders, so the bytes match what skopeo would write.
  return table === OCI_TO_DOCKER
    ? { mediaType, size: d.size, digest: d.digest, ...(d.urls ? { urls: d.urls } : {}) }
    : { mediaType, digest: d.digest, size: d.size, ...(d.urls ? { urls: d.urls } : {}), ...(d.annotations ? { annotations: d.annotations } : {}) };
}

/** Converts an image manifest to one of `accepted` (most preferred first); throws `UNSUPPORTED_FORMAT` if it cannot. */
export function convertManifest(parsed: ParsedManifest, accepted: readonly string[]): RawManifest {
  if (parsed.kind !== 'image' || !parsed.config) {
    throw new ClientError('UNSUPPORTED_FORMAT', `the destination takes ${accepted.join(', ')}; cannot convert a ${parsed.mediaType} to any of them`);
  }
  const target = accepted.find((t) => (parsed.mediaType === mt.OCI_MANIFEST && t === mt.DOCKER_MANIFEST_V2) || (parsed.mediaType === mt.DOCKER_MANIFEST_V2 && t === mt.OCI_MANIFEST));
  if (!target) throw new ClientError('UNSUPPORTED_FORMAT', `the destination takes ${accepted.join(', ')}; cannot convert a ${parsed.mediaType}`);
  const table = target === mt.DOCKER_MANIFEST_V2 ? OCI_TO_DOCKER : DOCKER_TO_OCI;
  const json =
    target === mt.DOCKER_MANIFEST_V2
      ? { schemaVersion: 2, mediaType: target, config: mapDescriptor(parsed.config, table, 'config'), layers: parsed.layers.map((l, i) => mapDescriptor(l, table, `layer ${i}`)) }
      : {
          schemaVersion: 2,
          mediaType: target,
          config: mapDescriptor(parsed.config, table, 'config'),
          layers: parsed.layers.map((l, i) => mapDescriptor(l, table, `layer ${i}`)),
          ...(parsed.annotations ? { annotations: parsed.annotations } : {}),
        };
  const bytes = Buffer.from(JSON.stringify(json));
  return { bytes, mediaType: target, digest: digestOf(bytes) };
}

/** The media type a blob gets in the converted manifest (the config and layers keep their bytes). */
export function convertedBlobType(mediaType: string, target: string): string {
  const table = target === mt.DOCKER_MANIFEST_V2 ? OCI_TO_DOCKER : DOCKER_TO_OCI;
  return table[mediaType] ?? mediaType;
}

/** skopeo's `--format` names for manifest types. */
export type ManifestFormat = 'oci' | 'v2s2' | 'v2s1';

export const FORMAT_MEDIA_TYPE: Readonly<Record<ManifestFormat, string>> = {
  oci: mt.OCI_MANIFEST,
  v2s2: mt.DOCKER_MANIFEST_V2,
  v2s1: mt.DOCKER_SCHEMA1_SIGNED,
};

/** The list type that goes with an image manifest type (an OCI index for OCI images, a Docker list for v2s2). */
export function listTypeFor(format: ManifestFormat): string {
  return format === 'oci' ? mt.OCI_INDEX : mt.DOCKER_MANIFEST_LIST;
}

/** Converts an OCI or Docker v2 image manifest to `target` (the other of the two). */
export function convertTo(parsed: ParsedManifest, target: string): RawManifest {
  return convertManifest(parsed, [target]);
}

function editJson(raw: RawManifest, edit: (o: Record<string, unknown>) => void, mediaType = raw.mediaType): RawManifest {
  const o = JSON.parse(raw.bytes.toString('utf8')) as Record<string, unknown>;
  edit(o);
  const bytes = Buffer.from(JSON.stringify(o));
  return { bytes, mediaType, digest: digestOf(bytes) };
}

/**
 * The manifest with its layers replaced by `layers` (same count and order): each entry keeps its other fields
 * (annotations, urls) and gets the new mediaType, digest and size.
 */
export function replaceLayers(raw: RawManifest, layers: readonly Descriptor[]): RawManifest {
  return editJson(raw, (o) => {
    const old = o['layers'];
    if (!Array.isArray(old) || old.length !== layers.length) throw new ClientError('MANIFEST_INVALID', `manifest ${raw.digest}: expected ${layers.length} layers`);
    o['layers'] = old.map((entry: Record<string, unknown>, i) => ({ ...entry, mediaType: layers[i]!.mediaType, digest: layers[i]!.digest, size: layers[i]!.size }));
  });
}

/**
 * The index with its children replaced by `children` (same count and order), as `listType`. Turning an OCI
 * index into a Docker list drops what Docker lists cannot hold (annotations, artifactType, subject).
 */
export function replaceChildren(raw: RawManifest, children: readonly Descriptor[], listType: string): RawManifest {
  const toDocker = listType === mt.DOCKER_MANIFEST_LIST;
  return editJson(
    raw,
    (o) => {
      const old = o['manifests'];
      if (!Array.isArray(old) || old.length !== children.length) throw new ClientError('MANIFEST_INVALID', `index ${raw.digest}: expected ${children.length} children`);
      o['mediaType'] = listType;
      if (toDocker) for (const k of ['annotations', 'artifactType', 'subject']) delete o[k];
      o['manifests'] = old.map((entry: Record<string, unknown>, i) => {
        const e: Record<string, unknown> = { ...entry, mediaType: children[i]!.mediaType, digest: children[i]!.digest, size: children[i]!.size };
        if (toDocker) for (const k of ['annotations', 'artifactType']) delete e[k];
        return e;
      });
    },
    listType,
  );
}

/**
 * Renders an OCI or Docker v2 image manifest as signed schema 1 (skopeo `--format v2s1`), signed with a
 * throw-away P-256 key as containers/image's AddDummyV2S1Signature does: registries want a signature, nobody
 * checks whose. Layers are listed top first; history entries marked `empty_layer` point at the gzipped empty
 * tar, which the destination must also receive (`needsEmptyLayer`).
 */
export function convertToV2S1(parsed: ParsedManifest, config: Buffer, name: string, tag: string): { manifest: RawManifest; needsEmptyLayer: boolean } {
  if (parsed.layers.some((l) => l.mediaType === mt.OCI_LAYER_ZSTD)) throw new ClientError('UNSUPPORTED_FORMAT', 'schema 1 (v2s1) cannot hold zstd layers');
  let bytes: Uint8Array;
  try {
    bytes = convertToSchema1({ name, tag, manifest: parsed, config }, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  } catch (err) {
    if (err instanceof ContentError) throw new ClientError('UNSUPPORTED_FORMAT', `cannot convert to schema 1 (v2s1): ${err.message}`, undefined, { cause: err });
    throw err;
  }
  const payload = parseManifest(bytes, mt.DOCKER_SCHEMA1_SIGNED).payload;
  const history = (JSON.parse(config.toString('utf8')) as { history?: Array<{ empty_layer?: boolean }> }).history ?? [];
  return {
    manifest: { bytes: Buffer.from(bytes), mediaType: mt.DOCKER_SCHEMA1_SIGNED, digest: digestOf(payload) },
    needsEmptyLayer: history.some((h) => h.empty_layer === true),
  };
}

/** The blob every schema 1 empty layer names. */
export const EMPTY_LAYER_BLOB = { descriptor: { mediaType: mt.DOCKER_LAYER_GZIP, digest: EMPTY_GZIP_LAYER, size: EMPTY_GZIP_LAYER_BYTES.length } as Descriptor, bytes: EMPTY_GZIP_LAYER_BYTES };

/**
 * A Docker image config as an OCI one, byte for byte as skopeo makes it when converting v2s2 → OCI
 * (containers/image `OCIConfig`: `json.Unmarshal` into image-spec's `Image`, then `json.Marshal`): Docker-only
 * members (container, container_config, docker_version, Hostname, ...) go, Go's field order and `omitempty`
 * rules apply, map keys are sorted, times are re-rendered as Go renders them, and `<`, `>`, `&` are escaped.
 */
export function ociConfigFromDocker(bytes: Uint8Array, what = 'config'): Buffer {
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new Error('not a JSON object');
  } catch (cause) {
    throw new ClientError('MANIFEST_INVALID', `${what} is not a JSON object`, undefined, { cause });
  }
  const bad = (field: string, want: string): never => {
    throw new ClientError('MANIFEST_INVALID', `${what}: ${field} must be ${want} to convert it to OCI`);
  };
  const str = (o: Record<string, unknown>, k: string, where: string): string | undefined => {
    const v = o[k];
    if (v === undefined || v === null || v === '') return undefined;
    return typeof v === 'string' ? v : bad(`${where}${k}`, 'a string');
  };
  const strs = (o: Record<string, unknown>, k: string, where: string): string[] | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) return bad(`${where}${k}`, 'an array of strings');
    return v.length === 0 ? undefined : (v as string[]);
  };
  const obj = (o: Record<string, unknown>, k: string, where: string): Record<string, unknown> | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) return bad(`${where}${k}`, 'an object');
    return v as Record<string, unknown>;
  };
  const sorted = <T>(m: Record<string, unknown> | undefined, value: (v: unknown, k: string) => T): Record<string, T> | undefined => {
    if (!m || Object.keys(m).length === 0) return undefined;
    return Object.fromEntries(Object.keys(m).sort().map((k) => [k, value(m[k], k)]));
  };
  const time = (o: Record<string, unknown>, k: string, where: string): string | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    return typeof v === 'string' ? goTime(v) ?? bad(`${where}${k}`, 'an RFC 3339 time') : bad(`${where}${k}`, 'an RFC 3339 time');
  };
  const out: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => v !== undefined && (out[k] = v);
  set('created', time(c, 'created', ''));
  set('author', str(c, 'author', ''));
  out['architecture'] = str(c, 'architecture', '') ?? '';
  set('variant', str(c, 'variant', ''));
  out['os'] = str(c, 'os', '') ?? '';
  set('os.version', str(c, 'os.version', ''));
  set('os.features', strs(c, 'os.features', ''));
  const cc = obj(c, 'config', '') ?? {};
  const config: Record<string, unknown> = {};
  const cset = (k: string, v: unknown) => v !== undefined && (config[k] = v);
  cset('User', str(cc, 'User', 'config.'));
  cset('ExposedPorts', sorted(obj(cc, 'ExposedPorts', 'config.'), () => ({})));
  cset('Env', strs(cc, 'Env', 'config.'));
  cset('Entrypoint', strs(cc, 'Entrypoint', 'config.'));
  cset('Cmd', strs(cc, 'Cmd', 'config.'));
  cset('Volumes', sorted(obj(cc, 'Volumes', 'config.'), () => ({})));
  cset('WorkingDir', str(cc, 'WorkingDir', 'config.'));
  cset('Labels', sorted(obj(cc, 'Labels', 'config.'), (v, k) => (typeof v === 'string' ? v : bad(`config.Labels.${k}`, 'a string'))));
  cset('StopSignal', str(cc, 'StopSignal', 'config.'));
  if (cc['ArgsEscaped'] === true) config['ArgsEscaped'] = true;
  out['config'] = config;
  const rootfs = obj(c, 'rootfs', '') ?? {};
  out['rootfs'] = { type: str(rootfs, 'type', 'rootfs.') ?? '', diff_ids: strs(rootfs, 'diff_ids', 'rootfs.') ?? null };
  const history = c['history'];
  if (history !== undefined && history !== null) {
    if (!Array.isArray(history)) bad('history', 'an array');
    const h = (history as unknown[]).map((e, i) => {
      if (typeof e !== 'object' || e === null || Array.isArray(e)) return bad(`history[${i}]`, 'an object');
      const o = e as Record<string, unknown>;
      const r: Record<string, unknown> = {};
      const hs = (k: string, v: unknown) => v !== undefined && (r[k] = v);
      hs('created', time(o, 'created', `history[${i}].`));
      hs('created_by', str(o, 'created_by', `history[${i}].`));
      hs('author', str(o, 'author', `history[${i}].`));
      hs('comment', str(o, 'comment', `history[${i}].`));
      if (o['empty_layer'] === true) r['empty_layer'] = true;
      return r;
    });
    if (h.length > 0) out['history'] = h;
  }
  return Buffer.from(goJson(out));
}

const TIME_RE = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 time as Go's time.Time marshals it (RFC3339Nano: fraction without trailing zeros, a zero offset as Z). */
function goTime(s: string): string | undefined {
  const m = TIME_RE.exec(s);
  if (!m || Number.isNaN(Date.parse(s))) return undefined;
  const [, date, clock, fraction = '', zone] = m as unknown as [string, string, string, string | undefined, string];
  const frac = fraction.slice(0, 9).replace(/0+$/, '');
  const offset = /^[Zz]$|^[+-]00:00$/.test(zone) ? 'Z' : zone;
  return `${date}T${clock}${frac === '' ? '' : `.${frac}`}${offset}`;
}
