/**
 * Docker Image Manifest v2, schema 1 (deprecated since 2015, removed from distribution v3): verification,
 * libtrust "pretty JWS" signing, and the schema 2 → schema 1 conversion that distribution 2.x performed for
 * old clients pulling by tag.
 *
 * Sources: distribution/distribution `docs/spec/manifest-v2-1.md`, `manifest/schema1/{sign,config_builder}.go`
 * (before 0742b566); docker/libtrust `jsonsign.go`, `ec_key.go`, `util.go`.
 */
import { GO_HTML_ESCAPES, goJson } from './go-json.js';
import {
  X509Certificate,
  createHash,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { ContentError } from './errors.js';
import { digestAlgorithm, digestHex, digestOf, parseDigest, type Digest } from './digest.js';
import { has, invalid, isObject, parseJsonObject, requireString, type JsonObject } from './json.js';
import type { ParsedManifest } from './manifest.js';
import { parseRepositoryName, parseTag } from './reference.js';

export interface Schema1Manifest {
  schemaVersion: 1;
  name: string;
  tag: string;
  architecture: string;
  /** Top layer first. */
  fsLayers: { blobSum: Digest }[];
  /** Same length and order as `fsLayers`; `history[0].v1Compatibility` is the full v1 image JSON. */
  history: { v1Compatibility: string }[];
}

/** The gzipped empty tar (1024 zero bytes) that schema 1 uses for layers that change nothing. */
export const EMPTY_GZIP_LAYER = 'sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4' as Digest;

/**
 * The content of `EMPTY_GZIP_LAYER` (32 bytes, from distribution's `gzippedEmptyTar`). A registry that serves
 * a manifest made by `convertToSchema1` must be able to serve this blob in that repository.
 */
export const EMPTY_GZIP_LAYER_BYTES: Uint8Array = Uint8Array.from([
  31, 139, 8, 0, 0, 9, 110, 136, 0, 255, 98, 24, 5, 163, 96, 20, 140, 88, 0, 8, 0, 0, 255, 255, 46, 175, 181, 239, 0,
  4, 0, 0,
]);

// ---------------------------------------------------------------------------------------------------------
// Verification

/** Verifies and canonicalises a schema 1 manifest. Returns the canonical payload (signatures removed, per libtrust formatLength/formatTail) and the parsed object. Every signature must verify (ES256/ES384/ES512 with jwk EC keys; RS256 with RSA jwk optional), else MANIFEST_INVALID. Unsigned manifests: payload = bytes. Validates name, tag, architecture, fsLayers (non-empty, blobSum digests), history (same length, v1Compatibility strings). */
export function verifySchema1(bytes: Uint8Array): { payload: Uint8Array; manifest: Schema1Manifest; signed: boolean } {
  const outer = parseJsonObject(bytes, 'manifest');
  if (!has(outer, 'signatures')) {
    return { payload: bytes, manifest: validateSchema1(outer), signed: false };
  }
  const payload = verifySignatures(bytes, outer['signatures']);
  return { payload, manifest: validateSchema1(parseJsonObject(payload, 'manifest payload')), signed: true };
}

interface ParsedSignature {
  header: JsonObject;
  signature: string;
  protected: string;
}

/** libtrust `ParsePrettySignature` followed by `Verify`: rebuilds the canonical payload and checks every signature over it. */
function verifySignatures(bytes: Uint8Array, value: unknown): Uint8Array {
  if (!Array.isArray(value) || value.length === 0) throw invalid('manifest.signatures', 'must be a non-empty array');
  const sigs: ParsedSignature[] = value.map((s: unknown, i) => {
    const where = `signatures[${i}]`;
    if (!isObject(s)) throw invalid(where, 'must be an object');
    if (!isObject(s['header'])) throw invalid(`${where}.header`, 'must be an object');
    return { header: s['header'], signature: requireString(s, 'signature', where), protected: requireString(s, 'protected', where) };
  });

  // Every signature must describe the same cut of the served bytes.
  let formatLength: number | undefined;
  let formatTail: Buffer | undefined;
  sigs.forEach((s, i) => {
    const where = `signatures[${i}].protected`;
    const header = parseJsonObject(base64UrlDecode(s.protected, where), where);
    const length = header['formatLength'];
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
      throw invalid(`${where}.formatLength`, 'must be a non-negative integer');
    }
    const tail = base64UrlDecode(requireString(header, 'formatTail', where), `${where}.formatTail`);
    if (formatLength === undefined || formatTail === undefined) {
      formatLength = length;
      formatTail = tail;
    } else if (formatLength !== length || !formatTail.equals(tail)) {
      throw invalid(where, 'conflicting formatLength or formatTail');
    }
  });
  if (formatLength === undefined || formatTail === undefined || formatLength > bytes.length) {
    throw invalid('manifest.signatures', 'formatLength exceeds the manifest');
  }
  const payload = Buffer.concat([bytes.subarray(0, formatLength), formatTail]);
  const encodedPayload = base64UrlEncode(payload);

  sigs.forEach((s, i) => {
    const where = `signatures[${i}]`;
    const { key, hash, ec } = signatureKey(s.header, `${where}.header`);
    const signature = base64UrlDecode(s.signature, `${where}.signature`);
    const input = Buffer.from(`${s.protected}.${encodedPayload}`, 'ascii');
    let ok = false;
    try {
      ok = cryptoVerify(hash, input, ec ? { key, dsaEncoding: 'ieee-p1363' } : key, signature);
    } catch {
      ok = false;
    }
    if (!ok) throw invalid(where, 'signature does not verify');
  });
  return new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
}

