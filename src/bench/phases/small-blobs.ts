/**
 * Many small blobs: 2,000 × 4 KiB at concurrency 16. Each registry is probed once: if POST ?digest=
 * with the body answers 201 the single-request flow is used, otherwise POST then PUT (same client
 * code for both; which one each took is reported).
 */
import { runPool } from '../client.js';
import { alternate, eachTarget, timed, type Phase } from '../context.js';
import { KiB, sha256Digest, smallBlob } from '../data.js';
import { pushSmall, smallPushModeOf } from '../ops.js';

const SIZE = 4 * KiB;
const CONCURRENCY = 16;

export const smallBlobs: Phase = {
  name: 'small',
  description: `many ${SIZE / KiB} KiB blobs at concurrency ${CONCURRENCY}`,
  async run(ctx) {
    const repo = 'bench/small';
    const count = ctx.opts.quick ? 200 : 2000;
    const label = `push ${count} × 4 KiB blobs, c=${CONCURRENCY}`;

    await eachTarget(ctx, 'small', async (t) => {
      const mode = await smallPushModeOf(t.client, repo);
      ctx.results.remarks.push(`small blobs on ${t.reg.kind}: ${mode === 'single-post' ? 'single POST ?digest= (201)' : 'POST ?digest= answered 202 → POST + PUT'}`);
    });

    // Bodies for every repetition, built before any timing (reps × count × 4 KiB).
    const bodies = Array.from({ length: ctx.opts.reps }, (_, rep) =>
      Array.from({ length: count }, (_, i) => {
        const b = smallBlob({ seed: `small/${rep}/${i}`, size: SIZE });
        return { b, d: sha256Digest(b) };
      }),
    );

    await alternate(ctx, 'small', ctx.opts.reps, async (t, rep) => {
      const mode = await smallPushModeOf(t.client, repo);
      const set = bodies[rep];
      const secs = await timed(() => runPool(count, CONCURRENCY, (i) => pushSmall(t.client, repo, set[i].b, mode, set[i].d)));
      ctx.results.add('small', label, 'blobs/s', 'higher', t.reg.kind, count / secs);
      ctx.log(`  ${t.reg.kind} ${label}: ${(count / secs).toFixed(0)} blobs/s (${mode})`);
    });
  },
};
