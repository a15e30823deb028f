/** Renders results as a Markdown report: header, main table (medians and ratio), remarks, raw samples. */
import os from 'node:os';
import { median, type Metric, type Results } from './context.js';
import { LABEL, type RegistryKind } from './servers.js';

export interface ReportInfo {
  mode: 'quick' | 'full';
  reps: number;
  phases: string[];
  kinds: RegistryKind[];
  /** Why a registry is missing, if it is. */
  missing: Partial<Record<RegistryKind, string>>;
  referenceVersion: string;
  loadTool: string;
  startedAt: Date;
  durationS: number;
  /** 1-minute load average at start and end: other work on the machine shows up here. */
  loadAvg: [number, number];
}

function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '—';
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

function med(m: Metric, k: RegistryKind): number | undefined {
  const s = m.samples.get(k);
  return s && s.length ? median(s) : undefined;
}

function cell(m: Metric, k: RegistryKind): string {
  const v = med(m, k);
  if (v === undefined) return '—';
  const note = m.notes.get(k);
  return `${fmt(v)} ${m.unit}${note && note !== 'wrk' ? ` (${note})` : ''}`;
}

export function renderReport(results: Results, info: ReportInfo): string {
  const cpu = os.cpus();
  const lines: string[] = [];
  const comparing = info.kinds.length > 0;
  lines.push(
    `## ${comparing ? 'Berth vs reference' : 'Berth'} — ${info.mode === 'quick' ? 'QUICK smoke run (shrunk sizes)' : 'full run'}`,
    '',
  );
  lines.push(
    `- Date: ${info.startedAt.toISOString()} (run took ${Math.round(info.durationS)} s)`,
    `- Machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}; Node ${process.version}; load average ${info.loadAvg[0].toFixed(2)} at start, ${info.loadAvg[1].toFixed(2)} at end`,
    ...(comparing ? [`- Reference: ${info.referenceVersion}; load generator for manifest GET/HEAD: ${info.loadTool}`] : []),
    `- Phases: ${info.phases.join(', ')}; each timed figure is the median of ${info.reps} run${info.reps === 1 ? '' : 's'} unless marked "(1 run)"${comparing ? '; registries alternate per repetition' : ''}`,
  );
  for (const [k, why] of Object.entries(info.missing)) lines.push(`- **${LABEL[k as RegistryKind]} not measured:** ${why}`);
  lines.push('');
  if (!comparing || results.metrics.length === 0) {
    for (const r of results.remarks) lines.push(`- ${r}`);
    if (results.remarks.length) lines.push('');
    for (const s of results.sections) lines.push(s);
    return lines.join('\n');
  }
  lines.push('| Phase | Measurement | Berth | Reference | Berth / Ref | Better |');
  lines.push('|---|---|---:|---:|---:|:---:|');
  for (const m of results.metrics) {
    const b = med(m, 'berth');
    const r = med(m, 'reference');
    const ratio = b !== undefined && r !== undefined && r !== 0 ? `${(b / r).toFixed(2)}×` : '—';
    lines.push(`| ${m.phase} | ${m.label} | ${cell(m, 'berth')} | ${cell(m, 'reference')} | ${ratio} | ${m.better === 'higher' ? '↑ higher' : '↓ lower'} |`);
  }
  lines.push('');
  if (results.remarks.length) {
    lines.push('### Remarks', '');
    for (const r of results.remarks) lines.push(`- ${r}`);
    lines.push('');
  }
  lines.push('### Raw samples', '');
  for (const m of results.metrics) {
    const parts = info.kinds
      .filter((k) => m.samples.has(k))
      .map((k) => `${k}: ${(m.samples.get(k) ?? []).map(fmt).join(', ')}`);
    lines.push(`- ${m.phase} / ${m.label} (${m.unit}): ${parts.join('; ')}`);
  }
  lines.push('');
  for (const s of results.sections) lines.push(s);
  return lines.join('\n');
}