const EC_ALGS: Record<string, { alg: string; hash: string }> = {
  'P-256': { alg: 'ES256', hash: 'sha256' },
  'P-384': { alg: 'ES384', hash: 'sha384' },
  'P-521': { alg: 'ES512', hash: 'sha512' },
};
const RSA_HASHES: Record<string, string> = { RS256: 'sha256', RS384: 'sha384', RS512: 'sha512' };
const NODE_CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** The public key and hash a JWS header names, from its `jwk` or the first certificate of `x5c`. */
function signatureKey(header: JsonObject, where: string): { key: KeyObject; hash: string; ec: boolean } {
  const alg = requireString(header, 'alg', where);
  let key: KeyObject;
  if (Array.isArray(header['x5c']) && header['x5c'].length > 0) {
    const first: unknown = header['x5c'][0];
    if (typeof first !== 'string') throw invalid(`${where}.x5c[0]`, 'must be a string');
    try {
      key = new X509Certificate(Buffer.from(first, 'base64')).publicKey;
    } catch (cause) {
      throw new ContentError('MANIFEST_INVALID', `${where}.x5c[0]: not a certificate`, undefined, { cause });
    }
  } else if (isObject(header['jwk'])) {
    key = jwkPublicKey(header['jwk'], `${where}.jwk`);
  } else {
    throw invalid(where, 'missing public key (jwk or x5c)');
  }
  if (key.asymmetricKeyType === 'ec') {
    const crv = NODE_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
    const ec = crv === undefined ? undefined : EC_ALGS[crv];
    if (ec === undefined || ec.alg !== alg) throw invalid(`${where}.alg`, `${alg} does not fit the key's curve`);
    return { key, hash: ec.hash, ec: true };
  }
  const hash = RSA_HASHES[alg];
  if (key.asymmetricKeyType !== 'rsa' || hash === undefined) throw invalid(`${where}.alg`, `unsupported algorithm ${alg}`);
  return { key, hash, ec: false };
}

function jwkPublicKey(jwk: JsonObject, where: string): KeyObject {
  const kty = requireString(jwk, 'kty', where);
  let material: JsonWebKey;
  if (kty === 'EC') {
    material = { kty, crv: requireString(jwk, 'crv', where), x: requireString(jwk, 'x', where), y: requireString(jwk, 'y', where) };
  } else if (kty === 'RSA') {
    material = { kty, n: requireString(jwk, 'n', where), e: requireString(jwk, 'e', where) };
  } else {
    throw invalid(`${where}.kty`, `unsupported key type ${JSON.stringify(kty)}`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: material, format: 'jwk' });
  } catch (cause) {
    throw new ContentError('MANIFEST_INVALID', `${where}: invalid key`, undefined, { cause });
  }
  // libtrust's UnmarshalPublicKeyJWK refuses a kid that does not match the key.
  if (has(jwk, 'kid') && requireString(jwk, 'kid', where) !== libtrustKeyId(key)) {
    throw invalid(`${where}.kid`, 'does not match the key');
  }
  return key;
}

