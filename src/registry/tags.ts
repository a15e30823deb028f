import type { Page } from '../metadata/store.js';
import type { RegistryDeps } from './deps.js';
import { RegistryError } from './errors.js';

export interface Listing {
  items: string[];
  /** Set when more items follow: the `last` of the next page. */
  next?: string;
}

/** Tags in lexical (byte) order with `n`/`last` pagination (end-8a, end-8b). */
export async function listTags(deps: RegistryDeps, repo: string, page: Page): Promise<Listing> {
  if (!(await deps.store.repositoryExists(repo))) {
    throw new RegistryError('NAME_UNKNOWN', `repository ${repo} is not known to the registry`, { name: repo });
  }
  return paginate(page, deps.limits.maxPageSize, (p) => deps.store.listTags(repo, p));
}

/**
 * Repository names with `n`/`last` pagination (`/v2/_catalog`). With `visible`, only the repositories it
 * accepts are listed, and a page is still filled up to `n` of them.
 */
export async function listRepositories(deps: RegistryDeps, page: Page, visible?: (repo: string) => Promise<boolean>): Promise<Listing> {
  if (!visible) return paginate(page, deps.limits.maxPageSize, (p) => deps.store.listRepositories(p));
  return paginate(page, deps.limits.maxPageSize, async (p) => {
    const out: string[] = [];
    const batchSize = 1000;
    for (let last = p.last; ; ) {
      const batch = await deps.store.listRepositories({ n: batchSize, last });
      for (const repo of batch) {
        if (!(await visible(repo))) continue;
        out.push(repo);
        if (p.n !== undefined && out.length >= p.n) return out;
      }
      if (batch.length < batchSize) return out;
      last = batch[batch.length - 1];
    }
  });
}

/**
 * Asks for one more item than requested, so a `next` link is sent only when something really follows
 * (spec: "n=0 returns an empty list with no Link header").
 */
async function paginate(page: Page, max: number, list: (p: Page) => Promise<string[]>): Promise<Listing> {
  if (page.n === undefined) return { items: await list({ last: page.last }) };
  if (!Number.isSafeInteger(page.n) || page.n < 0 || page.n > max) {
    throw new RegistryError('PAGINATION_NUMBER_INVALID', `n must be an integer from 0 to ${max}`, { n: page.n });
  }
  if (page.n === 0) return { items: [] };
  const items = await list({ n: page.n + 1, last: page.last });
  if (items.length <= page.n) return { items };
  items.length = page.n;
  return { items, next: items[items.length - 1] };
}
