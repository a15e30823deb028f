import { parseDigest } from '../../content/digest.js';
import type { ScanResultRecord } from '../../metadata/scans.js';
import { ApiError } from './errors.js';
import { readableRepo } from './guard.js';
import { iso, ok, type ApiRequest, type ApiResponse } from './request.js';
import type { ApiRoute } from './routes.js';

/**
 * The security of a manifest, as the registry's background scanner left it (docs/scanning.md): the grade of
 * the Container Health Index with its reason and the date it next drops, the findings (package, installed and
 * fixed version, severity, advisory and CVEs), and for an index the grade of each child.
 *
 * Access is the API's: a private repository the caller cannot read answers 404, as a missing one does; so does
 * a digest the repository does not hold. `status` says where the scan is: `queued` (not scanned yet), `done`,
 * `pending` (an index whose children are not all scanned), `failed` (with `error`) or `unsupported` (no known
 * OS, not an image).
 */

const SEVERITIES = ['Critical', 'Important', 'Moderate', 'Low', 'Unknown'] as const;

interface FindingJson {
  advisory: string;
  cves: string[];
  severity: (typeof SEVERITIES)[number];
  fixedVersion?: string;
  published?: string;
  package: { name: string; version: string; purl: string; sourceName?: string };
  ecosystem: string;
  summary?: string;
}

// GET /repositories/{repo}/manifests/{digest}/security
export async function getManifestSecurity(r: ApiRequest): Promise<ApiResponse> {
  const view = await readableRepo(r, r.params.repo!);
  const digest = parseDigest(r.params.digest ?? '');
  const { store } = r.ctx.deps;
  const manifest = await store.getManifest(view.repo, digest);
  if (!manifest) throw new ApiError('NOT_FOUND', `manifest ${digest} not found in repository ${view.repo}`);
  const result = await store.scans.getResult(digest);
  if (!result) return ok({ repository: view.repo, digest, mediaType: manifest.mediaType, status: 'queued' });
  const body = securityJson(view.repo, result);
  if (result.kind === 'index') {
    const children = await store.scans.childrenOf(digest);
    const grades = await store.scans.getGrades(children.map((c) => c.digest));
    body.manifests = children.map((c) => {
      const g = grades.get(c.digest);
      return { digest: c.digest, ...(c.platform ? { platform: c.platform } : {}), status: g?.status ?? 'queued', ...(g?.grade ? { grade: g.grade } : {}), ...(g?.findingCount !== undefined ? { findingCount: g.findingCount } : {}) };
    });
  }
  return ok(body);
}

function securityJson(repo: string, r: ScanResultRecord): Record<string, unknown> {
  const findings = r.findings ? (JSON.parse(r.findings) as FindingJson[]) : [];
  const health = r.health ? (JSON.parse(r.health) as { grade: string; reason: string; nextDropDate?: string; worst?: unknown; undated?: number }) : undefined;
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s.toLowerCase(), findings.filter((f) => f.severity === s).length]));
  const body: Record<string, unknown> = {
    repository: repo,
    digest: r.digest,
    mediaType: r.mediaType,
    kind: r.kind,
    status: r.status,
    scannedAt: iso(r.scannedAt),
  };
  if (r.os) body.os = JSON.parse(r.os) as unknown;
  if (r.platform) body.platform = r.platform;
  if (r.packageCount !== undefined) body.packageCount = r.packageCount;
  if (health && r.status === 'done') {
    body.grade = health.grade;
    body.reason = health.reason;
    if (health.nextDropDate) body.nextDropDate = health.nextDropDate;
    if (health.worst) body.worst = health.worst;
    body.gradedAt = iso(r.gradedAt);
  }
  if (r.error) body.error = r.error;
  if (r.status === 'done') {
    body.summary = { ...counts, total: findings.length, fixable: findings.filter((f) => f.fixedVersion !== undefined).length };
    body.findings = findings;
  }
  return body;
}

/** The route entry for `API_ROUTES` (`http/api/routes.ts`); it goes before `/repositories/{repo}` or anywhere: no other path starts with `/repository/`. */
export const SECURITY_ROUTE: ApiRoute = {
  path: '/repositories/{repo}/manifests/{digest}/security',
  methods: { GET: { id: 'getManifestSecurity', handler: getManifestSecurity } },
};
