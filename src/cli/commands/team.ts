import { Option, type Command } from 'commander';
import type { Team, TeamRole } from '../../client/api/types.js';
import type { CliIo } from '../main.js';
import { apiCommand, apiGroup, when, type Column } from './api-common.js';

const TEAM_COLUMNS: Column<Team>[] = [
  { header: 'NAME', value: (t) => t.name },
  { header: 'ROLE', value: (t) => t.role },
  { header: 'DESCRIPTION', value: (t) => t.description },
  { header: 'CREATED', value: (t) => when(t.createdAt) },
];

export function teamCommand(io: CliIo): Command {
  const list = apiCommand(io, { name: 'list', description: 'List the teams of an organisation', args: ['<org>'], examples: ['berth team list acme -r registry.example.com'] }, async (api, [org], _o, out) => {
    const teams = await api.listTeams(org!);
    out.table({ teams }, teams, TEAM_COLUMNS);
  });
  const show = apiCommand(io, { name: 'show', description: 'Show a team and its members', args: ['<org>', '<team>'], examples: ['berth team show acme owners -r registry.example.com'] }, async (api, [org, team], _o, out) => {
    const t = await api.getTeam(org!, team!);
    out.record(t, [['team', `${org!}/${t.name}`], ['role', t.role], ['description', t.description], ['members', (t.members ?? []).join(', ')]]);
  });
  const set = apiCommand(
    io,
    {
      name: 'set',
      description: 'Create a team, or change its role: admin (everything in the organisation), creator (may create repositories), member (what repository permissions give)',
      args: ['<org>', '<team>'],
      options: (c) =>
        c.addOption(new Option('--role <role>', 'the team’s role in the organisation').choices(['admin', 'creator', 'member']).makeOptionMandatory()).option('--description <text>', 'what the team is for'),
      examples: ['berth team set acme developers --role creator -r registry.example.com', 'berth team set acme readers --role member --description "read-only" -r registry.example.com'],
    },
    async (api, [org, team], opts, out) => {
      const t = await api.putTeam(org!, team!, opts.role as TeamRole, opts.description as string | undefined);
      out.record(t, [['team', `${org!}/${t.name}`], ['role', t.role], ['description', t.description]]);
    },
  );
  const del = apiCommand(io, { name: 'delete', description: 'Delete a team (not owners)', args: ['<org>', '<team>'], examples: ['berth team delete acme readers -r registry.example.com'] }, async (api, [org, team], _o, out) => {
    await api.deleteTeam(org!, team!);
    out.done({ deleted: `${org!}/${team!}` }, `Deleted team ${org!}/${team!}`);
  });
  const members = apiCommand(io, { name: 'members', description: 'List the members of a team', args: ['<org>', '<team>'], examples: ['berth team members acme owners -r registry.example.com'] }, async (api, [org, team], _o, out) => {
    const names = await api.listTeamMembers(org!, team!);
    out.table({ members: names }, names, [{ header: 'USER', value: (n) => n }]);
  });
  const add = apiCommand(io, { name: 'add', description: 'Add users to a team', args: ['<org>', '<team>', '<users...>'], examples: ['berth team add acme developers alice bob -r registry.example.com'] }, async (api, [org, team, ...users], _o, out) => {
    for (const u of users) await api.addTeamMember(org!, team!, u);
    out.done({ team: `${org!}/${team!}`, added: users }, `Added ${users.join(', ')} to ${org!}/${team!}`);
  });
  const remove = apiCommand(io, { name: 'remove', description: 'Remove users from a team', args: ['<org>', '<team>', '<users...>'], examples: ['berth team remove acme developers bob -r registry.example.com'] }, async (api, [org, team, ...users], _o, out) => {
    for (const u of users) await api.removeTeamMember(org!, team!, u);
    out.done({ team: `${org!}/${team!}`, removed: users }, `Removed ${users.join(', ')} from ${org!}/${team!}`);
  });
  return apiGroup(
    'team',
    'Manage the teams of an organisation and their members through the management API',
    ['berth team set acme developers --role creator -r registry.example.com', 'berth team add acme developers alice bob -r registry.example.com', 'berth team list acme -r registry.example.com --format json'],
    [list, show, set, del, members, add, remove],
  );
}
