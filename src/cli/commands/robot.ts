import type { Command } from 'commander';
import { ClientError } from '../../client/errors.js';
import type { Robot } from '../../client/api/types.js';
import type { CliIo } from '../main.js';
import { apiCommand, apiGroup, parseExpiry, when, type Column } from './api-common.js';

const ROBOT_COLUMNS: Column<Robot>[] = [
  { header: 'NAME', value: (r) => r.name },
  { header: 'DESCRIPTION', value: (r) => r.description },
  { header: 'EXPIRES', value: (r) => when(r.expiresAt) ?? 'never' },
  { header: 'CREATED', value: (r) => when(r.createdAt) },
];

/** `namespace+name` → its two parts. */
function robotName(s: string): [string, string] {
  const plus = s.indexOf('+');
  if (plus <= 0 || plus === s.length - 1) throw new ClientError('REFERENCE_INVALID', `${JSON.stringify(s)} is not a robot name: use NAMESPACE+NAME, e.g. acme+ci`);
  return [s.slice(0, plus), s.slice(plus + 1)];
}

function robotFields(r: Robot): [string, string | undefined][] {
  return [['robot', r.name], ['description', r.description], ['expires', when(r.expiresAt) ?? 'never'], ['created', when(r.createdAt)]];
}

export function robotCommand(io: CliIo): Command {
  const list = apiCommand(io, { name: 'list', description: 'List the robot accounts of a namespace (a user or an organisation)', args: ['<namespace>'], examples: ['berth robot list acme -r registry.example.com'] }, async (api, [ns], _o, out) => {
    const robots = await api.listRobots(ns!);
    out.table({ robots }, robots, ROBOT_COLUMNS);
  });
  const create = apiCommand(
    io,
    {
      name: 'create',
      description: 'Create a robot account and print its token, once',
      args: ['<robot>'],
      options: (c) => c.option('--description <text>', 'what the robot is for').option('--expires <when>', 'expiry: a time (2026-12-31T00:00:00Z) or a duration (12h, 30d, 4w)'),
      examples: ['berth robot create acme+ci --description "CI pushes" -r registry.example.com', 'berth robot create acme+deploy --expires 30d --format json -r registry.example.com | jq -r .token'],
    },
    async (api, [name], opts, out) => {
      const [ns, short] = robotName(name!);
      const expiresAt = parseExpiry(opts.expires as string | undefined);
      const r = await api.createRobot(ns, short, { ...(opts.description ? { description: opts.description as string } : {}), ...(expiresAt ? { expiresAt } : {}) });
      out.secret(r, robotFields(r), 'Token', r.token);
    },
  );
  const show = apiCommand(io, { name: 'show', description: 'Show a robot account', args: ['<robot>'], examples: ['berth robot show acme+ci -r registry.example.com'] }, async (api, [name], _o, out) => {
    const r = await api.getRobot(...robotName(name!));
    out.record(r, robotFields(r));
  });
  const del = apiCommand(io, { name: 'delete', description: 'Delete a robot account and its permissions', args: ['<robot>'], examples: ['berth robot delete acme+ci -r registry.example.com'] }, async (api, [name], _o, out) => {
    await api.deleteRobot(...robotName(name!));
    out.done({ deleted: name }, `Deleted robot ${name!}`);
  });
  const regenerate = apiCommand(
    io,
    {
      name: 'regenerate',
      description: 'Give a robot a new token (the old one stops working) and print it, once',
      args: ['<robot>'],
      options: (c) => c.option('--expires <when>', 'expiry of the new token; without it, it does not expire'),
      examples: ['berth robot regenerate acme+ci -r registry.example.com', 'berth robot regenerate acme+ci --expires 90d --format json -r registry.example.com | jq -r .token'],
    },
    async (api, [name], opts, out) => {
      const [ns, short] = robotName(name!);
      const r = await api.regenerateRobotToken(ns, short, parseExpiry(opts.expires as string | undefined));
      out.secret(r, robotFields(r), 'Token', r.token);
    },
  );
  return apiGroup(
    'robot',
    'Manage robot accounts (NAMESPACE+NAME, logging in with a token) through the management API',
    [
      'berth robot create acme+ci -r registry.example.com',
      'berth repo grant acme/app robot acme+ci write -r registry.example.com',
      'skopeo copy --dest-creds "acme+ci:$TOKEN" oci:./app docker://registry.example.com/acme/app:v1',
    ],
    [list, create, show, del, regenerate],
  );
}
