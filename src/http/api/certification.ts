import { principalName } from '../../auth/access.js';
import { parseDigest } from '../../content/digest.js';
import { parseTag } from '../../content/reference.js';
import { CERT_POLICIES, type CertResultRecord, type CertSettings, type CertSummary, type PublicationRecord } from '../../metadata/certs.js';
import type { GradeSummary } from '../../metadata/scans.js';
import type { ManifestRecord } from '../../metadata/store.js';
import { authenticate } from '../authn.js';
import { ApiError } from './errors.js';
import { adminRepo, parseRepo, readableRepo, type RepoView } from './guard.js';
import type { ApiRoute } from './routes.js';
import { audit, Fields, iso, noContent, ok, queryInt, readJson, type ApiRequest, type ApiResponse } from './request.js';

/**
 * Certification in the registry (issue 7): each repository's certification settings, the certification
 * result of a manifest, publishing, and the public catalog of certified images.
 *
 * - A result is `pending` until the manifest was certified under the repository's current policy (a push, or
 *   a policy change, queues it; `app/certifier.ts` runs it).
 * - Publishing by hand (repository admins) needs a result that passed under the current policy; otherwise it
 *   is refused with `CONFLICT` and the reasons (each failed check, why, and its page of the policy guide). The
 *   Health Index grade is not required by hand: the catalog shows it. Auto-publish (a repository setting)
 *   needs both a pass and grade A or B, and is done by the certifier.
 * - The catalog lists published tags that still point at the manifest they were published as, to anyone who
 *   may pull the repository (anonymous callers: public repositories).
 */

/** The stored per-platform report (certify/registry-report.ts `PlatformReport`; http may not import certify). */
interface StoredPlatform {
  platform?: string;
  digest: string;
  passed: boolean;
  results: unknown;
  checks: Array<{ name: string; status: 'passed' | 'failed' | 'error' | 'warning'; details: string[]; code?: string; policyPage: string }>;
  labels: Record<string, string>;
}

export type CertificationState = 'passed' | 'failed' | 'error' | 'pending';

export function stateOf(summary: Pick<CertSummary, 'policy' | 'status' | 'passed'> | undefined, settings: CertSettings): CertificationState {
  if (!summary || summary.policy !== settings.policy) return 'pending';
  if (summary.status === 'error') return 'error';
  return summary.passed ? 'passed' : 'failed';
}

function parsePlatforms(json: string | undefined): StoredPlatform[] {
  if (!json) return [];
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? (v as StoredPlatform[]) : [];
  } catch {
    return [];
  }
}

