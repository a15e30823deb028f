/** Blob push throughput: monolithic (POST + one PUT) and chunked (POST + PATCH… + PUT ?digest=). */
import { alternate, timed, type Phase } from '../context.js';
import { MiB, blobDigest, formatBytes } from '../data.js';
import { pushChunked, pushMonolithic } from '../ops.js';

export const CHUNK_SIZE = 8 * MiB;

export function pushSizes(quick: boolean): number[] {
  return quick ? [8 * MiB, 24 * MiB] : [64 * MiB, 512 * MiB];
}

export const blobPush: Phase = {
  name: 'push',
  description: 'blob push, monolithic and chunked (8 MiB PATCHes)',
  async run(ctx) {
    const repo = 'bench/push';
    for (const size of pushSizes(ctx.opts.quick)) {
      for (const mode of ['monolithic', 'chunked'] as const) {
        // A fresh blob per repetition (same bytes for both registries), digested before timing.
        const specs = Array.from({ length: ctx.opts.reps }, (_, rep) => ({ seed: `push/${mode}/${size}/${rep}`, size }));
        const t0 = Date.now();
        const digests = specs.map((s) => blobDigest(s));
        ctx.log(`  digests of ${specs.length} × ${formatBytes(size)} computed in ${Date.now() - t0} ms`);
        const label = `push ${formatBytes(size)} ${mode}${mode === 'chunked' ? ` (${formatBytes(CHUNK_SIZE)} PATCHes)` : ''}`;
        await alternate(ctx, 'push', ctx.opts.reps, async (t, rep) => {
          const secs = await timed(() =>
            mode === 'monolithic'
              ? pushMonolithic(t.client, repo, specs[rep], digests[rep])
              : pushChunked(t.client, repo, specs[rep], CHUNK_SIZE, digests[rep]),
          );
          const mibs = size / MiB / secs;
          ctx.results.add('push', label, 'MiB/s', 'higher', t.reg.kind, mibs);
          ctx.log(`  ${t.reg.kind} ${label}: ${mibs.toFixed(1)} MiB/s`);
        });
      }
    }
  },
};
