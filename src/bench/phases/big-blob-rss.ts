/**
 * Peak RSS of the server while one 2 GiB blob is pushed monolithically (a single streamed PUT).
 * A server that buffers the body shows it here. The peak counter is reset just before the push.
 */
import { eachTarget, timed, type Phase } from '../context.js';
import { GiB, MiB, blobDigest, formatBytes } from '../data.js';
import { pushMonolithic } from '../ops.js';

export const bigBlobRss: Phase = {
  name: 'bigrss',
  description: 'peak server RSS while a 2 GiB blob is pushed',
  async run(ctx) {
    const size = ctx.opts.quick ? 64 * MiB : 2 * GiB;
    const spec = { seed: `big/${size}`, size };
    const t0 = Date.now();
    const digest = blobDigest(spec);
    ctx.log(`  digest of ${formatBytes(size)} computed in ${Date.now() - t0} ms`);
    const rssLabel = `peak RSS while pushing ${formatBytes(size)} (monolithic PUT)`;
    const speedLabel = `push ${formatBytes(size)} monolithic (1 run)`;

    await eachTarget(ctx, 'bigrss', async (t) => {
      const before = t.reg.rss();
      if (!t.reg.resetPeak()) ctx.results.remarks.push(`bigrss on ${t.reg.kind}: could not reset VmHWM; the figure is the peak since start`);
      const secs = await timed(() => pushMonolithic(t.client, 'bench/big', spec, digest));
      const peak = t.reg.peakRss();
      if (peak === undefined) throw new Error('server process gone');
      ctx.results.add('bigrss', rssLabel, 'MiB', 'lower', t.reg.kind, peak / MiB);
      ctx.results.add('bigrss', speedLabel, 'MiB/s', 'higher', t.reg.kind, size / MiB / secs);
      if (before !== undefined) ctx.results.note('bigrss', rssLabel, t.reg.kind, `RSS before: ${(before / MiB).toFixed(0)} MiB`);
      ctx.log(`  ${t.reg.kind} ${rssLabel}: ${(peak / MiB).toFixed(0)} MiB (before ${((before ?? 0) / MiB).toFixed(0)} MiB), ${(size / MiB / secs).toFixed(0)} MiB/s`);
    });
  },
};
