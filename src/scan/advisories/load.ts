/**
 * Reading advisory files in any supported format: a JSON file (OSV record or array, CSAF/VEX, Alpine secdb,
 * Debian tracker), a zip of OSV records (an OSV ecosystem export), or a directory of any of these (walked
 * recursively). The format is recognised from the JSON's shape.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ScanError } from '../errors.js';
import { parseAlpineSecdb } from './alpine.js';
import { parseCsaf } from './csaf.js';
import { parseDebianTracker } from './debian.js';
import type { Advisory } from './model.js';
import { parseOsv } from './osv.js';
import { readZip } from './zip.js';

/** Advisories in one parsed JSON value, whatever its format. */
export function parseAdvisoryJson(v: unknown, where: string): Advisory[] {
  if (Array.isArray(v)) return v.map((x, i) => parseOsv(x, `${where}[${i}]`));
  if (typeof v !== 'object' || v === null) throw new ScanError('ADVISORY_INVALID', `${where}: not a JSON object or array`);
  const o = v as Record<string, unknown>;
  if ('document' in o && 'vulnerabilities' in o) return parseCsaf(o, where);
  if ('distroversion' in o && 'packages' in o) return parseAlpineSecdb(o, where);
  if (typeof o.id === 'string' && ('affected' in o || 'modified' in o)) return [parseOsv(o, where)];
  const first = Object.values(o)[0];
  if (first && typeof first === 'object' && Object.keys(first).some((k) => /^(CVE|TEMP)-/.test(k))) return parseDebianTracker(o, where);
  throw new ScanError('ADVISORY_INVALID', `${where}: not OSV, CSAF, Alpine secdb or Debian tracker JSON`);
}

function parseJsonBytes(bytes: Buffer, where: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new ScanError('ADVISORY_INVALID', `${where}: not valid JSON`, undefined, { cause });
  }
}

/** Every advisory under `path` (file, zip or directory), yielded file by file. */
export async function* loadAdvisories(path: string): AsyncGenerator<Advisory> {
  const st = await stat(path).catch((cause: unknown) => {
    throw new ScanError('ADVISORY_INVALID', `${path}: cannot read advisory data`, undefined, { cause });
  });
  if (st.isDirectory()) {
    const names = (await readdir(path)).sort();
    for (const n of names) {
      if (n.startsWith('.')) continue;
      const p = join(path, n);
      const s = await stat(p);
      if (s.isDirectory() || n.endsWith('.json') || n.endsWith('.zip')) yield* loadAdvisories(p);
    }
    return;
  }
  if (path.endsWith('.zip')) {
    for await (const m of readZip(path)) {
      if (!m.name.endsWith('.json')) continue;
      yield* parseAdvisoryJson(parseJsonBytes(m.content, `${path}:${m.name}`), `${path}:${m.name}`);
    }
    return;
  }
  yield* parseAdvisoryJson(parseJsonBytes(await readFile(path), path), path);
}
