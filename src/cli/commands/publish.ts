import { Option, type Command } from 'commander';
import { ClientError } from '../../client/errors.js';
import { repoPath } from '../../client/api/client.js';
import type { CliIo } from '../main.js';
import { parseBool } from '../registry-flags.js';
import { apiCommand, apiGroup, when, type Column } from './api-common.js';

/**
 * `berth publish`, `berth unpublish` and `berth certification`: certification inside a Berth registry
 * (docs/certification.md), over its management API. The registry certifies every pushed tag by itself; these
 * commands read the results, choose a repository's policy and auto-publish, and publish by hand.
 */

const POLICIES = ['container', 'root', 'scratch-nonroot', 'scratch-root'];

interface Grade {
  status: string;
  grade?: string;
}

interface Publication {
  published: boolean;
  digest?: string;
  automatic?: boolean;
  by?: string;
  at?: string;
  stale?: boolean;
}

interface CertificationCheck {
  name: string;
  status: string;
  details: string[];
  policyPage: string;
}

interface Certification {
  repository: string;
  tag?: string;
  digest: string;
  status: string;
  passed: boolean;
  policy: string;
  grade: Grade;
  result?: { policy: string; certifiedAt: string; certifiedAs?: string; reasons: string[]; error?: { code: string; message: string }; platforms: Array<{ platform?: string; passed: boolean; checks: CertificationCheck[] }> };
  publication?: Publication;
}

interface Settings {
  repository: string;
  policy: string;
  autoPublish: boolean;
  updatedBy?: string;
  updatedAt?: string;
  queued?: number;
  tags?: Array<{ tag: string; digest: string; status: string; grade: Grade; publication: Publication }>;
}

interface CertifiedImage {
  repository: string;
  tag: string;
  digest: string;
  grade: Grade;
  certification: { passed: boolean; policy?: string };
  labels: Record<string, string>;
  platforms: Array<{ platform?: string }>;
  publishedAt: string;
}

/** `team/app:1.0` → repository and tag; `team/app@sha256:…` → repository and digest (when allowed). */
function parseRepoRef(s: string, opts: { digest?: boolean; required?: boolean } = {}): { repo: string; ref?: string } {
  const at = s.indexOf('@');
  if (at !== -1) {
    if (!opts.digest) throw new ClientError('OPTION_INVALID', `${JSON.stringify(s)}: name a tag (REPOSITORY:TAG), not a digest`);
    return { repo: s.slice(0, at), ref: s.slice(at + 1) };
  }
  const colon = s.lastIndexOf(':');
  if (colon > s.lastIndexOf('/')) return { repo: s.slice(0, colon), ref: s.slice(colon + 1) };
  if (opts.required) throw new ClientError('OPTION_INVALID', `${JSON.stringify(s)}: expected REPOSITORY:TAG`);
  return { repo: s };
}

const gradeOf = (g: Grade | undefined) => g?.grade ?? g?.status ?? '';

const TAG_COLUMNS: Column<NonNullable<Settings['tags']>[number]>[] = [
  { header: 'TAG', value: (t) => t.tag },
  { header: 'DIGEST', value: (t) => t.digest },
  { header: 'CERTIFICATION', value: (t) => t.status },
  { header: 'GRADE', value: (t) => gradeOf(t.grade) },
  { header: 'PUBLISHED', value: (t) => t.publication.published },
];

const CATALOG_COLUMNS: Column<CertifiedImage>[] = [
  { header: 'IMAGE', value: (i) => `${i.repository}:${i.tag}` },
  { header: 'GRADE', value: (i) => gradeOf(i.grade) },
  { header: 'POLICY', value: (i) => i.certification.policy },
  { header: 'PLATFORMS', value: (i) => i.platforms.map((p) => p.platform ?? '?').join(',') },
  { header: 'VERSION', value: (i) => [i.labels['version'], i.labels['release']].filter(Boolean).join('-') },
  { header: 'PUBLISHED', value: (i) => when(i.publishedAt) },
];

