import type { Command } from 'commander';
import { ClientError } from '../../client/errors.js';
import type { User } from '../../client/api/types.js';
import type { CliIo } from '../main.js';
import { apiCommand, apiGroup, readStdinSecret, when, type Column } from './api-common.js';

const USER_COLUMNS: Column<User>[] = [
  { header: 'NAME', value: (u) => u.name },
  { header: 'SUPERUSER', value: (u) => u.superuser },
  { header: 'EMAIL', value: (u) => u.email },
  { header: 'CREATED', value: (u) => when(u.createdAt) },
];

/** The new password: `--password`, or `--password-stdin`. */
async function newPassword(opts: Record<string, unknown>): Promise<string> {
  if (opts.password !== undefined && opts.passwordStdin) throw new ClientError('OPTION_INVALID', '--password and --password-stdin cannot be used together');
  const p = opts.passwordStdin ? await readStdinSecret() : (opts.password as string | undefined);
  if (!p) throw new ClientError('OPTION_INVALID', 'give the password with --password-stdin (or --password, visible to other users in the process list)');
  return p;
}

export function userCommand(io: CliIo): Command {
  const whoami = apiCommand(
    io,
    { name: 'whoami', description: 'Show who the stored credentials log in as, with organisations and teams', examples: ['berth user whoami -r registry.example.com'] },
    async (api, _args, _opts, out) => {
      const me = await api.currentUser();
      if (me.kind === 'robot') out.record(me, [['robot', me.name], ['namespace', me.namespace]]);
      else {
        out.record(me, [
          ['user', me.name],
          ['superuser', me.superuser],
          ['email', me.email],
          ['organizations', me.organizations.map((o) => `${o.name} (${o.teams.map((t) => `${t.name}:${t.role}`).join(', ')})`).join('; ')],
        ]);
      }
    },
  );
  const list = apiCommand(io, { name: 'list', description: 'List every user (superusers)', examples: ['berth user list -r registry.example.com --format json'] }, async (api, _a, _o, out) => {
    const users = await api.listUsers();
    out.table({ users }, users, USER_COLUMNS);
  });
  const show = apiCommand(io, { name: 'show', description: 'Show a user (superusers, or yourself)', args: ['<user>'], examples: ['berth user show alice -r registry.example.com'] }, async (api, [name], _o, out) => {
    const u = await api.getUser(name!);
    out.record(u, [['user', u.name], ['superuser', u.superuser], ['email', u.email], ['created', when(u.createdAt)]]);
  });
  const create = apiCommand(
    io,
    {
      name: 'create',
      description: 'Create a user (superusers)',
      args: ['<user>'],
      options: (c) =>
        c
          .option('--password <password>', 'the new user’s password (prefer --password-stdin)')
          .option('--password-stdin', 'read the new user’s password from standard input')
          .option('--email <email>', 'e-mail address')
          .option('--superuser', 'make the user a superuser'),
      examples: ['echo "$PASS" | berth user create alice --password-stdin -r registry.example.com', 'berth user create ops --superuser --password-stdin -r localhost:5000 --tls-verify=false < pass.txt'],
    },
    async (api, [name], opts, out) => {
      const u = await api.createUser({ name: name!, password: await newPassword(opts), ...(opts.email ? { email: opts.email as string } : {}), ...(opts.superuser ? { superuser: true } : {}) });
      out.record(u, [['created user', u.name], ['superuser', u.superuser]]);
    },
  );
  const del = apiCommand(
    io,
    { name: 'delete', description: 'Delete a user with their memberships, permissions, tokens and robots (superusers)', args: ['<user>'], examples: ['berth user delete alice -r registry.example.com'] },
    async (api, [name], _o, out) => {
      await api.deleteUser(name!);
      out.done({ deleted: name }, `Deleted user ${name!}`);
    },
  );
  const passwd = apiCommand(
    io,
    {
      name: 'passwd',
      description: 'Change your own password (needs the current one), or, as a superuser, anyone’s',
      args: ['[user]'],
      options: (c) =>
        c
          .option('--password <password>', 'the new password (prefer --password-stdin)')
          .option('--password-stdin', 'read the new password from standard input')
          .option('--current-password <password>', 'your current password (default: the one --creds or auth.json holds, if any)'),
      examples: [
        'echo "$NEW" | berth user passwd --password-stdin --current-password "$OLD" -r registry.example.com   # yours; then berth login again',
        'echo "$NEW" | berth user passwd alice --password-stdin -r registry.example.com   # as a superuser',
      ],
    },
    async (api, [name], opts, out) => {
      const password = await newPassword(opts);
      if (name) {
        await api.setUserPassword(name, password);
        out.done({ user: name, passwordChanged: true }, `Changed the password of ${name}`);
        return;
      }
      const current = (opts.currentPassword as string | undefined) ?? (await api.storedPassword());
      if (current === undefined) throw new ClientError('OPTION_INVALID', 'give your current password with --current-password (the stored login holds a token, not your password)');
      await api.changeOwnPassword(current, password);
      out.done({ passwordChanged: true }, `Changed your password. Log in again with it: berth login ${api.registry}`);
    },
  );
  return apiGroup(
    'user',
    'Manage users and your own password through the management API',
    ['berth user whoami -r registry.example.com', 'echo "$PASS" | berth user create alice --password-stdin -r registry.example.com', 'berth user list -r registry.example.com --format json'],
    [whoami, list, show, create, del, passwd],
  );
}
