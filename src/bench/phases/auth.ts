/**
 * What authentication costs (issue 4's benchmark): manifest GET per second on one Berth with auth off and one with
 * auth on (with a registry token, and with Basic credentials sent directly), and token issuance per second at the
 * token endpoint. Both servers run side by side and are measured alternately; the target is auth costing under 15%
 * of the anonymous throughput.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, type StandaloneContext, type StandalonePhase } from '../context.js';
import { runLoad } from '../loadgen.js';
import { startBerthProcess } from '../../testing/processes.js';
import { pushImage, randomImage } from '../../testing/fixtures.js';

const CONNECTIONS = 64;
const PASSWORD = 'bench-admin-password';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export const authCost: StandalonePhase = {
  name: 'auth',
  description: 'manifest GET/s with auth off vs on (token, Basic), and token issuance/s',
  needs: 'wrk (for GET load)',
  async run(ctx: StandaloneContext) {
    const dir = await mkdtemp(join(tmpdir(), 'berth-bench-auth-'));
    const open = await startBerthProcess(['--data', join(dir, 'open')], { ...process.env, BERTH_LOG_REQUESTS: 'false', BERTH_AUTH_ENABLED: 'false' });
    const secured = await startBerthProcess(['--data', join(dir, 'auth')], {
      ...process.env,
      BERTH_LOG_REQUESTS: 'false',
      BERTH_AUTH_ENABLED: 'true',
      BERTH_AUTH_ADMIN_PASSWORD: PASSWORD,
    });
    const unregister = ctx.onInterrupt(async () => {
      await Promise.all([open.stop(), secured.stop()]);
      await rm(dir, { recursive: true, force: true });
    });
    try {
      const basic = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;
      const img = randomImage({ layers: 1, size: 4096, format: 'oci' });
      await pushImage(open.url, 'admin/bench', img, 'latest');
      await pushImage(secured.url, 'admin/bench', img, 'latest', { Authorization: basic });
      const tokenUrl = `${secured.url}/v2/auth?service=berth&scope=${encodeURIComponent('repository:admin/bench:pull')}`;
      const tokenRes = await fetch(tokenUrl, { headers: { Authorization: basic } });
      if (tokenRes.status !== 200) throw new Error(`token endpoint: HTTP ${tokenRes.status}`);
      const token = ((await tokenRes.json()) as { token: string }).token;
      const durationS = ctx.opts.quick ? 3 : 10;

      const cases: Array<{ label: string; url: string; headers: Record<string, string> }> = [
        { label: 'manifest GET, auth off', url: `${open.url}/v2/admin/bench/manifests/latest`, headers: { Accept: OCI_MANIFEST } },
        { label: 'manifest GET, auth on, Bearer token', url: `${secured.url}/v2/admin/bench/manifests/latest`, headers: { Accept: OCI_MANIFEST, Authorization: `Bearer ${token}` } },
        { label: 'manifest GET, auth on, Basic', url: `${secured.url}/v2/admin/bench/manifests/latest`, headers: { Accept: OCI_MANIFEST, Authorization: basic } },
        { label: 'token issuance (GET /v2/auth, Basic)', url: tokenUrl, headers: { Authorization: basic } },
      ];
      for (const c of cases) {
        const check = await fetch(c.url, { headers: c.headers });
        if (check.status !== 200) throw new Error(`${c.label}: HTTP ${check.status}`);
        await check.arrayBuffer();
      }
      const samples = new Map<string, number[]>(cases.map((c) => [c.label, []]));
      let tool = '';
      for (let rep = 0; rep < ctx.opts.reps; rep++) {
        for (const c of rep % 2 === 0 ? cases : [...cases].reverse()) {
          const r = await runLoad({ url: c.url, method: 'GET', headers: c.headers, connections: CONNECTIONS, threads: 2, durationS });
          if (r.bad > 0) ctx.results.remarks.push(`${c.label}: ${r.bad} of ${r.requests} requests failed or non-2xx`);
          samples.get(c.label)!.push(r.rps);
          tool = r.tool;
          ctx.log(`  ${c.label}: ${r.rps.toFixed(0)} req/s`);
        }
      }
      const off = median(samples.get(cases[0]!.label)!);
      const rows = cases.map((c) => {
        const m = median(samples.get(c.label)!);
        const vsOff = c === cases[0] || c === cases[3] ? '' : `${(m / off).toFixed(2)}× (cost ${((1 - m / off) * 100).toFixed(1)}%)`;
        return `| ${c.label} | ${m.toFixed(0)} | ${vsOff} | ${samples.get(c.label)!.map((x) => x.toFixed(0)).join(', ')} |`;
      });
      ctx.results.sections.push(
        [
          '## Cost of authentication',
          '',
          `Two Berth servers side by side on loopback (embedded SQLite + filesystem), one with auth off and one with auth on; ${tool}, ${CONNECTIONS} connections, ${durationS} s per run, median of ${ctx.opts.reps}, cases alternating. Target: auth on costs under 15% of the auth-off throughput.`,
          '',
          '| Case | req/s | vs auth off | Samples |',
          '|---|---:|---:|---|',
          ...rows,
          '',
        ].join('\n'),
      );
    } finally {
      unregister();
      await Promise.all([open.stop(), secured.stop()]);
      await rm(dir, { recursive: true, force: true });
    }
  },
};
