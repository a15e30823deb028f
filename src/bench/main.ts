/**
 * Berth benchmark: runs the same phases against Berth and the reference registry (CNCF distribution,
 * `docker-registry`), both started here on loopback with temporary data, and prints a Markdown table
 * of medians with the Berth/reference ratio.
 *
 *   npm run bench -- [--quick] [--only push,pull,small,manifest,tags,catalog,bigrss]
 *                    [--registries both|berth|reference] [--reps 3] [--out FILE]
 *
 * Standalone phases (`scaleout`, `gc`) measure Berth on its own: several nodes on PostgreSQL + S3
 * behind nginx, and GC cost. They need PostgreSQL (and nginx), so they run only when named in `--only`
 * or with `--scaleout`.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HttpClient } from './client.js';
import { Results, type Context, type Phase, type StandaloneContext, type StandalonePhase, type Target } from './context.js';
import { MiB } from './data.js';
import { findWrk } from './loadgen.js';
import { bigBlobRss } from './phases/big-blob-rss.js';
import { blobPull } from './phases/blob-pull.js';
import { blobPush } from './phases/blob-push.js';
import { catalog } from './phases/catalog.js';
import { authCost } from './phases/auth.js';
import { scanBench } from './phases/scan.js';
import { copyBench } from './phases/copy.js';
import { gcCost } from './phases/gc.js';
import { manifestLoad } from './phases/manifest.js';
import { scaleOut } from './phases/scaleout.js';
import { smallBlobs } from './phases/small-blobs.js';
import { tagList } from './phases/tags.js';
import { renderReport } from './report.js';
import { LABEL, startBerth, startReference, type RegistryKind, type RunningRegistry } from './servers.js';

/** In run order. `bigrss` is last so the whole-run RSS figure is not dominated by it. */
const PHASES: Phase[] = [blobPush, blobPull, smallBlobs, manifestLoad, tagList, catalog, bigBlobRss];
/**
 * Phases that start their own processes: `copy` (berth copy vs skopeo copy), `auth` (what authentication
 * costs) and `scan` (scanner speed) run by default; `scaleout` and `gc`
 * need PostgreSQL and nginx, so they run by name or with --scaleout.
 */
const DEFAULT_STANDALONE: StandalonePhase[] = [copyBench, authCost, scanBench];
const SCALEOUT: StandalonePhase[] = [scaleOut, gcCost];
const STANDALONE = [...DEFAULT_STANDALONE, ...SCALEOUT];
const ALL_NAMES = [...PHASES, ...STANDALONE].map((p) => p.name);

const USAGE = `usage: npm run bench -- [options]
  --quick                 smoke run: 8/24 MiB blobs, 200 small blobs, 500 tags, 200 repos, 3 s load, 64 MiB big blob
  --only a,b              phases to run (default: ${[...PHASES, ...DEFAULT_STANDALONE].map((p) => p.name).join(',')}); also ${SCALEOUT.map((p) => p.name).join(',')}
  --scaleout              also run ${SCALEOUT.map((p) => p.name).join(' and ')} (PostgreSQL: BERTH_BENCH_POSTGRES_URL,
                          default postgres://postgres@127.0.0.1:5432/test; scaleout also needs nginx)
  --registries R          both (default) | berth | reference
  --reps N                repetitions per timed measurement, median reported (default 3)
  --out FILE              also write the Markdown report to FILE
  --reference-bin PATH    distribution binary (default /usr/bin/docker-registry)
  --berth-root DIR        Berth checkout to run (bin/berth.js and its built dist/); default this one
phases:
${PHASES.map((p) => `  ${p.name.padEnd(9)} ${p.description}`).join('\n')}
standalone phases (they start their own processes; ${SCALEOUT.map((p) => p.name).join(' and ')} only by name or with --scaleout):
${STANDALONE.map((p) => `  ${p.name.padEnd(9)} ${p.description}\n            needs: ${p.needs}`).join('\n')}`;

const log = (msg: string): void => {
  process.stderr.write(`${msg}\n`);
};

