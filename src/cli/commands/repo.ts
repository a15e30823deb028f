import { Option, type Command } from 'commander';
import { ClientError } from '../../client/errors.js';
import type { Permission, RepoRole, Repository, SubjectKind, Tag, Visibility } from '../../client/api/types.js';
import type { CliIo } from '../main.js';
import { formatBytes } from '../output.js';
import { apiCommand, apiGroup, when, type Column } from './api-common.js';

const REPO_COLUMNS: Column<Repository>[] = [
  { header: 'NAME', value: (r) => r.name },
  { header: 'VISIBILITY', value: (r) => r.visibility },
  { header: 'ACCESS', value: (r) => r.access?.join(',') },
  { header: 'DESCRIPTION', value: (r) => r.description },
];

const TAG_COLUMNS: Column<Tag>[] = [
  { header: 'TAG', value: (t) => t.name },
  { header: 'DIGEST', value: (t) => t.digest },
  { header: 'SIZE', value: (t) => formatBytes(t.size) },
  { header: 'PLATFORMS', value: (t) => t.platforms.map((p) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`).join(',') },
  { header: 'PUSHED', value: (t) => when(t.pushedAt) },
];

const PERMISSION_COLUMNS: Column<Permission>[] = [
  { header: 'KIND', value: (p) => p.kind },
  { header: 'NAME', value: (p) => p.name },
  { header: 'ROLE', value: (p) => p.role },
];

const KINDS = ['user', 'team', 'robot'];
const ROLES = ['read', 'write', 'admin'];

function repoFields(r: Repository): [string, string | undefined][] {
  return [
    ['repository', r.name],
    ['visibility', r.visibility],
    ['description', r.description],
    ['created by', r.createdBy],
    ['created', when(r.createdAt)],
    ['your access', r.access?.join(', ')],
  ];
}

function kindOf(s: string): SubjectKind {
  if (!KINDS.includes(s)) throw new ClientError('OPTION_INVALID', `${JSON.stringify(s)}: the subject is a user, team or robot`);
  return s as SubjectKind;
}

export function repoCommand(io: CliIo): Command {
  const visibility = () => new Option('--visibility <visibility>', 'who may pull: anyone (public) or those given access (private)').choices(['public', 'private']);
  const list = apiCommand(
    io,
    { name: 'list', description: 'List the repositories you can read', options: (c) => c.option('--namespace <ns>', 'only this namespace'), examples: ['berth repo list -r registry.example.com', 'berth repo list --namespace acme --format json -r registry.example.com'] },
    async (api, _a, opts, out) => {
      const repositories = await api.listRepositories(opts.namespace as string | undefined);
      out.table({ repositories }, repositories, REPO_COLUMNS);
    },
  );
  const create = apiCommand(
    io,
    {
      name: 'create',
      description: 'Create a repository (private unless --visibility public)',
      args: ['<repository>'],
      options: (c) => c.addOption(visibility()).option('--description <text>', 'what it holds'),
      examples: ['berth repo create acme/app -r registry.example.com', 'berth repo create acme/base --visibility public --description "base images" -r registry.example.com'],
    },
    async (api, [name], opts, out) => {
      const r = await api.createRepository(name!, { ...(opts.visibility ? { visibility: opts.visibility as Visibility } : {}), ...(opts.description !== undefined ? { description: opts.description as string } : {}) });
      out.record(r, repoFields(r));
    },
  );
  const show = apiCommand(io, { name: 'show', description: 'Show a repository’s settings and your access', args: ['<repository>'], examples: ['berth repo show acme/app -r registry.example.com'] }, async (api, [name], _o, out) => {
    const r = await api.getRepository(name!);
    out.record(r, repoFields(r));
  });
  const set = apiCommand(
    io,
    {
      name: 'set',
      description: 'Change a repository’s visibility or description (its admins)',
      args: ['<repository>'],
      options: (c) => c.addOption(visibility()).option('--description <text>', 'what it holds'),
      examples: ['berth repo set acme/app --visibility public -r registry.example.com', 'berth repo set acme/app --description "the app" -r registry.example.com'],
    },
    async (api, [name], opts, out) => {
      if (opts.visibility === undefined && opts.description === undefined) throw new ClientError('OPTION_INVALID', 'nothing to change: give --visibility and/or --description');
      const r = await api.updateRepository(name!, { ...(opts.visibility ? { visibility: opts.visibility as Visibility } : {}), ...(opts.description !== undefined ? { description: opts.description as string } : {}) });
      out.record(r, repoFields(r));
    },
  );
  const del = apiCommand(
    io,
    {
      name: 'delete',
      description: 'Delete a repository’s settings and permissions (its admins). Its images stay: delete them with `berth delete`; with no settings it is private to its namespace’s admins',
      args: ['<repository>'],
      examples: ['berth repo delete acme/old -r registry.example.com'],
    },
    async (api, [name], _o, out) => {
      await api.deleteRepository(name!);
      out.done({ deleted: name }, `Deleted the settings and permissions of ${name!}`);
    },
  );
  const tags = apiCommand(
    io,
    {
      name: 'tags',
      description: 'List tags with digest, size, platforms and push time',
      args: ['<repository>'],
      options: (c) =>
        c
          .addOption(new Option('--sort <key>', 'sort by tag name or by push time').choices(['name', 'pushed']).default('name'))
          .addOption(new Option('--order <order>', 'default: asc by name, desc (newest first) by push time').choices(['asc', 'desc']))
          .option('-n, --limit <n>', 'at most this many tags (default 100, at most 1000)', (v) => Number(v))
          .option('--offset <n>', 'skip this many tags', (v) => Number(v)),
      examples: ['berth repo tags acme/app -r registry.example.com', 'berth repo tags acme/app --sort pushed -n 5 -r registry.example.com    # the five newest'],
    },
    async (api, [name], opts, out) => {
      const page = await api.listTags(name!, {
        sort: opts.sort as 'name' | 'pushed',
        ...(opts.order ? { order: opts.order as 'asc' | 'desc' } : {}),
        ...(opts.limit !== undefined ? { n: opts.limit as number } : {}),
        ...(opts.offset !== undefined ? { offset: opts.offset as number } : {}),
      });
      out.table(page, page.tags, TAG_COLUMNS);
      if (page.next !== undefined) out.note(`${page.total - page.next} more tag(s): add --offset ${page.next}`);
    },
  );
  const permissions = apiCommand(io, { name: 'permissions', description: 'List who has which role on a repository (its admins)', args: ['<repository>'], examples: ['berth repo permissions acme/app -r registry.example.com'] }, async (api, [name], _o, out) => {
    const perms = await api.listPermissions(name!);
    out.table({ permissions: perms }, perms, PERMISSION_COLUMNS);
  });
  const grant = apiCommand(
    io,
    {
      name: 'grant',
      description: 'Give a user, team (of the repository’s organisation) or robot a role: read (pull), write (pull, push) or admin (and delete, settings)',
      args: ['<repository>', '<kind>', '<name>', '<role>'],
      examples: ['berth repo grant acme/app user alice write -r registry.example.com', 'berth repo grant acme/app team developers read -r registry.example.com', 'berth repo grant acme/app robot acme+ci write -r registry.example.com'],
    },
    async (api, [name, kind, subject, role], _o, out) => {
      if (!ROLES.includes(role!)) throw new ClientError('OPTION_INVALID', `${JSON.stringify(role)}: the role is read, write or admin`);
      const p = await api.setPermission(name!, kindOf(kind!), subject!, role as RepoRole);
      out.done(p, `Gave ${p.kind} ${p.name} ${p.role} on ${name!}`);
    },
  );
  const revoke = apiCommand(
    io,
    { name: 'revoke', description: 'Take a user’s, team’s or robot’s role on a repository away', args: ['<repository>', '<kind>', '<name>'], examples: ['berth repo revoke acme/app user alice -r registry.example.com'] },
    async (api, [name, kind, subject], _o, out) => {
      await api.removePermission(name!, kindOf(kind!), subject!);
      out.done({ repository: name, kind, name: subject, revoked: true }, `Revoked the role of ${kind!} ${subject!} on ${name!}`);
    },
  );
  return apiGroup(
    'repo',
    'Manage repositories: visibility, description, permissions and tags, through the management API',
    [
      'berth repo create acme/app --visibility private -r registry.example.com',
      'berth repo grant acme/app team developers write -r registry.example.com',
      'berth repo set acme/app --visibility public -r registry.example.com',
      'berth repo tags acme/app --sort pushed -r registry.example.com',
    ],
    [list, create, show, set, del, tags, permissions, grant, revoke],
  );
}