function parseLabels(json: string | undefined): Record<string, string> {
  if (!json) return {};
  try {
    const v = JSON.parse(json) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** One line per failed or undecided check: `linux/arm64: HasLicense failed: ... (docs/policy/has-license.md)`. */
export function reasonsOf(platforms: readonly StoredPlatform[]): string[] {
  const out: string[] = [];
  for (const p of platforms) {
    for (const c of p.checks ?? []) {
      if (c.status !== 'failed' && c.status !== 'error') continue;
      const where = platforms.length > 1 && p.platform ? `${p.platform}: ` : '';
      const why = c.details.length ? `: ${c.details.join('; ')}` : '';
      out.push(`${where}${c.name} ${c.status === 'error' ? 'could not decide' : 'failed'}${why} (${c.policyPage})`);
    }
  }
  return out;
}

function settingsJson(s: CertSettings) {
  return { policy: s.policy, autoPublish: s.autoPublish, ...(s.updatedBy ? { updatedBy: s.updatedBy } : {}), ...(s.updatedAt ? { updatedAt: iso(s.updatedAt) } : {}) };
}

/** A tag's grade as listings show it: `pending` until the scan has a result. */
export function gradeJson(g: GradeSummary | undefined) {
  return g ? { status: g.status, ...(g.grade ? { grade: g.grade } : {}), ...(g.nextDropAt ? { nextDropDate: g.nextDropAt.toISOString().slice(0, 10) } : {}) } : { status: 'pending' };
}

function publicationJson(p: PublicationRecord | undefined, digest: string | undefined) {
  if (!p) return { published: false };
  // A publication counts only while the tag points at what was published.
  const current = p.digest === digest;
  return { published: p.published && current, digest: p.digest, automatic: p.automatic, ...(p.by ? { by: p.by } : {}), at: iso(p.at), ...(p.published && !current ? { stale: true } : {}) };
}

/** The manifest a tag or digest names in the repository; 404 when it has none. */
async function manifestOf(r: ApiRequest, view: RepoView, reference: string): Promise<{ manifest: ManifestRecord; tag?: string }> {
  const { store } = r.ctx.deps;
  if (reference.includes(':')) {
    const m = await store.getManifest(view.repo, parseDigest(reference));
    if (!m) throw new ApiError('NOT_FOUND', `manifest ${reference} is not in repository ${view.repo}`);
    return { manifest: m };
  }
  const tag = parseTag(reference);
  const m = await store.getTaggedManifest(view.repo, tag);
  if (!m) throw new ApiError('NOT_FOUND', `tag ${tag} is not in repository ${view.repo}`);
  return { manifest: m, tag };
}

function resultJson(repo: string, m: ManifestRecord, settings: CertSettings, res: CertResultRecord | undefined, grade: GradeSummary | undefined) {
  const platforms = parsePlatforms(res?.platforms);
  const state = stateOf(res, settings);
  return {
    repository: repo,
    digest: m.digest,
    mediaType: m.mediaType,
    status: state,
    passed: state === 'passed',
    policy: settings.policy,
    grade: gradeJson(grade),
    ...(res
      ? {
          result: {
            policy: res.policy,
            status: res.status,
            passed: res.passed,
            ...(res.tag ? { certifiedAs: res.tag } : {}),
            certifiedAt: iso(res.certifiedAt),
            ...(res.error ? { error: res.error } : {}),
            labels: parseLabels(res.labels),
            reasons: reasonsOf(platforms),
            platforms,
          },
        }
      : {}),
  };
}

// GET /repositories/{repo}/certification
export async function getCertificationSettings(r: ApiRequest): Promise<ApiResponse> {
  const view = await readableRepo(r, r.params.repo!);
  const { store } = r.ctx.deps;
  const settings = await store.certs.getCertSettings(view.repo);
  const n = queryInt(r, 'n', 100, 1000);
  const last = r.query.get('last') || undefined;
  const tags = await store.listTagRecords(view.repo, { n: n + 1, ...(last ? { last } : {}) });
  const page = tags.slice(0, n);
  const digests = page.map((t) => t.digest);
  const [summaries, grades, publications] = await Promise.all([store.certs.getCertSummaries(view.repo, digests), store.scans.getGrades(digests), store.certs.listPublications(view.repo)]);
  const pubs = new Map(publications.map((p) => [p.tag, p]));
  return ok({
    repository: view.repo,
    ...settingsJson(settings),
    tags: page.map((t) => {
      const s = summaries.get(t.digest);
      return {
        tag: t.name,
        digest: t.digest,
        status: stateOf(s, settings),
        ...(s ? { certifiedAt: iso(s.certifiedAt), certifiedUnder: s.policy } : {}),
        grade: gradeJson(grades.get(t.digest)),
        publication: publicationJson(pubs.get(t.name), t.digest),
      };
    }),
    ...(tags.length > n ? { next: page[page.length - 1]!.name } : {}),
  });
}

// PATCH /repositories/{repo}/certification
export async function updateCertificationSettings(r: ApiRequest): Promise<ApiResponse> {
  const view = await adminRepo(r, r.params.repo!);
  const f = new Fields(await readJson(r), ['policy', 'autoPublish']);
  const policy = f.oneOf('policy', CERT_POLICIES);
  const autoPublish = f.boolean('autoPublish');
  const by = principalName(r.principal);
  const { settings, queued } = await r.ctx.deps.store.certs.putCertSettings({ repo: view.repo, ...(policy ? { policy } : {}), ...(autoPublish !== undefined ? { autoPublish } : {}), ...(by ? { by } : {}) });
  audit(r, { action: 'certification_settings', namespace: view.namespace, repo: view.repo, detail: { policy: settings.policy, autoPublish: settings.autoPublish } });
  return ok({ repository: view.repo, ...settingsJson(settings), queued });
}

// GET /repositories/{repo}/certification/{reference}
export async function getCertification(r: ApiRequest): Promise<ApiResponse> {
  const view = await readableRepo(r, r.params.repo!);
  const { manifest, tag } = await manifestOf(r, view, r.params.reference!);
  const { store } = r.ctx.deps;
  const [settings, res, grades, publication] = await Promise.all([
    store.certs.getCertSettings(view.repo),
    store.certs.getCertResult(view.repo, manifest.digest),
    store.scans.getGrades([manifest.digest]),
    tag ? store.certs.getPublication(view.repo, tag) : Promise.resolve(undefined),
  ]);
  return ok({ ...(tag ? { tag } : {}), ...resultJson(view.repo, manifest, settings, res, grades.get(manifest.digest)), ...(tag ? { publication: publicationJson(publication, manifest.digest) } : {}) });
}

// POST /repositories/{repo}/certification/{reference}
export async function recertify(r: ApiRequest): Promise<ApiResponse> {
  const view = await readableRepo(r, r.params.repo!);
  if (!view.actions.has('push')) throw new ApiError('FORBIDDEN', `you may not push to repository ${view.repo}`);
  const reference = r.params.reference!;
  if (reference.includes(':')) throw new ApiError('INVALID_REQUEST', 'certification runs for a tag (HasUniqueTag judges the tag): name a tag, not a digest');
  const tag = parseTag(reference);
  const queued = await r.ctx.deps.store.certs.enqueueCertification({ repo: view.repo, tag });
  if (!queued) throw new ApiError('NOT_FOUND', `tag ${tag} is not in repository ${view.repo}`);
  return { status: 202, body: { repository: view.repo, tag, queued: true } };
}

// GET /repositories/{repo}/publications
export async function listPublications(r: ApiRequest): Promise<ApiResponse> {
  const view = await readableRepo(r, r.params.repo!);
  const { store } = r.ctx.deps;
  const records = await store.certs.listPublications(view.repo);
  const out = [];
  for (const p of records) {
    const current = await store.getTaggedManifest(view.repo, p.tag);
    out.push({ tag: p.tag, ...publicationJson(p, current?.digest) });
  }
  return ok({ repository: view.repo, publications: out });
}

// PUT /repositories/{repo}/publications/{tag}
export async function publishTag(r: ApiRequest): Promise<ApiResponse> {
  const view = await adminRepo(r, r.params.repo!);
  const tag = parseTag(r.params.tag!);
  const f = new Fields(await readJson(r), ['digest']);
  const expected = f.string('digest', { max: 200 });
  const { store } = r.ctx.deps;
  const m = await store.getTaggedManifest(view.repo, tag);
  if (!m) throw new ApiError('NOT_FOUND', `tag ${tag} is not in repository ${view.repo}`);
  if (expected !== undefined && parseDigest(expected) !== m.digest) {
    throw new ApiError('CONFLICT', `tag ${tag} points at ${m.digest} now, not at ${expected}: it was pushed again; check the new image's certification`);
  }
  const [settings, res, grades] = await Promise.all([store.certs.getCertSettings(view.repo), store.certs.getCertResult(view.repo, m.digest), store.scans.getGrades([m.digest])]);
  const state = stateOf(res, settings);
  if (state === 'pending') {
    throw new ApiError('CONFLICT', `${view.repo}:${tag} (${m.digest}) is not certified under the policy ${settings.policy} yet; publish it once its certification passed`);
  }
  if (state !== 'passed') {
    const reasons = state === 'error' ? [`the image could not be certified: ${res!.error?.message ?? 'unknown error'}`] : reasonsOf(parsePlatforms(res!.platforms));
    throw new ApiError('CONFLICT', `${view.repo}:${tag} (${m.digest}) did not pass certification under the policy ${settings.policy}, so it cannot be published:\n- ${reasons.join('\n- ')}`);
  }
  const by = principalName(r.principal);
  const p = (await store.certs.publish({ repo: view.repo, tag, digest: m.digest, ...(by ? { by } : {}) }))!;
  audit(r, { action: 'publish', namespace: view.namespace, repo: view.repo, detail: { tag, digest: m.digest } });
  return ok({ repository: view.repo, tag, grade: gradeJson(grades.get(m.digest)), ...publicationJson(p, m.digest) });
}

// DELETE /repositories/{repo}/publications/{tag}
export async function unpublishTag(r: ApiRequest): Promise<ApiResponse> {
  const view = await adminRepo(r, r.params.repo!);
  const tag = parseTag(r.params.tag!);
  const by = principalName(r.principal);
  const done = await r.ctx.deps.store.certs.unpublish({ repo: view.repo, tag, ...(by ? { by } : {}) });
  if (!done) throw new ApiError('NOT_FOUND', `${view.repo}:${tag} is not published`);
  audit(r, { action: 'unpublish', namespace: view.namespace, repo: view.repo, detail: { tag } });
  return noContent();
}

/** `repo:tag`, the catalog's page cursor (neither part can contain a colon before the tag's). */
function parseCursor(v: string | null): { repo: string; tag: string } | undefined {
  if (!v) return undefined;
  const i = v.lastIndexOf(':');
  if (i <= 0) throw new ApiError('INVALID_REQUEST', 'query parameter last must be REPOSITORY:TAG (the `next` of the previous page)');
  return { repo: parseRepo(v.slice(0, i)), tag: parseTag(v.slice(i + 1)) };
}

// GET /catalog/certified (anonymous allowed)
export async function listCertifiedCatalog(r: ApiRequest): Promise<ApiResponse> {
  const n = queryInt(r, 'n', 100, 1000);
  let after = parseCursor(r.query.get('last'));
  const ctx = r.ctx;
  // A public route: the API does not look at credentials for it, so look here when some were sent.
  if (ctx.auth && !ctx.authenticated && ctx.req.headers.authorization) await authenticate(ctx, true);
  const readable = new Map<string, Promise<boolean>>();
  const mayRead = (repo: string): Promise<boolean> => {
    let p = readable.get(repo);
    if (!p) {
      p = ctx.auth ? ctx.auth.access.actionsOn(ctx.principal, repo).then((a) => a.has('pull')) : Promise.resolve(true);
      readable.set(repo, p);
    }
    return p;
  };
  const { store } = ctx.deps;
  const images = [];
  let more = false;
  // Reads pages and keeps what the caller may see, until a page is full.
  for (;;) {
    const batch = await store.certs.listCatalog({ n: 200, ...(after ? { after } : {}) });
    const visible = [];
    for (const e of batch) if (await mayRead(e.repo)) visible.push(e);
    const grades = await store.scans.getGrades(visible.map((e) => e.digest));
    for (const e of visible) {
      if (images.length === n) {
        more = true;
        break;
      }
      const platforms = parsePlatforms(e.result?.platforms);
      images.push({
        repository: e.repo,
        tag: e.tag,
        digest: e.digest,
        mediaType: e.mediaType,
        grade: gradeJson(grades.get(e.digest)),
        certification: e.result
          ? { passed: e.result.passed && e.result.status === 'done', policy: e.result.policy, certifiedAt: iso(e.result.certifiedAt) }
          : { passed: false },
        labels: parseLabels(e.result?.labels),
        platforms: platforms.map((p) => ({ ...(p.platform ? { platform: p.platform } : {}), digest: p.digest, passed: p.passed })),
        publishedAt: iso(e.publishedAt),
        ...(e.publishedBy ? { publishedBy: e.publishedBy } : {}),
        automatic: e.automatic,
      });
    }
    if (more || batch.length < 200) break;
    const tail = batch[batch.length - 1]!;
    after = { repo: tail.repo, tag: tail.tag };
  }
  const tail = images[images.length - 1];
  return { status: 200, body: { images, ...(more && tail ? { next: `${tail.repository}:${tail.tag}` } : {}) }, headers: { 'Cache-Control': 'no-store' } };
}

/**
 * The route entries of this file, for `API_ROUTES` (src/http/api/routes.ts). They must come before the
 * `/repositories/{repo}` entry: `{repo}` spans path components.
 */
export const CERTIFICATION_ROUTES: ApiRoute[] = [
  { path: '/catalog/certified', methods: { GET: { id: 'listCertifiedCatalog', handler: listCertifiedCatalog, public: true } } },
  {
    path: '/repositories/{repo}/certification',
    methods: { GET: { id: 'getCertificationSettings', handler: getCertificationSettings }, PATCH: { id: 'updateCertificationSettings', handler: updateCertificationSettings } },
  },
  { path: '/repositories/{repo}/certification/{reference}', methods: { GET: { id: 'getCertification', handler: getCertification }, POST: { id: 'recertify', handler: recertify } } },
  { path: '/repositories/{repo}/publications', methods: { GET: { id: 'listPublications', handler: listPublications } } },
  { path: '/repositories/{repo}/publications/{tag}', methods: { PUT: { id: 'publishTag', handler: publishTag }, DELETE: { id: 'unpublishTag', handler: unpublishTag } } },
];

type Json = Record<string, unknown>;
const refParam = (name: string): Json => ({ $ref: `#/components/parameters/${name}` });
const errs = (...statuses: number[]): Json => Object.fromEntries(statuses.map((s) => [String(s), { $ref: `#/components/responses/E${s}` }]));
const json = (schema: Json, description: string): Json => ({ description, content: { 'application/json': { schema } } });
const schema = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const DATE = { type: 'string', format: 'date-time' };
const POLICY = { type: 'string', enum: [...CERT_POLICIES] };
const STATE = { type: 'string', enum: ['passed', 'failed', 'error', 'pending'], description: '`pending` until certified under the current policy.' };
const GRADE = { type: 'object', required: ['status'], properties: { status: { type: 'string', description: 'The scan: done, pending, failed, unsupported.' }, grade: { type: 'string', enum: ['A', 'B', 'C', 'D', 'E', 'F'] } } };
const PUBLICATION = {
  type: 'object',
  required: ['published'],
  properties: { published: { type: 'boolean' }, digest: { type: 'string' }, automatic: { type: 'boolean' }, by: { type: 'string' }, at: DATE, stale: { type: 'boolean', description: 'Published, but the tag was pushed again since.' } },
};
const tagParam = (name: string, description: string): Json => ({ name, in: 'path', required: true, schema: { type: 'string' }, description });

/**
 * This file's part of the OpenAPI document (src/http/api/openapi.ts): `paths` to add to `PATHS`, `schemas`
 * to add to `SCHEMAS`. References to `repo`, `n` and `E4xx` are the document's own components.
 */
export const CERTIFICATION_OPENAPI: { paths: Json; schemas: Json } = {
  schemas: {
    CertificationPlatform: {
      type: 'object',
      required: ['digest', 'passed', 'results', 'checks', 'labels'],
      properties: {
        platform: { type: 'string', description: '`os/arch[/variant]`.' },
        digest: { type: 'string' },
        passed: { type: 'boolean' },
        results: { type: 'object', description: 'preflight’s results.json for this platform, as `berth certify --format json` prints it.' },
        checks: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'status', 'details', 'policyPage'],
            properties: { name: { type: 'string' }, status: { type: 'string', enum: ['passed', 'failed', 'error', 'warning'] }, details: { type: 'array', items: { type: 'string' } }, code: { type: 'string' }, policyPage: { type: 'string' } },
          },
        },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
    Certification: {
      type: 'object',
      required: ['repository', 'digest', 'mediaType', 'status', 'passed', 'policy', 'grade'],
      properties: {
        repository: { type: 'string' },
        tag: { type: 'string' },
        digest: { type: 'string' },
        mediaType: { type: 'string' },
        status: STATE,
        passed: { type: 'boolean' },
        policy: { ...POLICY, description: 'The repository’s current policy.' },
        grade: GRADE,
        result: {
          type: 'object',
          description: 'The latest certification of the manifest (absent until it ran).',
          properties: {
            policy: POLICY,
            status: { type: 'string', enum: ['done', 'error'] },
            passed: { type: 'boolean' },
            certifiedAs: { type: 'string', description: 'The tag it was certified as.' },
            certifiedAt: DATE,
            error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
            labels: { type: 'object', additionalProperties: { type: 'string' } },
            reasons: { type: 'array', items: { type: 'string' }, description: 'Each failed or undecided check, why, and its policy guide page.' },
            platforms: { type: 'array', items: schema('CertificationPlatform') },
          },
        },
        publication: PUBLICATION,
      },
    },
    CertifiedImage: {
      type: 'object',
      required: ['repository', 'tag', 'digest', 'mediaType', 'grade', 'certification', 'labels', 'platforms', 'publishedAt', 'automatic'],
      properties: {
        repository: { type: 'string' },
        tag: { type: 'string' },
        digest: { type: 'string' },
        mediaType: { type: 'string' },
        grade: GRADE,
        certification: { type: 'object', required: ['passed'], properties: { passed: { type: 'boolean' }, policy: POLICY, certifiedAt: DATE } },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        platforms: { type: 'array', items: { type: 'object', properties: { platform: { type: 'string' }, digest: { type: 'string' }, passed: { type: 'boolean' } } } },
        publishedAt: DATE,
        publishedBy: { type: 'string' },
        automatic: { type: 'boolean' },
      },
    },
  },
  paths: {
    '/catalog/certified': {
      get: {
        operationId: 'listCertifiedCatalog',
        summary: 'Published certified images, with grade, certification, labels and platforms (anonymous callers see public repositories)',
        security: [{}, { basic: [] }, { bearer: [] }],
        parameters: [refParam('n'), { name: 'last', in: 'query', required: false, schema: { type: 'string' }, description: '`REPOSITORY:TAG`, the `next` of the previous page.' }],
        responses: { '200': json({ type: 'object', required: ['images'], properties: { images: { type: 'array', items: schema('CertifiedImage') }, next: { type: 'string' } } }, 'One page of the catalog.'), ...errs(400) },
      },
    },
    '/repositories/{repo}/certification': {
      parameters: [refParam('repo')],
      get: {
        operationId: 'getCertificationSettings',
        summary: 'The repository’s certification policy and auto-publish setting, and each tag’s certification, grade and publication',
        parameters: [refParam('n'), { name: 'last', in: 'query', required: false, schema: { type: 'string' }, description: 'The tag after which the page starts (the `next` of the previous page).' }],
        responses: {
          '200': json(
            {
              type: 'object',
              required: ['repository', 'policy', 'autoPublish', 'tags'],
              properties: {
                repository: { type: 'string' },
                policy: POLICY,
                autoPublish: { type: 'boolean' },
                updatedBy: { type: 'string' },
                updatedAt: DATE,
                tags: { type: 'array', items: { type: 'object', properties: { tag: { type: 'string' }, digest: { type: 'string' }, status: STATE, certifiedAt: DATE, certifiedUnder: POLICY, grade: GRADE, publication: PUBLICATION } } },
                next: { type: 'string' },
              },
            },
            'Settings and tags.',
          ),
          ...errs(400, 401, 404),
        },
      },
      patch: {
        operationId: 'updateCertificationSettings',
        summary: 'Choose the policy or auto-publish (repository admins); a new policy certifies every tag again',
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, properties: { policy: POLICY, autoPublish: { type: 'boolean' } } } } } },
        responses: {
          '200': json({ type: 'object', properties: { repository: { type: 'string' }, policy: POLICY, autoPublish: { type: 'boolean' }, updatedBy: { type: 'string' }, updatedAt: DATE, queued: { type: 'integer' } } }, 'The settings.'),
          ...errs(400, 401, 403, 404),
        },
      },
    },
    '/repositories/{repo}/certification/{reference}': {
      parameters: [refParam('repo'), tagParam('reference', 'A tag, or a manifest digest.')],
      get: { operationId: 'getCertification', summary: 'The certification result of a manifest (per platform for an index), with its grade', responses: { '200': json(schema('Certification'), 'The result.'), ...errs(400, 401, 404) } },
      post: {
        operationId: 'recertify',
        summary: 'Certify a tag again (push access), e.g. after the UBI layer table was updated',
        responses: { '202': json({ type: 'object', properties: { repository: { type: 'string' }, tag: { type: 'string' }, queued: { type: 'boolean' } } }, 'Queued.'), ...errs(400, 401, 403, 404) },
      },
    },
    '/repositories/{repo}/publications': {
      parameters: [refParam('repo')],
      get: {
        operationId: 'listPublications',
        summary: 'Tags published (or withdrawn) in the repository',
        responses: { '200': json({ type: 'object', properties: { repository: { type: 'string' }, publications: { type: 'array', items: { type: 'object', properties: { tag: { type: 'string' }, ...PUBLICATION.properties } } } } }, 'Publications.'), ...errs(400, 401, 404) },
      },
    },
    '/repositories/{repo}/publications/{tag}': {
      parameters: [refParam('repo'), tagParam('tag', 'The tag to publish.')],
      put: {
        operationId: 'publishTag',
        summary: 'Publish a tag in the certified catalog (repository admins); refused with the reasons (409) unless it passed certification under the current policy',
        requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, properties: { digest: { type: 'string', description: 'Publish only if the tag still points at this manifest.' } } } } } },
        responses: { '200': json({ type: 'object', properties: { repository: { type: 'string' }, tag: { type: 'string' }, grade: GRADE, ...PUBLICATION.properties } }, 'Published.'), ...errs(400, 401, 403, 404, 409) },
      },
      delete: { operationId: 'unpublishTag', summary: 'Withdraw a tag from the catalog (repository admins); auto-publish does not publish that manifest again', responses: { '204': { description: 'Done.' }, ...errs(400, 401, 403, 404) } },
    },
  },
};