function referenceVersion(bin: string): string {
  try {
    return execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return bin;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      scaleout: { type: 'boolean', default: false },
      only: { type: 'string' },
      registries: { type: 'string', default: 'both' },
      reps: { type: 'string', default: '3' },
      out: { type: 'string' },
      'reference-bin': { type: 'string', default: '/usr/bin/docker-registry' },
      'berth-root': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const reps = Number(values.reps);
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be a positive integer, not ${values.reps}`);
  const wanted = values.only
    ? values.only.split(',').map((s) => s.trim()).filter(Boolean)
    : [...PHASES, ...DEFAULT_STANDALONE].map((p) => p.name);
  if (values.scaleout) wanted.push(...SCALEOUT.map((p) => p.name));
  const unknown = wanted.filter((n) => !ALL_NAMES.includes(n));
  if (unknown.length) throw new Error(`unknown phase(s) ${unknown.join(', ')}; known: ${ALL_NAMES.join(', ')}`);
  const phases = PHASES.filter((p) => wanted.includes(p.name));
  const standalone = STANDALONE.filter((p) => wanted.includes(p.name));
  const sel = values.registries;
  if (sel !== 'both' && sel !== 'berth' && sel !== 'reference') throw new Error(`--registries must be both, berth or reference`);
  const kinds: RegistryKind[] = sel === 'both' ? ['berth', 'reference'] : [sel];

  // dist/bench/main.js → repo root two levels up.
  const repoRoot = values['berth-root'] ? resolve(values['berth-root']) : resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const loadAtStart = os.loadavg()[0];
  const refBin = values['reference-bin'] as string;
  const startedAt = new Date();
  const missing: Partial<Record<RegistryKind, string>> = {};
  const regs: RunningRegistry[] = [];

  const stopAll = async (): Promise<void> => {
    await Promise.all(regs.splice(0).map((r) => r.stop().catch(() => undefined)));
  };
  const interruptCleanups = new Set<() => Promise<void>>();
  const onSignal = (): void => {
    log('interrupted; stopping registries');
    const cleanups = [...interruptCleanups].map((fn) => fn().catch(() => undefined));
    void Promise.all([stopAll(), ...cleanups]).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const results = new Results();
    const comparing = phases.length > 0;
    for (const kind of comparing ? kinds : []) {
      try {
        const reg = kind === 'berth' ? await startBerth(repoRoot) : await startReference(refBin);
        regs.push(reg);
        log(`${LABEL[kind]} ready at ${reg.base} (pid ${reg.pid}, data ${reg.dataDir})`);
      } catch (err) {
        const msg = (err as Error).message;
        missing[kind] = msg.split('\n')[0].replace(`${LABEL[kind]}: `, '');
        log(`\n*** ${LABEL[kind]} could not be started — continuing without it ***\n${msg}\n`);
      }
    }
    if (comparing && regs.length === 0 && standalone.length === 0) {
      log('no registry could be started; nothing to measure');
      return 1;
    }

    const targets: Target[] = regs.map((reg) => ({ reg, client: new HttpClient(reg.base, 64) }));
    const ctx: Context = { opts: { quick: values.quick as boolean, reps }, targets, results, failed: new Set(), log };
    const wholeRunPeak = new Map<RegistryKind, number>();

    for (const phase of regs.length ? phases : []) {
      log(`\n== ${phase.name}: ${phase.description}`);
      const resettable = new Map(targets.map((t) => [t.reg.kind, t.reg.resetPeak()]));
      await phase.run(ctx);
      if (phase.name === 'bigrss') continue; // it records its own RSS figure
      for (const t of targets) {
        const peak = t.reg.peakRss();
        if (peak === undefined) continue;
        wholeRunPeak.set(t.reg.kind, Math.max(wholeRunPeak.get(t.reg.kind) ?? 0, peak));
        if (resettable.get(t.reg.kind)) results.add('rss', `peak RSS during ${phase.name} phase`, 'MiB', 'lower', t.reg.kind, peak / MiB);
      }
    }
    for (const [kind, peak] of wholeRunPeak) {
      results.add('rss', `peak RSS, whole run${phases.some((p) => p.name === 'bigrss') ? ' (excluding bigrss)' : ''}`, 'MiB', 'lower', kind, peak / MiB);
    }
    for (const t of targets) t.client.close();
    // The comparison's servers are stopped first, so they take no CPU from the standalone phases.
    await stopAll();

    const sctx: StandaloneContext = {
      opts: { quick: values.quick as boolean, reps },
      repoRoot,
      results,
      log,
      onInterrupt(fn) {
        interruptCleanups.add(fn);
        return () => interruptCleanups.delete(fn);
      },
    };
    for (const phase of standalone) {
      log(`\n== ${phase.name}: ${phase.description}`);
      await phase.run(sctx);
    }

    const report = renderReport(results, {
      mode: values.quick ? 'quick' : 'full',
      reps,
      phases: [...phases, ...standalone].map((p) => p.name),
      kinds: comparing ? kinds : [],
      missing,
      referenceVersion: referenceVersion(refBin),
      loadTool: findWrk() ? 'GET: wrk -c 64 -t 2; HEAD: raw-socket generator, 64 connections (wrk cannot frame HEAD responses)' : 'raw-socket keep-alive generator, 64 connections (wrk not installed)',
      startedAt,
      durationS: (Date.now() - startedAt.getTime()) / 1000,
      loadAvg: [loadAtStart, os.loadavg()[0]],
    });
    process.stdout.write(`\n${report}`);
    if (values.out) {
      writeFileSync(values.out, report);
      log(`report written to ${values.out}`);
    }
    return 0;
  } finally {
    await stopAll();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