/** Checks the manifest object's shape. Name and tag problems keep their own codes (NAME_INVALID, TAG_INVALID). */
function validateSchema1(o: JsonObject): Schema1Manifest {
  if (o['schemaVersion'] !== 1) throw invalid('manifest.schemaVersion', 'must be 1');
  // skopeo writes an empty name into dir: and other non-registry copies; any other name must be valid.
  const rawName = requireString(o, 'name', 'manifest');
  const name = rawName === '' ? '' : parseRepositoryName(rawName);
  const tag = requireString(o, 'tag', 'manifest');
  // distribution converts pulls by digest with an empty tag.
  if (tag !== '') parseTag(tag);
  const architecture = requireString(o, 'architecture', 'manifest');
  const fsLayers = o['fsLayers'];
  const history = o['history'];
  if (!Array.isArray(fsLayers) || fsLayers.length === 0) throw invalid('manifest.fsLayers', 'must be a non-empty array');
  if (!Array.isArray(history) || history.length !== fsLayers.length) {
    throw invalid('manifest.history', 'must be an array as long as fsLayers');
  }
  return {
    schemaVersion: 1,
    name,
    tag,
    architecture,
    fsLayers: fsLayers.map((l: unknown, i) => {
      const where = `fsLayers[${i}]`;
      if (!isObject(l)) throw invalid(where, 'must be an object');
      const s = requireString(l, 'blobSum', where);
      try {
        return { blobSum: parseDigest(s) };
      } catch (cause) {
        if (!(cause instanceof ContentError)) throw cause;
        throw new ContentError(cause.code, `${where}.blobSum: ${cause.message}`, undefined, { cause });
      }
    }),
    history: history.map((h: unknown, i) => {
      const where = `history[${i}]`;
      if (!isObject(h)) throw invalid(where, 'must be an object');
      return { v1Compatibility: requireString(h, 'v1Compatibility', where) };
    }),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Signing

/** Signs like libtrust: payload = JSON.stringify-equivalent of Go json.MarshalIndent(m, "", "   ") (3 spaces, Go escaping of <,>,& as \u003c etc.), one ES256 signature with a jwk header (crv P-256, kid = libtrust key id, kty EC, x, y), protected header {formatLength, formatTail, time}. Returns the prettyjws bytes. P-384/P-521 keys sign ES384/ES512 and RSA keys RS256, as libtrust does; other keys throw UNSUPPORTED. */
export function signSchema1(manifest: Schema1Manifest, privateKey: KeyObject, now: Date = new Date()): Uint8Array {
  const checked = validateSchema1(manifest as unknown as JsonObject);
  const ordered = {
    schemaVersion: 1,
    name: checked.name,
    tag: checked.tag,
    architecture: checked.architecture,
    fsLayers: checked.fsLayers.map((l) => ({ blobSum: l.blobSum })),
    history: checked.history.map((h) => ({ v1Compatibility: h.v1Compatibility })),
  };
  return signPayload(Buffer.from(goJson(ordered, '   '), 'utf8'), privateKey, now);
}

/** libtrust `NewJSONSignature(payload)`, `Sign(key)`, `PrettySignature("signatures")`. */
function signPayload(payload: Buffer, privateKey: KeyObject, now: Date): Uint8Array {
  if (privateKey.type !== 'private') throw new ContentError('UNSUPPORTED', 'signing needs a private key');
  // formatLength ends after the last non-space byte before the closing brace; the tail is usually "\n}".
  const close = lastNonSpace(payload, payload.length);
  const formatLength = lastNonSpace(payload, close) + 1;
  const formatTail = payload.subarray(formatLength);
  const protectedHeader = base64UrlEncode(
    Buffer.from(
      JSON.stringify({ formatLength, formatTail: base64UrlEncode(formatTail), time: now.toISOString().slice(0, 19) + 'Z' }),
    ),
  );
  const input = Buffer.from(`${protectedHeader}.${base64UrlEncode(payload)}`, 'ascii');
  const { alg, hash, jwk } = signingKey(privateKey);
  const signature = cryptoSign(hash, input, alg.startsWith('ES') ? { key: privateKey, dsaEncoding: 'ieee-p1363' } : privateKey);
  const signatures = [{ header: { jwk, alg }, signature: base64UrlEncode(signature), protected: protectedHeader }];
  const indent = '   ';
  const marshalled = goJson(signatures, indent).replace(/\n/g, `\n${indent}`);
  return Buffer.concat([
    payload.subarray(0, formatLength),
    Buffer.from(`,\n${indent}"signatures": ${marshalled}\n}`, 'utf8'),
  ]);
}

function lastNonSpace(b: Buffer, end: number): number {
  let i = end - 1;
  while (i >= 0 && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i--;
  return i;
}

function signingKey(privateKey: KeyObject): { alg: string; hash: string; jwk: Record<string, string> } {
  const publicKey = createPublicKey(privateKey);
  const exported = publicKey.export({ format: 'jwk' });
  const kid = libtrustKeyId(publicKey);
  if (privateKey.asymmetricKeyType === 'ec') {
    const crv = NODE_CURVES[privateKey.asymmetricKeyDetails?.namedCurve ?? ''];
    const ec = crv === undefined ? undefined : EC_ALGS[crv];
    if (crv === undefined || ec === undefined || exported.x === undefined || exported.y === undefined) {
      throw new ContentError('UNSUPPORTED', 'EC keys must use P-256, P-384 or P-521');
    }
    // Go marshals the jwk map with sorted keys.
    return { alg: ec.alg, hash: ec.hash, jwk: { crv, kid, kty: 'EC', x: exported.x, y: exported.y } };
  }
  if (privateKey.asymmetricKeyType === 'rsa' && exported.n !== undefined && exported.e !== undefined) {
    return { alg: 'RS256', hash: 'sha256', jwk: { e: exported.e, kid, kty: 'RSA', n: exported.n } };
  }
  throw new ContentError('UNSUPPORTED', `cannot sign schema 1 with a ${privateKey.asymmetricKeyType ?? 'unknown'} key`);
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** libtrust key id: base32 (RFC 4648, no padding) of the first 30 bytes of sha256(DER SubjectPublicKeyInfo), in 12 groups of 4 joined by ':'. A private key is reduced to its public half. */
export function libtrustKeyId(publicKey: KeyObject): string {
  const pub = publicKey.type === 'private' ? createPublicKey(publicKey) : publicKey;
  const sum = createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest().subarray(0, 30);
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const byte of sum) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  // 30 bytes are exactly 48 base32 characters: no remainder, no padding.
  return out.match(/.{4}/g)?.join(':') ?? out;
}

// ---------------------------------------------------------------------------------------------------------
// Conversion from schema 2

/** Renders a schema-2 image manifest (OCI or Docker v2) plus its config JSON as signed schema 1, exactly as distribution's convertSchema2Manifest (tooling.md §8): ids, parent chain, throwaway empty layers, top-first arrays, v1Compatibility of the top entry from the config. Throws MANIFEST_INVALID if the config's history/diff_ids don't fit the layers (when history is empty, synthesise one entry per layer, as newer tools produce configs without history). Unlike distribution, which silently drops layers that no history entry claims, a history with fewer non-empty entries than layers is refused. */
export function convertToSchema1(
  input: { name: string; tag: string; manifest: ParsedManifest; config: Uint8Array },
  privateKey: KeyObject,
  now: Date = new Date(),
): Uint8Array {
  const { manifest } = input;
  const name = parseRepositoryName(input.name);
  const tag = input.tag === '' ? '' : parseTag(input.tag);
  if (manifest.kind !== 'image' || manifest.config === undefined) throw invalid('manifest', 'only image manifests convert to schema 1');
  const configDigest = manifest.config.digest;
  if (digestOf(input.config, digestAlgorithm(configDigest)) !== configDigest) {
    throw invalid('config', `content does not match ${configDigest}`);
  }
  const config = parseJsonObject(input.config, 'config');
  const layers = manifest.layers.map((l) => l.digest);

  const rootfs = has(config, 'rootfs') ? config['rootfs'] : {};
  if (!isObject(rootfs)) throw invalid('config.rootfs', 'must be an object');
  const diffIds = has(rootfs, 'diff_ids') ? rootfs['diff_ids'] : [];
  if (!Array.isArray(diffIds) || diffIds.length !== layers.length) {
    throw invalid('config.rootfs.diff_ids', `must list one entry per layer (${layers.length})`);
  }
  const baseLayer = has(rootfs, 'base_layer') ? requireString(rootfs, 'base_layer', 'config.rootfs') : '';
  const architecture = has(config, 'architecture') ? requireString(config, 'architecture', 'config') : '';

  let history = readHistory(config);
  if (history.length === 0) {
    // Newer builders (ko, some BuildKit exporters) omit history; distribution refused these, we synthesise.
    const created = has(config, 'created') ? goTime(config['created'], 'config.created') : ZERO_TIME;
    history = layers.map(() => ({ created, createdBy: '', author: '', comment: '', emptyLayer: false }));
  }
  if (history.length === 0) throw invalid('config.history', 'empty history and no layers');
  if (history.filter((h) => !h.emptyLayer).length !== layers.length) {
    throw invalid('config.history', `non-empty entries must match the ${layers.length} layers`);
  }

  const n = history.length;
  const fsLayers: { blobSum: Digest }[] = new Array<{ blobSum: Digest }>(n);
  const v1: { v1Compatibility: string }[] = new Array<{ v1Compatibility: string }>(n);
  let parent = '';
  let layer = 0;
  const blobSumOf = (empty: boolean): Digest => (empty ? EMPTY_GZIP_LAYER : (layers[layer++] as Digest));

  history.slice(0, -1).forEach((h, i) => {
    const blobSum = blobSumOf(h.emptyLayer);
    const id = sha256Hex(`${digestHex(blobSum)} ${parent}`);
    if (i === 0 && baseLayer !== '') {
      // Windows base layers: distribution's parent for the first entry.
      parent = createHash('sha384').update(baseLayer).digest('hex').slice(0, 64);
    }
    const compat: Record<string, unknown> = { id };
    if (parent !== '') compat['parent'] = parent;
    if (h.comment !== '') compat['comment'] = h.comment;
    compat['created'] = h.created;
    compat['container_config'] = { Cmd: [h.createdBy] };
    if (h.author !== '') compat['author'] = h.author;
    if (h.emptyLayer) compat['throwaway'] = true;
    fsLayers[n - 1 - i] = { blobSum };
    v1[n - 1 - i] = { v1Compatibility: goJson(compat) };
    parent = id;
  });

  const top = history[n - 1] as HistoryEntry;
  const topBlobSum = blobSumOf(top.emptyLayer);
  const topId = createHash('sha256')
    .update(Buffer.from(`${digestHex(topBlobSum)} ${parent} `, 'utf8'))
    .update(input.config)
    .digest('hex');
  fsLayers[0] = { blobSum: topBlobSum };
  v1[0] = { v1Compatibility: v1ConfigFromConfig(input.config, topId, parent, top.emptyLayer) };

  return signSchema1({ schemaVersion: 1, name, tag, architecture, fsLayers, history: v1 }, privateKey, now);
}

interface HistoryEntry {
  created: string;
  createdBy: string;
  author: string;
  comment: string;
  emptyLayer: boolean;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

function readHistory(config: JsonObject): HistoryEntry[] {
  if (!has(config, 'history')) return [];
  const history = config['history'];
  if (!Array.isArray(history)) throw invalid('config.history', 'must be an array');
  return history.map((h: unknown, i) => {
    const where = `config.history[${i}]`;
    if (!isObject(h)) throw invalid(where, 'must be an object');
    const str = (key: string): string => (has(h, key) ? requireString(h, key, where) : '');
    const empty = has(h, 'empty_layer') ? h['empty_layer'] : false;
    if (typeof empty !== 'boolean') throw invalid(`${where}.empty_layer`, 'must be a boolean');
    return {
      created: has(h, 'created') ? goTime(h['created'], `${where}.created`) : ZERO_TIME,
      createdBy: str('created_by'),
      author: str('author'),
      comment: str('comment'),
      emptyLayer: empty,
    };
  });
}

const TIME_RE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

/** Re-renders an RFC 3339 time as Go's `time.Time` JSON encoding (RFC3339Nano) does. */
function goTime(value: unknown, where: string): string {
  const m = typeof value === 'string' ? TIME_RE.exec(value) : null;
  if (!m || Number.isNaN(Date.parse(value as string))) throw invalid(where, 'must be an RFC 3339 time');
  const [, base, fraction = '', zone] = m as unknown as [string, string, string | undefined, string];
  const frac = fraction.slice(0, 9).replace(/0+$/, '');
  const offset = zone === '+00:00' || zone === '-00:00' ? 'Z' : zone;
  return `${base}${frac === '' ? '' : `.${frac}`}${offset}`;
}

/**
 * distribution `MakeV1ConfigFromConfig`: the config's top-level members minus `rootfs` and `history`, plus
 * `id`, `parent` and `throwaway`, re-encoded as Go encodes `map[string]*json.RawMessage`: keys sorted
 * bytewise, each value's original text compacted (numbers and string escapes kept as written).
 */
function v1ConfigFromConfig(configBytes: Uint8Array, id: string, parent: string, throwaway: boolean): string {
  const text = Buffer.from(configBytes).toString('utf8');
  const members = new Map<string, string>();
  for (const [k, raw] of rawObjectMembers(text)) members.set(k, raw);
  members.delete('rootfs');
  members.delete('history');
  members.set('id', JSON.stringify(id));
  if (parent !== '') members.set('parent', JSON.stringify(parent));
  if (throwaway) members.set('throwaway', 'true');
  const keys = [...members.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `{${keys.map((k) => `${goJson(k)}:${goCompact(members.get(k) ?? 'null')}`).join(',')}}`;
}

// ---------------------------------------------------------------------------------------------------------
// Go encoding/json compatibility and base64url

/** Go's `compact` with HTML escaping: drops insignificant whitespace, keeps every token's text. */
function goCompact(raw: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (inString) {
      if (c === '\\') {
        out += c + (raw[++i] ?? '');
        continue;
      }
      if (c === '"') inString = false;
      out += GO_HTML_ESCAPES[c] ?? c;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') {
      out += c;
    }
  }
  return out;
}

/** Splits the text of a JSON object (already known to be valid) into decoded keys and raw value texts. */
function rawObjectMembers(s: string): [string, string][] {
  const out: [string, string][] = [];
  let i = skipSpace(s, 0) + 1;
  i = skipSpace(s, i);
  if (s[i] === '}') return out;
  for (;;) {
    i = skipSpace(s, i);
    const keyStart = i;
    i = skipString(s, i);
    const key = JSON.parse(s.slice(keyStart, i)) as string;
    i = skipSpace(s, skipSpace(s, i) + 1);
    const valueStart = i;
    i = skipValue(s, i);
    out.push([key, s.slice(valueStart, i)]);
    i = skipSpace(s, i);
    if (s[i] !== ',') return out;
    i++;
  }
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++;
  return i;
}

function skipString(s: string, i: number): number {
  for (i++; i < s.length && s[i] !== '"'; i++) if (s[i] === '\\') i++;
  return i + 1;
}

function skipValue(s: string, i: number): number {
  const c = s[i];
  if (c === '"') return skipString(s, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    while (i < s.length) {
      const ch = s[i];
      if (ch === '"') {
        i = skipString(s, i);
        continue;
      }
      if (ch === '{' || ch === '[') depth++;
      else if (ch === '}' || ch === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  while (i < s.length && !',}] \t\n\r'.includes(s[i] as string)) i++;
  return i;
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

function base64UrlEncode(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
}

/** Strict base64url without padding: other alphabets, padding and non-zero trailing bits are refused. */
function base64UrlDecode(s: string, where: string): Buffer {
  const decoded = Buffer.from(s, 'base64url');
  if (!/^[A-Za-z0-9_-]*$/.test(s) || decoded.toString('base64url') !== s) throw invalid(where, 'not canonical base64url');
  return decoded;
}