export function publishCommands(io: CliIo): Command[] {
  const publish = apiCommand(
    io,
    {
      name: 'publish',
      description: 'Publish a tag in the registry’s certified catalog (repository admins); refused, with the reasons, unless it passed certification',
      args: ['<repository:tag>'],
      options: (c) => c.option('--digest <digest>', 'publish only if the tag still points at this manifest'),
      examples: ['berth publish acme/app:1.0 -r registry.example.com', 'berth publish acme/app:1.0 --digest sha256:4f… -r registry.example.com --format json'],
    },
    async (api, [arg], opts, out) => {
      const { repo, ref } = parseRepoRef(arg!, { required: true });
      const res = await api.call<Publication & { repository: string; tag: string; grade: Grade }>('PUT', `/repositories/${repoPath(repo)}/publications/${encodeURIComponent(ref!)}`, {
        body: opts.digest ? { digest: opts.digest as string } : {},
      });
      out.done(res, `Published ${repo}:${ref} (${res.digest}, grade ${gradeOf(res.grade)}).`);
    },
  );
  const unpublish = apiCommand(
    io,
    {
      name: 'unpublish',
      description: 'Withdraw a tag from the certified catalog (repository admins); auto-publish will not publish that image again',
      args: ['<repository:tag>'],
      examples: ['berth unpublish acme/app:1.0 -r registry.example.com'],
    },
    async (api, [arg], _opts, out) => {
      const { repo, ref } = parseRepoRef(arg!, { required: true });
      await api.call('DELETE', `/repositories/${repoPath(repo)}/publications/${encodeURIComponent(ref!)}`);
      out.done({ repository: repo, tag: ref, published: false }, `Unpublished ${repo}:${ref}.`);
    },
  );

  const show = apiCommand(
    io,
    {
      name: 'show',
      description: 'The certification result of a tag or manifest: each failed check, why, and its policy guide page',
      args: ['<repository:tag|repository@digest>'],
      examples: ['berth certification show acme/app:1.0 -r registry.example.com', 'berth certification show acme/app@sha256:4f… --format json -r registry.example.com'],
    },
    async (api, [arg], _opts, out) => {
      const { repo, ref } = parseRepoRef(arg!, { digest: true, required: true });
      const c = await api.call<Certification>('GET', `/repositories/${repoPath(repo)}/certification/${encodeURIComponent(ref!)}`);
      const platforms = c.result?.platforms ?? [];
      out.record(c, [
        ['image', `${c.repository}${c.tag ? `:${c.tag}` : ''}`],
        ['digest', c.digest],
        ['certification', c.status],
        ['policy', c.policy],
        ['certified', when(c.result?.certifiedAt)],
        ['platforms', platforms.map((p) => `${p.platform ?? '?'} ${p.passed ? 'passed' : 'failed'}`).join(', ')],
        ['grade', gradeOf(c.grade)],
        ['published', c.publication ? c.publication.published : undefined],
        ['error', c.result?.error?.message],
      ]);
      if (out.format === 'table') for (const r of c.result?.reasons ?? []) io.out(`  - ${r}\n`);
    },
  );
  const settings = apiCommand(
    io,
    {
      name: 'settings',
      description: 'Show, or change (repository admins), a repository’s certification policy and auto-publish, with each tag’s state',
      args: ['<repository>'],
      options: (c) =>
        c
          .addOption(new Option('--policy <policy>', 'the checks its images must pass (a new policy certifies every tag again)').choices(POLICIES))
          .addOption(new Option('--auto-publish <bool>', 'publish each tag that passes and has grade A or B').argParser(parseBool)),
      examples: ['berth certification settings acme/app -r registry.example.com', 'berth certification settings acme/app --policy root --auto-publish=true -r registry.example.com'],
    },
    async (api, [repo], opts, out) => {
      const policy = globalPolicy ?? (opts.policy as string | undefined);
      if (policy !== undefined && !POLICIES.includes(policy)) throw new ClientError('OPTION_INVALID', `--policy ${JSON.stringify(policy)}: one of ${POLICIES.join(', ')}`);
      const change = { ...(policy ? { policy } : {}), ...(opts.autoPublish !== undefined ? { autoPublish: opts.autoPublish as boolean } : {}) };
      if (Object.keys(change).length) {
        const s = await api.call<Settings>('PATCH', `/repositories/${repoPath(repo!)}/certification`, { body: change });
        out.record(s, [
          ['repository', s.repository],
          ['policy', s.policy],
          ['auto-publish', s.autoPublish],
          ['tags queued', s.queued],
        ]);
        return;
      }
      const s = await api.call<Settings>('GET', `/repositories/${repoPath(repo!)}/certification`, { query: { n: 1000 } });
      if (out.format === 'table') io.out(`repository: ${s.repository}\npolicy: ${s.policy}\nauto-publish: ${s.autoPublish ? 'yes' : 'no'}\n\n`);
      out.table(s, s.tags ?? [], TAG_COLUMNS);
    },
  );
  // The root program has a global `--policy <path>` (the trust policy.json) and commander hands a `--policy`
  // anywhere on the line to it; here `--policy` always means the certification policy (as in `berth certify`).
  let globalPolicy: string | undefined;
  settings.hook('preAction', (_self, action) => {
    if (action.getOptionValueSource('policy') !== 'cli') globalPolicy = action.optsWithGlobals<{ policy?: string }>().policy;
  });
  const catalog = apiCommand(
    io,
    {
      name: 'catalog',
      description: 'The registry’s catalog of published certified images (anyone may read the public ones)',
      examples: ['berth certification catalog -r registry.example.com', 'berth certification catalog --format json -r registry.example.com'],
    },
    async (api, _a, _opts, out) => {
      const images = await api.listAll<CertifiedImage>('/catalog/certified', 'images');
      out.table({ images }, images, CATALOG_COLUMNS);
    },
  );
  const recertify = apiCommand(
    io,
    {
      name: 'rerun',
      description: 'Certify a tag again (push access), e.g. after the registry’s UBI layer table was updated',
      args: ['<repository:tag>'],
      examples: ['berth certification rerun acme/app:1.0 -r registry.example.com'],
    },
    async (api, [arg], _opts, out) => {
      const { repo, ref } = parseRepoRef(arg!, { required: true });
      const res = await api.call('POST', `/repositories/${repoPath(repo)}/certification/${encodeURIComponent(ref!)}`);
      out.done(res, `Queued the certification of ${repo}:${ref}.`);
    },
  );
  const group = apiGroup(
    'certification',
    'Certification inside a Berth registry: results, policy, auto-publish and the certified catalog (docs/certification.md)',
    [
      'berth certification show acme/app:1.0 -r registry.example.com',
      'berth certification settings acme/app --auto-publish=true -r registry.example.com',
      'berth certification catalog -r registry.example.com',
    ],
    [show, settings, catalog, recertify],
  );
  return [publish, unpublish, group];
}
