/**
 * apk's database `lib/apk/db/installed`: records separated by blank lines, one `X:value` line per field with a
 * one-letter key (`P` name, `V` version, `A` arch, `o` origin = source package, `L` license, `T` description,
 * `c` commit; `F`/`R` file entries). Alpine's secdb keys on the origin. See shared/reference/tooling.md §5.4.
 */
import { ScanError } from '../errors.js';
import { purl, type Package } from './package.js';
import type { Distro } from './os-release.js';

export interface ApkEntry {
  name: string;
  version: string;
  arch?: string;
  origin?: string;
  license?: string;
  description?: string;
  commit?: string;
  /** Files as `dir/name`, from the `F:` and `R:` lines. */
  files: string[];
}

export function parseApkInstalled(text: string, where = 'apk installed'): ApkEntry[] {
  const out: ApkEntry[] = [];
  let cur: Partial<ApkEntry> & { files: string[] } = { files: [] };
  let dir = '';
  let lineNo = 0;
  const flush = () => {
    if (cur.name !== undefined || cur.version !== undefined) {
      if (!cur.name || !cur.version) throw new ScanError('PACKAGE_DB_INVALID', `${where} line ${lineNo}: a record without P: or V:`);
      out.push(cur as ApkEntry);
    }
    cur = { files: [] };
    dir = '';
  };
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.replace(/\r$/, '');
    if (line === '') {
      flush();
      continue;
    }
    if (line[1] !== ':') throw new ScanError('PACKAGE_DB_INVALID', `${where} line ${lineNo}: not an "X:value" line`);
    const v = line.slice(2);
    switch (line[0]) {
      case 'P':
        cur.name = v;
        break;
      case 'V':
        cur.version = v;
        break;
      case 'A':
        cur.arch = v;
        break;
      case 'o':
        cur.origin = v;
        break;
      case 'L':
        cur.license = v;
        break;
      case 'T':
        cur.description = v;
        break;
      case 'c':
        cur.commit = v;
        break;
      case 'F':
        dir = v;
        break;
      case 'R':
        cur.files.push(dir ? `${dir}/${v}` : v);
        break;
      default:
        break;
    }
  }
  flush();
  return out;
}

export function packageFromApk(e: ApkEntry, distro?: Distro): Package {
  const out: Package = {
    type: 'apk',
    name: e.name,
    version: e.version,
    sourceName: e.origin ?? e.name,
    sourceVersion: e.version,
    purl: purl('apk', distro?.namespace ?? 'alpine', e.name, e.version, { arch: e.arch, distro: distro?.purlDistro }),
  };
  if (e.arch) out.arch = e.arch;
  if (e.license) out.license = e.license;
  return out;
}
