/**
 * CVSS v3.0/v3.1 base score from a vector string (FIRST CVSS v3.1 specification §7.1), for OSV records that carry
 * only a vector. Severity bands (§5): Critical ≥ 9.0, High ≥ 7.0, Medium ≥ 4.0, Low > 0.
 */
import type { Severity } from './model.js';

const W: Record<string, Record<string, number>> = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  C: { H: 0.56, L: 0.22, N: 0 },
  I: { H: 0.56, L: 0.22, N: 0 },
  A: { H: 0.56, L: 0.22, N: 0 },
};

/** Rounds up to one decimal as the spec's Roundup does (avoiding floating-point surprises). */
function roundup(x: number): number {
  const i = Math.round(x * 100000);
  return i % 10000 === 0 ? i / 100000 : (Math.floor(i / 10000) + 1) / 10;
}

/** The base score of a `CVSS:3.x/AV:N/...` vector, or undefined when it is not one. */
export function cvss3BaseScore(vector: string): number | undefined {
  const parts = vector.split('/');
  if (!/^CVSS:3\.[01]$/.test(parts[0] ?? '')) return undefined;
  const m: Record<string, string> = {};
  for (const p of parts.slice(1)) {
    const [k, v] = p.split(':');
    if (k && v) m[k] = v;
  }
  const scope = m.S;
  const pr = m.PR;
  const get = (k: string) => W[k]?.[m[k] ?? ''];
  const av = get('AV'), ac = get('AC'), ui = get('UI'), c = get('C'), i = get('I'), a = get('A');
  if (av === undefined || ac === undefined || ui === undefined || c === undefined || i === undefined || a === undefined || (scope !== 'U' && scope !== 'C')) return undefined;
  const prW = pr === 'N' ? 0.85 : pr === 'L' ? (scope === 'C' ? 0.68 : 0.62) : pr === 'H' ? (scope === 'C' ? 0.5 : 0.27) : undefined;
  if (prW === undefined) return undefined;
  const iss = 1 - (1 - c) * (1 - i) * (1 - a);
  const impact = scope === 'U' ? 6.42 * iss : 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15;
  const exploitability = 8.22 * av * ac * prW * ui;
  if (impact <= 0) return 0;
  return scope === 'U' ? roundup(Math.min(impact + exploitability, 10)) : roundup(Math.min(1.08 * (impact + exploitability), 10));
}

export function severityOfScore(score: number): Severity {
  if (score >= 9) return 'Critical';
  if (score >= 7) return 'Important';
  if (score >= 4) return 'Moderate';
  if (score > 0) return 'Low';
  return 'Unknown';
}
