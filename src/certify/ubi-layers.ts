/**
 * Known top-layer diffIDs of Red Hat base images (UBI and Red Hat Hardened Images), so BasedOnUbi can decide
 * offline. preflight asks Red Hat's Pyxis for certified images on registry.access.redhat.com whose
 * `uncompressed_top_layer_id` is one of the image's diffIDs; an image built FROM a UBI image carries that
 * image's last diffID.
 *
 * The file format users can keep up to date themselves (`berth certify --ubi-layers FILE`):
 *
 * ```json
 * {
 *   "schemaVersion": 1,
 *   "layers": [
 *     { "diffID": "sha256:<64 hex>", "image": "registry.access.redhat.com/ubi9/ubi:9.4-1181", "kind": "ubi", "source": "where it was read" }
 *   ]
 * }
 * ```
 *
 * `kind` is `ubi` or `rhhi`; `image` and `source` are for people. An optional
 * `"signingKeys": [{ "keyId": "<16 hex>", "name": "…" }]` lists the Red Hat package-signing key ids for the
 * RPM-signature evidence (redhat-keys.ts ships the known ones). What a user's file lists replaces the shipped
 * lists unless it says `"extends": "builtin"`, which keeps them and adds its own.
 */
import { readFile } from 'node:fs/promises';
import { CertifyError } from './errors.js';
import { RED_HAT_RELEASE_KEY_IDS } from './redhat-keys.js';

export interface UbiLayer {
  diffID: string;
  image: string;
  kind: 'ubi' | 'rhhi';
  source: string;
}

export interface SigningKey {
  keyId: string;
  name: string;
}

export interface UbiLayerData {
  schemaVersion: 1;
  extends?: 'builtin';
  layers: UbiLayer[];
  signingKeys?: SigningKey[];
}

/** What BasedOnUbi decides from: top-layer diffIDs and package-signing key ids (lower-case hex). */
export interface BaseImageData {
  layers: ReadonlyMap<string, UbiLayer>;
  signingKeys: ReadonlyMap<string, string>;
}

/**
 * The shipped list. Only diffIDs read from a published source are here; none are guessed. It is short:
 * Red Hat rebuilds UBI often, so keep a current list with `--ubi-layers` (e.g. from
 * `skopeo inspect --config docker://registry.access.redhat.com/ubi9/ubi:<tag> | jq '.rootfs.diff_ids[-1]'`).
 */
export const BUILTIN_UBI_LAYERS: UbiLayerData = {
  schemaVersion: 1,
  layers: [
    {
      diffID: 'sha256:3d5ecee9360ea8711f32d2af0cab1eae4d53140496f961ca1a634b5e2e817412',
      image: 'registry.redhat.io/ubi8/ubi:latest (as of openshift-preflight docs/dev/LAYER_IDS.md, c4c660f8)',
      kind: 'ubi',
      source:
        'redhat-openshift-ecosystem/openshift-preflight docs/dev/LAYER_IDS.md: `crane config registry.redhat.io/ubi8/ubi:latest | jq .rootfs.diff_ids` → [a9820c2a…, 3d5ecee9…]; the last is the top layer',
    },
  ],
};

const DIFF_ID_RE = /^sha256:[0-9a-f]{64}$/;

/** Checks a parsed data file; throws `UBI_DATA_INVALID` naming the first problem. */
export function parseUbiLayerData(value: unknown, where: string): UbiLayerData {
  const bad = (why: string) => new CertifyError('UBI_DATA_INVALID', `${where}: ${why}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('not a JSON object');
  const v = value as Record<string, unknown>;
  if (v['schemaVersion'] !== 1) throw bad('schemaVersion must be 1');
  if (v['extends'] !== undefined && v['extends'] !== 'builtin') throw bad('extends may only be "builtin"');
  if (!Array.isArray(v['layers'])) throw bad('layers must be an array');
  const layers = (v['layers'] as unknown[]).map((l, i) => {
    if (typeof l !== 'object' || l === null) throw bad(`layers[${i}] is not an object`);
    const e = l as Record<string, unknown>;
    if (typeof e['diffID'] !== 'string' || !DIFF_ID_RE.test(e['diffID'])) throw bad(`layers[${i}].diffID must be sha256:<64 lower-case hex>`);
    if (e['kind'] !== 'ubi' && e['kind'] !== 'rhhi') throw bad(`layers[${i}].kind must be "ubi" or "rhhi"`);
    return { diffID: e['diffID'], image: typeof e['image'] === 'string' ? e['image'] : '', kind: e['kind'], source: typeof e['source'] === 'string' ? e['source'] : '' } satisfies UbiLayer;
  });
  let signingKeys: SigningKey[] | undefined;
  if (v['signingKeys'] !== undefined) {
    if (!Array.isArray(v['signingKeys'])) throw bad('signingKeys must be an array');
    signingKeys = (v['signingKeys'] as unknown[]).map((k, i) => {
      const e = (typeof k === 'object' && k !== null ? k : {}) as Record<string, unknown>;
      if (typeof e['keyId'] !== 'string' || !/^[0-9a-fA-F]{16}$/.test(e['keyId'])) throw bad(`signingKeys[${i}].keyId must be 16 hex digits`);
      return { keyId: e['keyId'].toLowerCase(), name: typeof e['name'] === 'string' ? e['name'] : '' };
    });
  }
  return { schemaVersion: 1, ...(v['extends'] === 'builtin' ? { extends: 'builtin' as const } : {}), layers, ...(signingKeys ? { signingKeys } : {}) };
}

/**
 * The data to decide from: the shipped tables, or the file at `path` (which replaces them, or adds to them
 * with `"extends": "builtin"`).
 */
export async function loadBaseImageData(path?: string): Promise<BaseImageData> {
  const layers = new Map<string, UbiLayer>();
  const signingKeys = new Map<string, string>();
  const builtin = () => {
    for (const l of BUILTIN_UBI_LAYERS.layers) layers.set(l.diffID, l);
    for (const [k, name] of RED_HAT_RELEASE_KEY_IDS) signingKeys.set(k, name);
  };
  if (path === undefined) {
    builtin();
    return { layers, signingKeys };
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new CertifyError('UBI_DATA_INVALID', `${path}: cannot read: ${(cause as Error).message}`, undefined, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new CertifyError('UBI_DATA_INVALID', `${path}: not JSON: ${(cause as Error).message}`, undefined, { cause });
  }
  const data = parseUbiLayerData(json, path);
  if (data.extends === 'builtin') builtin();
  else if (!data.signingKeys) for (const [k, name] of RED_HAT_RELEASE_KEY_IDS) signingKeys.set(k, name);
  for (const l of data.layers) layers.set(l.diffID, l);
  for (const k of data.signingKeys ?? []) signingKeys.set(k.keyId, k.name || 'listed in ' + path);
  return { layers, signingKeys };
}
