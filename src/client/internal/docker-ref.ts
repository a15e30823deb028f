/**
 * The `NAME[:TAG]` references docker-archive: takes, normalised as Docker does: a first component that has no
 * '.' or ':' and is not `localhost` is not a host, so `docker.io/` is prefixed, and a one-component name on
 * Docker Hub gets `library/`. A digest is refused (docker-archive cannot store one); no tag means `latest`.
 */
import { isTag, parseRepositoryName } from '../../content/reference.js';
import { ClientError } from '../errors.js';

export interface NamedTagged {
  /** `docker.io/library/busybox` */
  name: string;
  tag: string;
}

export function parseNamedTagged(s: string, where: string): NamedTagged {
  if (s.includes('@')) throw new ClientError('REFERENCE_INVALID', `${where}: ${JSON.stringify(s)}: a digest is not allowed here`);
  const slash = s.lastIndexOf('/');
  const colon = s.lastIndexOf(':');
  let name = s;
  let tag = 'latest';
  if (colon > slash) {
    name = s.slice(0, colon);
    tag = s.slice(colon + 1);
    if (!isTag(tag)) throw new ClientError('REFERENCE_INVALID', `${where}: invalid tag ${JSON.stringify(tag)}`);
  }
  const parts = name.split('/');
  const first = parts[0] ?? '';
  const hasHost = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const host = hasHost ? first : 'docker.io';
  let path = hasHost ? parts.slice(1).join('/') : name;
  if (host === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  if (hasHost && !/^[A-Za-z0-9.-]+(?::\d+)?$/.test(host)) throw new ClientError('REFERENCE_INVALID', `${where}: invalid registry host ${JSON.stringify(host)}`);
  try {
    parseRepositoryName(path);
  } catch (cause) {
    throw new ClientError('REFERENCE_INVALID', `${where}: invalid repository name ${JSON.stringify(name)}`, undefined, { cause });
  }
  return { name: `${host}/${path}`, tag };
}

export function formatNamedTagged(r: NamedTagged): string {
  return `${r.name}:${r.tag}`;
}
