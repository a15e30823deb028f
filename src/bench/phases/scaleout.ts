/**
 * Scale-out: one Berth node versus two, on PostgreSQL + S3, behind nginx running the shipped
 * deploy/nginx/berth.conf (through `startNginx` from src/testing/nginx.ts, which replaces only the
 * marked node and listen lines).
 *
 * Set-up (untimed): the test S3 server (s3rver, `startS3Server()`) in a child process of its own, a fresh
 * PostgreSQL schema, two `berth serve` nodes sharing both (config as in src/app/multinode.test.ts), and
 * two nginx instances with the shipped config: one whose upstream lists node 0 only, one listing both
 * nodes. The same two nodes serve both, so "1 node" vs "2 nodes" differs only in nginx's upstream list.
 *
 * Measured through nginx, alternating the two set-ups on each repetition:
 * - manifest GET by tag, 64 connections (wrk -c 64 -t 2, as in the `manifest` phase), plus the same
 *   load straight at node 0 without nginx, to show what the proxy hop costs;
 * - aggregate blob push throughput: 16 concurrent monolithic pushes of 16 MiB (POST + one streamed PUT).
 *
 * Next to each figure: how busy the machine's cores were, and the CPU each node, nginx and the S3 server
 * used, from /proc. All of them, PostgreSQL and the load generator share this machine's cores.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { uniqueSchema } from '../../metadata/postgres/testing.js';
import { hasNginx, startNginx, type RunningNginx } from '../../testing/nginx.js';
import { startBerthProcess, type BerthProcess } from '../../testing/processes.js';
import { HttpClient, header } from '../client.js';
import { median, timed, type StandalonePhase } from '../context.js';
import { commCpuDelta, commCpuTicks, machineBusy, machineCpu, treeCpuSeconds } from '../cpu.js';
import { KiB, MiB, blobDigest, formatBytes, type BlobSpec } from '../data.js';
import { findWrk, runLoad } from '../loadgen.js';
import { OCI_MANIFEST, pushMonolithic, pushSmallImage, smallImage, smallPushModeOf } from '../ops.js';
import { benchPostgresUrl, dropSchema, probePostgres, redactUrl } from '../postgres.js';

const CONNECTIONS = 64;

interface S3Child {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts dist/bench/s3-child.js and reads its one JSON line. */
async function startS3Child(): Promise<S3Child> {
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', 's3-child.js');
  const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const info = await new Promise<Omit<S3Child, 'child' | 'stop'>>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)) as Omit<S3Child, 'child' | 'stop'>);
    });
    void exited.then(() => reject(new Error(`S3 server exited before it was ready: ${err.trim()}`)));
  });
  return {
    ...info,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
        if (!done) {
          child.kill('SIGKILL');
          await exited;
        }
      }
    },
  };
}

interface Setup {
  label: string;
  url: string;
  client: HttpClient;
}

interface Sample {
  value: number;
  /** Machine busy share (0..1) while measuring. */
  busy?: number;
  /** CPU share (cores) per process tree while measuring. */
  cpu: Record<string, number>;
}

/** A process tree (pid and its children), or every process with this command name. */
interface Watched {
  name: string;
  pid?: number;
  comm?: string;
}

type Reading = number | Map<number, number>;

function cpuReading(w: Watched): Reading {
  if (w.comm) return commCpuTicks(w.comm);
  return w.pid !== undefined && w.pid > 0 ? treeCpuSeconds(w.pid) : 0;
}

function cpuDelta(a: Reading, b: Reading): number {
  return typeof a === 'number' || typeof b === 'number' ? Number(b) - Number(a) : commCpuDelta(a, b);
}

async function measure(watched: Watched[], fn: () => Promise<number>): Promise<Sample> {
  const m0 = machineCpu();
  const c0 = watched.map(cpuReading);
  const t0 = process.hrtime.bigint();
  const value = await fn();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const m1 = machineCpu();
  const cpu: Record<string, number> = {};
  watched.forEach((w, i) => (cpu[w.name] = cpuDelta(c0[i], cpuReading(w)) / secs));
  return { value, busy: machineBusy(m0, m1), cpu };
}

function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '—';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  if (Math.abs(x) >= 100) return x.toFixed(0);
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** The sample whose value is the median (lower middle for an even count), for its CPU figures. */
function medianSample(samples: Sample[]): Sample | undefined {
  if (!samples.length) return undefined;
  const s = [...samples].sort((a, b) => a.value - b.value);
  return s[(s.length - 1) >> 1];
}

