/** Manifest GET and HEAD by tag at 64 connections (wrk -c 64 -t 2), with the OCI Accept header. */
import { header } from '../client.js';
import { alternate, eachTarget, type Phase } from '../context.js';
import { KiB } from '../data.js';
import { runLoad } from '../loadgen.js';
import { OCI_MANIFEST, pushSmallImage, smallImage, smallPushModeOf } from '../ops.js';

const CONNECTIONS = 64;

export const manifestLoad: Phase = {
  name: 'manifest',
  description: `manifest GET/HEAD by tag at ${CONNECTIONS} connections`,
  async run(ctx) {
    const repo = 'bench/manifest';
    const tag = 'latest';
    const img = smallImage('manifest', [4 * KiB]);
    const durationS = ctx.opts.quick ? 3 : 10;

    await eachTarget(ctx, 'manifest', async (t) => {
      await pushSmallImage(t.client, repo, img, tag, await smallPushModeOf(t.client, repo));
      // Check once what the load generator will see, so a wrong answer is not counted as speed.
      const res = await t.client.request('GET', `/v2/${repo}/manifests/${tag}`, { headers: { Accept: OCI_MANIFEST } });
      if (res.status !== 200 || !res.body.equals(img.manifest)) {
        throw new Error(`GET manifest by tag: HTTP ${res.status}, body ${res.body.equals(img.manifest) ? 'matches' : 'differs'}`);
      }
      const dcd = header(res, 'docker-content-digest');
      if (dcd !== img.manifestDigest) ctx.results.remarks.push(`manifest GET on ${t.reg.kind}: Docker-Content-Digest is ${dcd ?? 'missing'}`);
      const head = await t.client.request('HEAD', `/v2/${repo}/manifests/${tag}`, { headers: { Accept: OCI_MANIFEST } });
      if (head.status !== 200) throw new Error(`HEAD manifest by tag: HTTP ${head.status}`);
    });

    for (const method of ['GET', 'HEAD'] as const) {
      const label = `manifest ${method} by tag, ${CONNECTIONS} conns`;
      await alternate(ctx, 'manifest', ctx.opts.reps, async (t) => {
        const r = await runLoad({
          url: `${t.reg.base}/v2/${repo}/manifests/${tag}`,
          method,
          headers: { Accept: OCI_MANIFEST },
          connections: CONNECTIONS,
          threads: 2,
          durationS,
        });
        if (r.bad > 0) ctx.results.remarks.push(`${label} on ${t.reg.kind}: ${r.bad} of ${r.requests} requests failed or non-2xx`);
        ctx.results.add('manifest', label, 'req/s', 'higher', t.reg.kind, r.rps);
        ctx.results.note('manifest', label, t.reg.kind, r.tool);
        ctx.log(`  ${t.reg.kind} ${label}: ${r.rps.toFixed(0)} req/s (${r.tool}, ${durationS}s)`);
      });
    }
  },
};
