import type { Command } from 'commander';
import type { Organization } from '../../client/api/types.js';
import type { CliIo } from '../main.js';
import { apiCommand, apiGroup, when, type Column } from './api-common.js';

const ORG_COLUMNS: Column<Organization>[] = [
  { header: 'NAME', value: (o) => o.name },
  { header: 'EMAIL', value: (o) => o.email },
  { header: 'CREATED', value: (o) => when(o.createdAt) },
];

export function orgCommand(io: CliIo): Command {
  const list = apiCommand(io, { name: 'list', description: 'List the organisations you belong to (all of them, for superusers)', examples: ['berth org list -r registry.example.com'] }, async (api, _a, _o, out) => {
    const organizations = await api.listOrganizations();
    out.table({ organizations }, organizations, ORG_COLUMNS);
  });
  const create = apiCommand(
    io,
    {
      name: 'create',
      description: 'Create an organisation; you become the only member of its owners team',
      args: ['<org>'],
      options: (c) => c.option('--email <email>', 'contact address'),
      examples: ['berth org create acme -r registry.example.com', 'berth org create acme --email ops@acme.example -r localhost:5000 --tls-verify=false'],
    },
    async (api, [name], opts, out) => {
      const o = await api.createOrganization(name!, opts.email as string | undefined);
      out.record(o, [['created organization', o.name], ['owners team', 'owners (role admin)']]);
    },
  );
  const show = apiCommand(io, { name: 'show', description: 'Show an organisation', args: ['<org>'], examples: ['berth org show acme -r registry.example.com'] }, async (api, [name], _o, out) => {
    const o = await api.getOrganization(name!);
    out.record(o, [['organization', o.name], ['email', o.email], ['created', when(o.createdAt)], ['you are a member', o.member], ['you are an admin', o.admin]]);
  });
  const del = apiCommand(
    io,
    { name: 'delete', description: 'Delete an organisation with its teams and robots (its admins); refused while it has repositories', args: ['<org>'], examples: ['berth org delete acme -r registry.example.com'] },
    async (api, [name], _o, out) => {
      await api.deleteOrganization(name!);
      out.done({ deleted: name }, `Deleted organization ${name!}`);
    },
  );
  return apiGroup(
    'org',
    'Manage organisations through the management API',
    ['berth org create acme -r registry.example.com', 'berth org list -r registry.example.com --format json', 'berth team set acme ci --role creator -r registry.example.com'],
    [list, create, show, del],
  );
}