function cpuNote(s: Sample | undefined): string {
  if (!s) return '';
  const parts = Object.entries(s.cpu).map(([k, v]) => `${k} ${Math.round(v * 100)} %`);
  return `machine ${s.busy === undefined ? '?' : Math.round(s.busy * 100)} % busy of ${os.cpus().length} cores; ${parts.join(', ')}`;
}

export const scaleOut: StandalonePhase = {
  name: 'scaleout',
  description: '1 vs 2 Berth nodes on PostgreSQL + S3 behind nginx (shipped config): manifest GET/s, blob push MiB/s',
  needs: 'PostgreSQL (BERTH_BENCH_POSTGRES_URL), nginx, s3rver (dev dependency), a build',
  async run(ctx) {
    const section: string[] = ['## Scale-out: 1 node vs 2 nodes on PostgreSQL + S3, behind nginx', ''];
    const pgUrl = benchPostgresUrl();
    const notMeasured = (why: string): void => {
      ctx.log(`  scaleout not measured: ${why}`);
      section.push(`**Not measured:** ${why}`, '');
      ctx.results.sections.push(section.join('\n'));
    };
    if (!existsSync(join(ctx.repoRoot, 'dist', 'cli', 'main.js'))) return notMeasured('Berth is not built (dist/cli/main.js is missing)');
    if (!hasNginx) return notMeasured('nginx is not installed');
    const probe = await probePostgres(pgUrl);
    if (probe.error) return notMeasured(`PostgreSQL at ${redactUrl(pgUrl)} cannot be reached: ${probe.error}`);

    const quick = ctx.opts.quick;
    const reps = ctx.opts.reps;
    const durationS = quick ? 3 : 10;
    const pushCount = quick ? 8 : 16;
    const pushSize = quick ? 8 * MiB : 16 * MiB;

    const dir = await mkdtemp(join(tmpdir(), 'berth-bench-scaleout-'));
    const schema = uniqueSchema('bench_scaleout');
    let s3: S3Child | undefined;
    const nodes: BerthProcess[] = [];
    const proxies: RunningNginx[] = [];
    const setups: Setup[] = [];
    const stopProcesses = async (): Promise<void> => {
      await Promise.all(proxies.map((p) => p.stop().catch(() => undefined)));
      await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
      await s3?.stop().catch(() => undefined);
      await dropSchema(pgUrl, schema);
    };
    const unregister = ctx.onInterrupt(stopProcesses);
    try {
      s3 = await startS3Child();
      ctx.log(`  S3 server (s3rver, pid ${s3.child.pid}) at ${s3.endpoint}, bucket ${s3.bucket}`);
      const dbUrl = new URL(pgUrl);
      dbUrl.searchParams.set('schema', schema);
      const configFile = join(dir, 'config.yaml');
      await writeFile(
        configFile,
        `database: ${dbUrl.toString()}
storage:
  driver: s3
  s3:
    bucket: ${s3.bucket}
    endpoint: ${s3.endpoint}
    region: ${s3.region}
    forcePathStyle: true
    accessKeyId: ${s3.accessKeyId}
    secretAccessKey: ${s3.secretAccessKey}
schema1:
  keyFile: ${join(dir, 'schema1.pem')}
log:
  requests: false
gc:
  interval: "0"
`,
      );
      // One after another, so the first creates the shared schema-1 key and migrates the schema.
      for (let i = 0; i < 2; i++) {
        const node = await startBerthProcess(['--config', configFile, '--data', join(dir, `node${i}`)]);
        nodes.push(node);
        ctx.log(`  node ${i} (pid ${node.child.pid}) at ${node.url}`);
      }
      const hosts = nodes.map((n) => new URL(n.url).host);
      proxies.push(await startNginx(join(dir, 'one'), hosts.slice(0, 1)));
      proxies.push(await startNginx(join(dir, 'two'), hosts));
      setups.push({ label: '1 node', url: proxies[0].url, client: new HttpClient(proxies[0].url, 64) });
      setups.push({ label: '2 nodes', url: proxies[1].url, client: new HttpClient(proxies[1].url, 64) });
      ctx.log(`  nginx → node 0 at ${proxies[0].url}; nginx → nodes 0,1 at ${proxies[1].url}`);

      const watched: Watched[] = [
        { name: 'node 0', pid: nodes[0].child.pid ?? -1 },
        { name: 'node 1', pid: nodes[1].child.pid ?? -1 },
        { name: 'nginx', pid: -1 },
        { name: 'S3 server', pid: s3.child.pid ?? -1 },
        { name: 'PostgreSQL (all its processes)', comm: 'postgres' },
      ];
      const watchFor = (i: number): Watched[] => watched.map((w) => (w.name === 'nginx' ? { name: 'nginx', pid: proxies[i].child.pid ?? -1 } : w));

      // --- manifest GET -------------------------------------------------------------------------
      const repo = 'bench/scaleout';
      const img = smallImage('scaleout-manifest', [4 * KiB]);
      const c = setups[1].client;
      await pushSmallImage(c, repo, img, 'latest', await smallPushModeOf(c, repo));
      // Every way in must answer the same manifest before any load is counted.
      for (const base of [...setups.map((s) => s.url), ...nodes.map((n) => n.url)]) {
        const probeClient = new HttpClient(base, 1);
        const res = await probeClient.request('GET', `/v2/${repo}/manifests/latest`, { headers: { Accept: OCI_MANIFEST } });
        probeClient.close();
        if (res.status !== 200 || !res.body.equals(img.manifest) || header(res, 'docker-content-digest') !== img.manifestDigest) {
          throw new Error(`GET ${base}/v2/${repo}/manifests/latest: HTTP ${res.status}, wrong body or digest`);
        }
      }
      const remarks: string[] = [];
      const manifestUrl = (base: string): string => `${base}/v2/${repo}/manifests/latest`;
      const load = async (base: string, seconds: number): Promise<number> => {
        const r = await runLoad({ url: manifestUrl(base), method: 'GET', headers: { Accept: OCI_MANIFEST }, connections: CONNECTIONS, threads: 2, durationS: seconds });
        if (r.bad > 0) remarks.push(`manifest GET via ${base}: ${r.bad} of ${r.requests} requests failed or non-2xx`);
        return r.rps;
      };
      // Warm-up (JIT, connection pools of nginx, nodes and PostgreSQL): not recorded.
      for (const s of setups) await load(s.url, 2);
      await load(nodes[0].url, 2);

      const getSamples = new Map<string, Sample[]>([['1 node', []], ['2 nodes', []], ['direct', []]]);
      for (let rep = 0; rep < reps; rep++) {
        const order = rep % 2 === 0 ? [0, 1] : [1, 0];
        for (const i of order) {
          const s = await measure(watchFor(i), () => load(setups[i].url, durationS));
          getSamples.get(setups[i].label)?.push(s);
          ctx.log(`  manifest GET via nginx, ${setups[i].label}: ${s.value.toFixed(0)} req/s (${cpuNote(s)})`);
        }
        const d = await measure(watchFor(0), () => load(nodes[0].url, durationS));
        getSamples.get('direct')?.push(d);
        ctx.log(`  manifest GET straight to node 0 (no nginx): ${d.value.toFixed(0)} req/s (${cpuNote(d)})`);
      }

      // --- blob push ----------------------------------------------------------------------------
      const pushSamples = new Map<string, Sample[]>([['1 node', []], ['2 nodes', []]]);
      const totalMiB = (pushCount * pushSize) / MiB;
      for (let rep = 0; rep < reps; rep++) {
        const order = rep % 2 === 0 ? [0, 1] : [1, 0];
        for (const i of order) {
          const specs: BlobSpec[] = Array.from({ length: pushCount }, (_, k) => ({ seed: `scaleout/push/${i}/${rep}/${k}`, size: pushSize }));
          const digests = specs.map((sp) => blobDigest(sp)); // before timing
          const client = setups[i].client;
          const s = await measure(watchFor(i), async () => {
            const secs = await timed(() => Promise.all(specs.map((sp, k) => pushMonolithic(client, 'bench/scaleout-push', sp, digests[k]))));
            return totalMiB / secs;
          });
          pushSamples.get(setups[i].label)?.push(s);
          ctx.log(`  ${pushCount} × ${formatBytes(pushSize)} concurrent pushes via nginx, ${setups[i].label}: ${s.value.toFixed(1)} MiB/s (${cpuNote(s)})`);
        }
      }
      // Every pushed blob must be readable through the other set-up (shared S3 + PostgreSQL).
      const check = { seed: `scaleout/push/1/0/0`, size: pushSize };
      const head = await setups[0].client.request('HEAD', `/v2/bench/scaleout-push/blobs/${blobDigest(check)}`);
      if (head.status !== 200) remarks.push(`a blob pushed through the 2-node set-up answered HEAD ${head.status} through the 1-node set-up`);

      // --- report -------------------------------------------------------------------------------
      const med = (xs: Sample[] | undefined): number | undefined => (xs && xs.length ? median(xs.map((x) => x.value)) : undefined);
      const rows: Array<[string, string, Sample[] | undefined, Sample[] | undefined]> = [
        [`manifest GET by tag through nginx, ${CONNECTIONS} conns (${findWrk() ? 'wrk -c 64 -t 2' : 'raw-socket generator'})`, 'req/s', getSamples.get('1 node'), getSamples.get('2 nodes')],
        [`blob push through nginx, ${pushCount} concurrent monolithic ${formatBytes(pushSize)} pushes (aggregate)`, 'MiB/s', pushSamples.get('1 node'), pushSamples.get('2 nodes')],
      ];
      const cpus = os.cpus();
      section.push(
        `- Date: ${new Date().toISOString()}; ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM; Node ${process.version}; PostgreSQL ${probe.version ?? '?'} at ${redactUrl(pgUrl)} (schema ${schema}, dropped afterwards)`,
        `- Each figure is the median of ${reps} run${reps === 1 ? '' : 's'}; the 1-node and 2-node set-ups alternate on each repetition. Load runs last ${durationS} s after a 2 s unrecorded warm-up.`,
        '- S3: the test server (s3rver 3.7 with the fixes in src/testing/s3.ts) in its own Node process, files in a temp directory. nginx: deploy/nginx/berth.conf as shipped (least_conn, keepalive 64, no request buffering), plain HTTP on loopback, `worker_processes 1` (src/testing/nginx.ts).',
        '',
        '| Measurement | 1 node | 2 nodes | 2 nodes / 1 node |',
        '|---|---:|---:|---:|',
      );
      for (const [label, unit, one, two] of rows) {
        const a = med(one);
        const b = med(two);
        section.push(`| ${label} | ${fmt(a)} ${unit} | ${fmt(b)} ${unit} | ${a && b ? `${(b / a).toFixed(2)}×` : '—'} |`);
      }
      const direct = med(getSamples.get('direct'));
      section.push(`| manifest GET straight to node 0, no nginx (for the cost of the proxy hop) | ${fmt(direct)} req/s | — | — |`, '');
      section.push('### Remarks', '');
      section.push(
        `- **This machine has ${cpus.length} cores, shared by everything in this measurement**: the Berth nodes, nginx, PostgreSQL, the S3 server and the load generator (wrk, or the bench's own Node client for pushes). A second node can only take CPU that the others leave idle, so the 2-node/1-node ratio here is a lower bound of what nodes on separate machines would show, not a prediction of it. The CPU shares below (100 % = one core) show where the cores went.`,
      );
      for (const [label, , one, two] of rows) {
        section.push(`- ${label}: 1 node: ${cpuNote(medianSample(one ?? []))}. 2 nodes: ${cpuNote(medianSample(two ?? []))}.`);
      }
      section.push(`- Straight to node 0: ${cpuNote(medianSample(getSamples.get('direct') ?? []))}.`);
      for (const r of remarks) section.push(`- ${r}`);
      section.push('', '### Raw samples', '');
      for (const [label, unit, one, two] of rows) {
        section.push(`- ${label} (${unit}): 1 node: ${(one ?? []).map((s) => fmt(s.value)).join(', ')}; 2 nodes: ${(two ?? []).map((s) => fmt(s.value)).join(', ')}`);
      }
      section.push(`- manifest GET straight to node 0 (req/s): ${(getSamples.get('direct') ?? []).map((s) => fmt(s.value)).join(', ')}`, '');
      ctx.results.sections.push(section.join('\n'));
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      ctx.log(`  ! scaleout failed: ${msg}`);
      for (const n of nodes) {
        const tail = n.stderr().trim();
        if (tail) ctx.log(`  node stderr: ${tail.split('\n').slice(-5).join('\n')}`);
      }
      section.push(`**Failed:** ${msg.split('\n')[0]}`, '');
      ctx.results.sections.push(section.join('\n'));
    } finally {
      unregister();
      for (const s of setups) s.client.close();
      await Promise.all(proxies.map((p) => p.stop().catch(() => undefined)));
      await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
      await s3?.stop().catch(() => undefined);
      const dropErr = await dropSchema(pgUrl, schema);
      if (dropErr) ctx.log(`  ! could not drop schema ${schema}: ${dropErr}`);
      await rm(dir, { recursive: true, force: true });
    }
  },
};
