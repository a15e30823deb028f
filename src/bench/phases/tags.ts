/**
 * Tag list of 5,000 tags: push one manifest under 5,000 tags (concurrency 16), then time complete
 * listings of GET /v2/<name>/tags/list?n=10000, following Link rel="next" if the registry pages.
 */
import { runPool } from '../client.js';
import { alternate, eachTarget, timed, type Phase } from '../context.js';
import { acceptedPageSize, listAll, putManifest, pushSmall, smallImage, smallPushModeOf } from '../ops.js';

const CONCURRENCY = 16;

export const tagList: Phase = {
  name: 'tags',
  description: 'tags/list of a repository with 5,000 tags',
  async run(ctx) {
    const repo = 'bench/tags';
    const count = ctx.opts.quick ? 500 : 5000;
    const listsPerRep = ctx.opts.quick ? 10 : 50;
    const img = smallImage('tags', []);
    const tags = Array.from({ length: count }, (_, i) => `t${String(i).padStart(5, '0')}`);
    const pushLabel = `push ${count} tags of one manifest, c=${CONCURRENCY} (1 run)`;
    const listLabel = `tags/list with ${count} tags, full listing`;

    const pageSize = new Map<string, number>();
    await eachTarget(ctx, 'tags', async (t) => {
      await pushSmall(t.client, repo, img.config, await smallPushModeOf(t.client, repo), img.configDigest);
      const secs = await timed(() => runPool(count, CONCURRENCY, (i) => putManifest(t.client, repo, tags[i], img.manifest)));
      ctx.results.add('tags', pushLabel, 'tags/s', 'higher', t.reg.kind, count / secs);
      ctx.log(`  ${t.reg.kind} ${pushLabel}: ${(count / secs).toFixed(0)} tags/s`);
      const size = await acceptedPageSize(t.client, `/v2/${repo}/tags/list`, 10000);
      pageSize.set(t.reg.kind, size.n);
      const first = await listAll(t.client, `/v2/${repo}/tags/list`, size.n, 'tags');
      const missing = tags.filter((x) => !first.items.includes(x)).length;
      if (missing > 0) throw new Error(`tags/list lacks ${missing} of ${count} pushed tags`);
      ctx.results.remarks.push(`tags/list on ${t.reg.kind}: ${size.note}; ${first.pages} page(s) for ${first.items.length} tags`);
    });

    await alternate(ctx, 'tags', ctx.opts.reps, async (t) => {
      let n = 0;
      const secs = await timed(async () => {
        for (let i = 0; i < listsPerRep; i++) n += (await listAll(t.client, `/v2/${repo}/tags/list`, pageSize.get(t.reg.kind) ?? 10000, 'tags')).items.length;
      });
      if (n !== count * listsPerRep) throw new Error(`tags/list returned ${n / listsPerRep} tags on average, expected ${count}`);
      const ms = (secs * 1000) / listsPerRep;
      ctx.results.add('tags', listLabel, 'ms/list', 'lower', t.reg.kind, ms);
      ctx.log(`  ${t.reg.kind} ${listLabel}: ${ms.toFixed(2)} ms/list`);
    });
  },
};
