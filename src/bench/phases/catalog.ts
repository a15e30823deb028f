/**
 * Catalog of 2,000 repositories: push a tiny manifest (config only, no layers) into each, then time
 * complete listings of GET /v2/_catalog?n=5000, following Link rel="next" if the registry pages.
 */
import { runPool } from '../client.js';
import { alternate, eachTarget, timed, type Phase } from '../context.js';
import { acceptedPageSize, listAll, putManifest, pushSmall, smallImage, smallPushModeOf } from '../ops.js';

const CONCURRENCY = 16;

export const catalog: Phase = {
  name: 'catalog',
  description: '_catalog with 2,000 repositories',
  async run(ctx) {
    const count = ctx.opts.quick ? 200 : 2000;
    const listsPerRep = ctx.opts.quick ? 10 : 50;
    const img = smallImage('catalog', []);
    const repos = Array.from({ length: count }, (_, i) => `catalog/r${String(i).padStart(5, '0')}`);
    const pushLabel = `push tiny image into ${count} repos, c=${CONCURRENCY} (1 run)`;
    const listLabel = `_catalog with ${count}+ repos, full listing`;
    const total = new Map<string, number>();

    const pageSize = new Map<string, number>();
    await eachTarget(ctx, 'catalog', async (t) => {
      const mode = await smallPushModeOf(t.client, 'bench/small');
      const secs = await timed(() =>
        runPool(count, CONCURRENCY, async (i) => {
          await pushSmall(t.client, repos[i], img.config, mode, img.configDigest);
          await putManifest(t.client, repos[i], 'latest', img.manifest);
        }),
      );
      ctx.results.add('catalog', pushLabel, 'repos/s', 'higher', t.reg.kind, count / secs);
      ctx.log(`  ${t.reg.kind} ${pushLabel}: ${(count / secs).toFixed(0)} repos/s`);
      const size = await acceptedPageSize(t.client, '/v2/_catalog', 5000);
      pageSize.set(t.reg.kind, size.n);
      const first = await listAll(t.client, '/v2/_catalog', size.n, 'repositories');
      const missing = repos.filter((x) => !first.items.includes(x)).length;
      if (missing > 0) throw new Error(`_catalog lacks ${missing} of ${count} pushed repositories`);
      total.set(t.reg.kind, first.items.length);
      ctx.results.remarks.push(`_catalog on ${t.reg.kind}: ${size.note}; ${first.pages} page(s) for ${first.items.length} repositories`);
    });

    await alternate(ctx, 'catalog', ctx.opts.reps, async (t) => {
      let n = 0;
      const secs = await timed(async () => {
        for (let i = 0; i < listsPerRep; i++) n += (await listAll(t.client, '/v2/_catalog', pageSize.get(t.reg.kind) ?? 5000, 'repositories')).items.length;
      });
      const expected = (total.get(t.reg.kind) ?? count) * listsPerRep;
      if (n !== expected) throw new Error(`_catalog returned ${n / listsPerRep} repositories on average, expected ${expected / listsPerRep}`);
      const ms = (secs * 1000) / listsPerRep;
      ctx.results.add('catalog', listLabel, 'ms/list', 'lower', t.reg.kind, ms);
      ctx.log(`  ${t.reg.kind} ${listLabel}: ${ms.toFixed(2)} ms/list`);
    });
  },
};
