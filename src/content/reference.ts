/**
 * Repository names and tags, as the distribution-spec defines them.
 * https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-manifests
 */
import { ContentError } from './errors.js';

/** Longest accepted repository name. Clients cap host + '/' + name at 255, so the name alone can be no longer. */
export const MAX_NAME_LENGTH = 255;

/**
 * Returns `s` unchanged if it matches the distribution-spec name grammar
 * `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*` and is at most 255 characters;
 * otherwise throws `NAME_INVALID`. Runs in linear time on any input.
 */
export function parseRepositoryName(s: string): string {
  if (s.length === 0 || s.length > MAX_NAME_LENGTH || !s.split('/').every(isPathComponent)) {
    throw new ContentError('NAME_INVALID', `invalid repository name ${JSON.stringify(s.slice(0, 300))}`);
  }
  return s;
}

function isAlnum(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
}

// A hand-written scan instead of the spec's regex: the regex engine backtracks on long runs of separators,
// and this must stay linear for hostile input.
function isPathComponent(part: string): boolean {
  let i = 0;
  while (i < part.length) {
    // An alphanumeric run.
    const start = i;
    while (i < part.length && isAlnum(part.charCodeAt(i))) i++;
    if (i === start) return false;
    if (i === part.length) return true;
    // A separator: '.', '_', '__', or one or more '-'; an alphanumeric must follow.
    const c = part[i];
    if (c === '.') i++;
    else if (c === '_') i += part[i + 1] === '_' ? 2 : 1;
    else if (c === '-') while (part[i] === '-') i++;
    else return false;
    if (i === part.length) return false;
  }
  return false;
}

const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Returns `s` unchanged if it matches `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`; otherwise throws `TAG_INVALID`. */
export function parseTag(s: string): string {
  if (!TAG_RE.test(s)) throw new ContentError('TAG_INVALID', `invalid tag ${JSON.stringify(s.slice(0, 200))}`);
  return s;
}

/** True when `s` is a valid tag; never throws. A reference that is neither a tag nor a digest is invalid. */
export function isTag(s: string): boolean {
  return TAG_RE.test(s);
}
