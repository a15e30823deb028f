import { deleteManifest, getManifest, putManifest } from '../registry/manifests.js';
import { readSmallBody, repoName, send, type Context } from './context.js';

// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-manifests (end-3)
export async function getOrHeadManifest(ctx: Context): Promise<void> {
  const m = await getManifest(ctx.deps, repoName(ctx), ctx.params.reference!, ctx.req.headers.accept);
  send(
    ctx,
    200,
    { 'Content-Type': m.mediaType, 'Docker-Content-Digest': m.digest, ETag: `"${m.digest}"`, 'Content-Length': m.content.length },
    m.content,
  );
}

// end-7, and end-7b (`?tag=` repeated, distribution-spec main)
export async function putManifestHandler(ctx: Context): Promise<void> {
  const repo = repoName(ctx);
  const bytes = await readSmallBody(ctx, ctx.deps.limits.maxManifestBytes);
  const pushed = await putManifest(ctx.deps, repo, ctx.params.reference!, bytes, ctx.req.headers['content-type'], ctx.query.getAll('tag'));
  const headers: Record<string, string | string[]> = {
    Location: `/v2/${repo}/manifests/${pushed.digest}`,
    'Docker-Content-Digest': pushed.digest,
  };
  if (pushed.subject) headers['OCI-Subject'] = pushed.subject;
  if (pushed.tags.length) headers['OCI-Tag'] = pushed.tags;
  send(ctx, 201, headers);
}

// end-9
export async function deleteManifestHandler(ctx: Context): Promise<void> {
  await deleteManifest(ctx.deps, repoName(ctx), ctx.params.reference!);
  send(ctx, 202, {});
}
