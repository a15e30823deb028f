import { parseDigest } from '../content/digest.js';
import { listReferrers } from '../registry/referrers.js';
import { listRepositories, listTags, type Listing } from '../registry/tags.js';
import type { Page } from '../metadata/store.js';
import { RegistryError } from '../registry/errors.js';
import { repoName, send, type Context } from './context.js';
import { visibility } from './authn.js';

// end-8a, end-8b
export async function getTags(ctx: Context): Promise<void> {
  const repo = repoName(ctx);
  const page = parsePage(ctx);
  const listing = await listTags(ctx.deps, repo, page);
  send(ctx, 200, linkHeader(`/v2/${repo}/tags/list`, page, listing), { name: repo, tags: listing.items });
}

// `/v2/_catalog` (distribution's catalog API, kept by every registry)
export async function getCatalog(ctx: Context): Promise<void> {
  const page = parsePage(ctx);
  const listing = await listRepositories(ctx.deps, page, await visibility(ctx));
  send(ctx, 200, linkHeader('/v2/_catalog', page, listing), { repositories: listing.items });
}

// end-12a, end-12b
export async function getReferrers(ctx: Context): Promise<void> {
  const repo = repoName(ctx);
  const subject = parseDigest(ctx.params.digest!);
  const artifactType = ctx.query.get('artifactType') ?? undefined;
  const result = await listReferrers(ctx.deps, repo, subject, artifactType);
  const headers: Record<string, string> = { 'Content-Type': result.index.mediaType };
  if (result.filtersApplied.length) headers['OCI-Filters-Applied'] = result.filtersApplied.join(',');
  send(ctx, 200, headers, result.index);
}

function parsePage(ctx: Context): Page {
  const n = ctx.query.get('n');
  const last = ctx.query.get('last') ?? undefined;
  if (n === null || n === '') return { last };
  if (!/^\d+$/.test(n)) throw new RegistryError('PAGINATION_NUMBER_INVALID', `n must be a non-negative integer, got ${JSON.stringify(n.slice(0, 20))}`);
  return { n: Number(n), last };
}

/** RFC 8288 `Link: <...>; rel="next"` when more items follow. */
function linkHeader(path: string, page: Page, listing: Listing): Record<string, string> {
  if (listing.next === undefined) return {};
  const q = new URLSearchParams({ n: String(page.n), last: listing.next });
  return { Link: `<${path}?${q.toString()}>; rel="next"` };
}
