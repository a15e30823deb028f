/**
 * What every phase gets: the running registries, the options, and a place to record results.
 * Results are kept as raw samples per registry; the table shows the median of each.
 */
import { HttpClient } from './client.js';
import type { RegistryKind, RunningRegistry } from './servers.js';

export interface BenchOptions {
  quick: boolean;
  /** Repetitions of each timed measurement (median is reported). */
  reps: number;
}

export interface Target {
  readonly reg: RunningRegistry;
  readonly client: HttpClient;
}

export type Better = 'higher' | 'lower';

export interface Metric {
  readonly phase: string;
  readonly label: string;
  readonly unit: string;
  readonly better: Better;
  readonly samples: Map<RegistryKind, number[]>;
  readonly notes: Map<RegistryKind, string>;
}

export class Results {
  readonly metrics: Metric[] = [];
  /** Free-form remarks printed under the table (what each registry needed, fallbacks taken...). */
  readonly remarks: string[] = [];
  /**
   * Whole Markdown sections from the standalone phases (`scaleout`, `gc`), which do not compare Berth
   * with the reference and so have tables of their own. Printed after the comparison.
   */
  readonly sections: string[] = [];

  metric(phase: string, label: string, unit: string, better: Better): Metric {
    let m = this.metrics.find((x) => x.phase === phase && x.label === label);
    if (!m) {
      m = { phase, label, unit, better, samples: new Map(), notes: new Map() };
      this.metrics.push(m);
    }
    return m;
  }

  add(phase: string, label: string, unit: string, better: Better, kind: RegistryKind, value: number): void {
    const m = this.metric(phase, label, unit, better);
    const list = m.samples.get(kind) ?? [];
    list.push(value);
    m.samples.set(kind, list);
  }

  note(phase: string, label: string, kind: RegistryKind, text: string): void {
    const m = this.metrics.find((x) => x.phase === phase && x.label === label);
    if (m) m.notes.set(kind, text);
  }
}

export interface Context {
  readonly opts: BenchOptions;
  readonly targets: Target[];
  readonly results: Results;
  /** `${phase}/${kind}` for each target that failed in a phase. */
  readonly failed: Set<string>;
  log(msg: string): void;
}

export interface Phase {
  readonly name: string;
  readonly description: string;
  run(ctx: Context): Promise<void>;
}

function fail(ctx: Context, phase: string, t: Target, err: unknown): void {
  const msg = err instanceof Error ? err.message : String(err);
  ctx.failed.add(`${phase}/${t.reg.kind}`);
  ctx.results.remarks.push(`**${phase}** failed on ${t.reg.kind}: ${msg.split('\n')[0]}`);
  ctx.log(`  ! ${phase} failed on ${t.reg.kind}: ${msg}`);
}

function live(ctx: Context, phase: string, targets: readonly Target[]): Target[] {
  return targets.filter((t) => !ctx.failed.has(`${phase}/${t.reg.kind}`));
}

/**
 * Runs `fn` `reps` times for every target, alternating the order (A,B then B,A ...) so that drift
 * on a noisy machine does not always favour the same registry. A target that throws is reported
 * and skipped for the rest of the phase; the other target carries on.
 */
export async function alternate(ctx: Context, phase: string, reps: number, fn: (t: Target, rep: number) => Promise<void>): Promise<void> {
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 === 0 ? ctx.targets : [...ctx.targets].reverse();
    for (const t of live(ctx, phase, order)) {
      try {
        await fn(t, rep);
      } catch (err) {
        fail(ctx, phase, t, err);
      }
    }
  }
}

/** Runs untimed setup for each target; failures are handled as in `alternate`. */
export async function eachTarget(ctx: Context, phase: string, fn: (t: Target) => Promise<void>): Promise<void> {
  await alternate(ctx, phase, 1, (t) => fn(t));
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Seconds elapsed while `fn` runs. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/**
 * What a standalone phase gets. These phases start their own processes (several Berth nodes, nginx, an
 * S3 server) or open the registry in-process, instead of measuring the two registries `main.ts` started.
 */
export interface StandaloneContext {
  readonly opts: BenchOptions;
  /** Checkout whose build is measured (bin/berth.js, dist/). */
  readonly repoRoot: string;
  readonly results: Results;
  log(msg: string): void;
  /**
   * Registers cleanup to run if the bench is interrupted (SIGINT/SIGTERM) while the phase runs, so the
   * processes it started do not outlive it. Returns the function that unregisters it.
   */
  onInterrupt(fn: () => Promise<void>): () => void;
}

/** A phase outside the Berth-vs-reference comparison; it writes its own report section. */
export interface StandalonePhase {
  readonly name: string;
  readonly description: string;
  /** What it needs beyond Berth's build, for `--help` and for the "not measured" note. */
  readonly needs: string;
  run(ctx: StandaloneContext): Promise<void>;
}
