import { Option, type Command } from 'commander';
import type { Token } from '../../client/api/types.js';
import type { CliIo } from '../main.js';
import { apiCommand, apiGroup, parseExpiry, when, type Column } from './api-common.js';

const TOKEN_COLUMNS: Column<Token>[] = [
  { header: 'ID', value: (t) => t.id },
  { header: 'NAME', value: (t) => t.name },
  { header: 'KIND', value: (t) => t.kind },
  { header: 'CREATED', value: (t) => when(t.createdAt) },
  { header: 'EXPIRES', value: (t) => when(t.expiresAt) ?? 'never' },
  { header: 'LAST USED', value: (t) => when(t.lastUsedAt) ?? 'never' },
];

export function tokenCommand(io: CliIo): Command {
  const list = apiCommand(
    io,
    { name: 'list', description: 'List your app tokens and login (refresh) tokens; never their secrets', options: (c) => c.addOption(new Option('--kind <kind>', 'only this kind').choices(['app', 'refresh'])), examples: ['berth token list -r registry.example.com'] },
    async (api, _a, opts, out) => {
      const tokens = await api.listTokens(opts.kind as 'app' | 'refresh' | undefined);
      out.table({ tokens }, tokens, TOKEN_COLUMNS);
    },
  );
  const create = apiCommand(
    io,
    {
      name: 'create',
      description: 'Create an app token for scripts and print it, once (use it as a password, or as a Bearer token on the API)',
      args: ['<name>'],
      options: (c) => c.option('--expires <when>', 'expiry: a time (2026-12-31T00:00:00Z) or a duration (12h, 30d, 4w)'),
      examples: ['berth token create laptop -r registry.example.com', 'berth token create ci --expires 90d --format json -r registry.example.com | jq -r .token'],
    },
    async (api, [name], opts, out) => {
      const t = await api.createToken(name!, parseExpiry(opts.expires as string | undefined));
      out.secret(t, [['id', t.id], ['name', t.name], ['expires', when(t.expiresAt) ?? 'never']], 'Token', t.token);
    },
  );
  const revoke = apiCommand(io, { name: 'revoke', description: 'Revoke one of your tokens by id', args: ['<id>'], examples: ['berth token revoke 3f2a9c0d1e2b4a5c -r registry.example.com'] }, async (api, [id], _o, out) => {
    await api.revokeToken(id!);
    out.done({ revoked: id }, `Revoked token ${id!}`);
  });
  return apiGroup(
    'token',
    'Manage your app tokens (personal access tokens) through the management API',
    ['berth token create ci --expires 90d -r registry.example.com', 'berth token list -r registry.example.com', 'berth token revoke 3f2a9c0d1e2b4a5c -r registry.example.com'],
    [list, create, revoke],
  );
}
