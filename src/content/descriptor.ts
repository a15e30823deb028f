/**
 * Content descriptors: https://github.com/opencontainers/image-spec/blob/v1.1.1/descriptor.md
 */
import { ContentError } from './errors.js';
import { digestAlgorithm, digestOf, parseDigest, type Digest } from './digest.js';
import {
  has,
  invalid,
  isObject,
  optionalAnnotations,
  optionalMediaType,
  optionalString,
  optionalStringArray,
  requireMediaType,
  requireString,
  type JsonObject,
} from './json.js';

/** https://github.com/opencontainers/image-spec/blob/v1.1.1/image-index.md#image-index-property-descriptions */
export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  features?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  /** Standard base64 of the whole content; its length and digest match `size` and `digest`. */
  data?: string;
  artifactType?: string;
  platform?: Platform;
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Validates one descriptor from a parsed manifest and returns a copy holding only the known fields (unknown
 * fields are ignored, as image-spec requires). `where` names the descriptor in error messages (`layers[2]`).
 *
 * Throws `DIGEST_INVALID` when `digest` is a string but not a valid digest, and `MANIFEST_INVALID` for every
 * other problem: wrong JSON types, a media type that is not RFC 6838, a negative or unsafe size, a malformed
 * URL, or embedded `data` that is not base64 or does not match `size` and `digest`.
 */
export function parseDescriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw invalid(where, 'descriptor must be an object');
  const mediaType = requireMediaType(value, 'mediaType', where);
  const digest = parseDescriptorDigest(requireString(value, 'digest', where), where);
  const size = value['size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`${where}.size`, 'must be a non-negative integer');
  }
  const d: Descriptor = { mediaType, digest, size };

  const urls = optionalStringArray(value, 'urls', where);
  if (urls) {
    urls.forEach((u, i) => {
      if (!URL.canParse(u)) throw invalid(`${where}.urls[${i}]`, 'not a valid URL');
    });
    d.urls = urls;
  }
  const annotations = optionalAnnotations(value, 'annotations', where);
  if (annotations) d.annotations = annotations;
  const data = optionalString(value, 'data', where);
  if (data !== undefined) {
    checkData(data, d, where);
    d.data = data;
  }
  const artifactType = optionalMediaType(value, 'artifactType', where);
  if (artifactType !== undefined) d.artifactType = artifactType;
  if (has(value, 'platform')) d.platform = parsePlatform(value['platform'], `${where}.platform`);
  return d;
}

function parseDescriptorDigest(s: string, where: string): Digest {
  try {
    return parseDigest(s);
  } catch (cause) {
    if (cause instanceof ContentError) {
      throw new ContentError(cause.code, `${where}.digest: ${cause.message}`, undefined, { cause });
    }
    throw cause;
  }
}

function checkData(data: string, d: Descriptor, where: string): void {
  if (data.length % 4 !== 0 || !BASE64_RE.test(data)) throw invalid(`${where}.data`, 'not standard base64');
  const bytes = Buffer.from(data, 'base64');
  if (bytes.length !== d.size) {
    throw invalid(`${where}.data`, `decodes to ${bytes.length} bytes, size is ${d.size}`);
  }
  if (digestOf(bytes, digestAlgorithm(d.digest)) !== d.digest) {
    throw invalid(`${where}.data`, `content does not match digest ${d.digest}`);
  }
}

function parsePlatform(value: unknown, where: string): Platform {
  if (!isObject(value)) throw invalid(where, 'must be an object');
  const p: Platform = { architecture: requireString(value, 'architecture', where), os: requireString(value, 'os', where) };
  copyString(value, 'os.version', where, p);
  const osFeatures = optionalStringArray(value, 'os.features', where);
  if (osFeatures) p['os.features'] = osFeatures;
  copyString(value, 'variant', where, p);
  const features = optionalStringArray(value, 'features', where);
  if (features) p.features = features;
  return p;
}

function copyString(o: JsonObject, key: 'os.version' | 'variant', where: string, p: Platform): void {
  const v = optionalString(o, key, where);
  if (v !== undefined) p[key] = v;
}
