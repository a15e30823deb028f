/**
 * Shape checks shared by the manifest parsers. Internal to `content/`: every failure is `MANIFEST_INVALID`,
 * with `where` (a JSON path such as `layers[2].size`) in the message.
 */
import { ContentError } from './errors.js';

export type JsonObject = { [key: string]: unknown };

export function invalid(where: string, problem: string): ContentError {
  return new ContentError('MANIFEST_INVALID', `${where}: ${problem}`);
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses UTF-8 JSON bytes that must hold an object. */
export function parseJsonObject(bytes: Uint8Array, where: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new ContentError('MANIFEST_INVALID', `${where}: not valid UTF-8 JSON`, undefined, { cause });
  }
  if (!isObject(value)) throw invalid(where, 'not a JSON object');
  return value;
}

/** True when `key` is present and not `null` (Go encoders write `null` for nil slices and maps). */
export function has(o: JsonObject, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key) && o[key] !== undefined && o[key] !== null;
}

export function requireString(o: JsonObject, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw invalid(`${where}.${key}`, 'must be a string');
  return v;
}

export function optionalString(o: JsonObject, key: string, where: string): string | undefined {
  return has(o, key) ? requireString(o, key, where) : undefined;
}

export function optionalStringArray(o: JsonObject, key: string, where: string): string[] | undefined {
  if (!has(o, key)) return undefined;
  const v = o[key];
  if (!Array.isArray(v) || !v.every((s): s is string => typeof s === 'string')) {
    throw invalid(`${where}.${key}`, 'must be an array of strings');
  }
  return [...v];
}

export function optionalAnnotations(o: JsonObject, key: string, where: string): Record<string, string> | undefined {
  if (!has(o, key)) return undefined;
  const v = o[key];
  if (!isObject(v)) throw invalid(`${where}.${key}`, 'must be an object');
  const out: Record<string, string> = {};
  for (const [k, s] of Object.entries(v)) {
    if (typeof s !== 'string') throw invalid(`${where}.${key}.${k}`, 'must be a string');
    out[k] = s;
  }
  return out;
}

// image-spec schema/defs-descriptor.json "mediaType": RFC 6838 §4.2 restricted names. Bounded and
// separated by '/', so it cannot backtrack badly.
const MEDIA_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

export function isMediaType(s: string): boolean {
  return MEDIA_TYPE_RE.test(s);
}

export function requireMediaType(o: JsonObject, key: string, where: string): string {
  const v = requireString(o, key, where);
  if (!isMediaType(v)) throw invalid(`${where}.${key}`, `invalid media type ${JSON.stringify(v.slice(0, 200))}`);
  return v;
}

export function optionalMediaType(o: JsonObject, key: string, where: string): string | undefined {
  return has(o, key) ? requireMediaType(o, key, where) : undefined;
}
