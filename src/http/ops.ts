import { send, type Context } from './context.js';

// end-1: https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#determining-support
export async function getBase(ctx: Context): Promise<void> {
  send(ctx, 200, {}, {});
}

/** Liveness: the process serves HTTP. */
export async function getHealthz(ctx: Context): Promise<void> {
  send(ctx, 200, { 'Content-Type': 'text/plain' }, 'ok\n');
}

/** Readiness: storage and metadata answer, and the server is not shutting down. */
export async function getReadyz(ctx: Context): Promise<void> {
  if (!ctx.ready()) return send(ctx, 503, { 'Content-Type': 'text/plain' }, 'shutting down\n');
  await ctx.deps.store.listRepositories({ n: 1 });
  await ctx.deps.driver.walk('/nonexistent-readiness-probe')[Symbol.asyncIterator]().next();
  send(ctx, 200, { 'Content-Type': 'text/plain' }, 'ready\n');
}

export async function getMetrics(ctx: Context): Promise<void> {
  const body = await ctx.metrics.registry.metrics();
  send(ctx, 200, { 'Content-Type': ctx.metrics.registry.contentType }, body);
}
