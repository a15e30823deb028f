/** Blob pull throughput: one GET at a time, and 8 GETs of the same blob at once (aggregate). */
import { alternate, eachTarget, timed, type Phase } from '../context.js';
import { MiB, formatBytes } from '../data.js';
import { ensureBlob, pullBlob } from '../ops.js';
import { pushSizes } from './blob-push.js';

const PARALLEL = 8;

export const blobPull: Phase = {
  name: 'pull',
  description: `blob pull, one at a time and ${PARALLEL} at once`,
  async run(ctx) {
    const repo = 'bench/pull';
    for (const size of pushSizes(ctx.opts.quick)) {
      const spec = { seed: `pull/${size}`, size };
      const digests = new Map<string, string>();
      await eachTarget(ctx, 'pull', async (t) => {
        digests.set(t.reg.kind, await ensureBlob(t.client, repo, spec));
      });
      const check = (n: number): void => {
        if (n !== size) throw new Error(`pulled ${n} bytes, expected ${size}`);
      };

      const one = `pull ${formatBytes(size)} ×1`;
      await alternate(ctx, 'pull', ctx.opts.reps, async (t) => {
        const d = digests.get(t.reg.kind) as string;
        const secs = await timed(async () => check(await pullBlob(t.client, repo, d)));
        ctx.results.add('pull', one, 'MiB/s', 'higher', t.reg.kind, size / MiB / secs);
        ctx.log(`  ${t.reg.kind} ${one}: ${(size / MiB / secs).toFixed(1)} MiB/s`);
      });

      const many = `pull ${formatBytes(size)} ×${PARALLEL} concurrent (aggregate)`;
      await alternate(ctx, 'pull', ctx.opts.reps, async (t) => {
        const d = digests.get(t.reg.kind) as string;
        const secs = await timed(() =>
          Promise.all(Array.from({ length: PARALLEL }, async () => check(await pullBlob(t.client, repo, d)))),
        );
        const mibs = (PARALLEL * size) / MiB / secs;
        ctx.results.add('pull', many, 'MiB/s', 'higher', t.reg.kind, mibs);
        ctx.log(`  ${t.reg.kind} ${many}: ${mibs.toFixed(1)} MiB/s`);
      });
    }
  },
};
