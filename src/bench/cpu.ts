/**
 * CPU accounting from /proc, so a scale-out figure can be read next to how busy the two cores were:
 * the whole machine (/proc/stat) and chosen process trees (utime + stime of a pid and its children).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

export interface MachineCpu {
  busy: number;
  total: number;
}

/** Cumulative jiffies of all CPUs: busy (everything but idle and iowait) and total. */
export function machineCpu(): MachineCpu | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest is already in user)
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Busy share of all cores between two readings, 0..1. */
export function machineBusy(a: MachineCpu | undefined, b: MachineCpu | undefined): number | undefined {
  if (!a || !b || b.total <= a.total) return undefined;
  return (b.busy - a.busy) / (b.total - a.total);
}

function statOf(pid: number): { comm: string; ppid: number; ticks: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const comm = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return { comm, ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

/** CPU seconds used so far by `pid` and its direct children (an nginx master and its worker). */
export function treeCpuSeconds(pid: number): number {
  let ticks = statOf(pid)?.ticks ?? 0;
  try {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const st = statOf(Number(name));
      if (st && st.ppid === pid) ticks += st.ticks;
    }
  } catch {
    // no /proc: report the pid alone
  }
  return ticks / clockTicks();
}

/**
 * CPU ticks so far of every process whose command name is `comm` (all PostgreSQL backends, say), by pid.
 * Compare two readings with `commCpuDelta`, which counts only processes present in both.
 */
export function commCpuTicks(comm: string): Map<number, number> {
  const out = new Map<number, number>();
  try {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const st = statOf(Number(name));
      if (st && st.comm === comm) out.set(Number(name), st.ticks);
    }
  } catch {
    // no /proc
  }
  return out;
}

/** CPU seconds between two `commCpuTicks` readings, over the processes alive at both. */
export function commCpuDelta(a: Map<number, number>, b: Map<number, number>): number {
  let ticks = 0;
  for (const [pid, t] of b) {
    const t0 = a.get(pid);
    if (t0 !== undefined && t >= t0) ticks += t - t0;
  }
  return ticks / clockTicks();
}
