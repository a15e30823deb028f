import type { Command } from 'commander';
import type { AuditEvent } from '../../client/api/types.js';
import type { CliIo } from '../main.js';
import { apiCommand, timeFlag, when, type Column } from './api-common.js';

const EVENT_COLUMNS: Column<AuditEvent>[] = [
  { header: 'ID', value: (e) => e.id },
  { header: 'TIME', value: (e) => when(e.at) },
  { header: 'ACTION', value: (e) => e.action },
  { header: 'ACTOR', value: (e) => e.actor ?? `(${e.actorKind})` },
  { header: 'REPOSITORY', value: (e) => e.repository ?? e.namespace },
  { header: 'IP', value: (e) => e.ip },
  { header: 'DETAIL', value: (e) => (e.detail ? JSON.stringify(e.detail) : undefined) },
];

/** `--since 24h` means 24 hours ago; a time is taken as is. */
export function logsCommand(io: CliIo): Command {
  return apiCommand(
    io,
    {
      name: 'logs',
      description: 'Query the audit log, newest first: a namespace or repository you administer (your own namespace by default), or everything as a superuser',
      options: (c) =>
        c
          .option('--namespace <ns>', 'only this namespace')
          .option('--repository <repo>', 'only this repository')
          .option('--actor <name>', 'only what this user or robot did')
          .option('--action <action>', 'only this action (push, pull, delete, permission_set, robot_create, login_failure, ...)')
          .option('--since <when>', 'from this time (RFC 3339) or this long ago (90m, 24h, 7d)')
          .option('--until <when>', 'before this time (RFC 3339) or this long ago')
          .option('--before <id>', 'only events older than this id (paging)', (v) => Number(v))
          .option('-n, --limit <n>', 'at most this many events (default 100, at most 1000)', (v) => Number(v)),
      examples: [
        'berth logs --namespace acme --since 24h -r registry.example.com',
        'berth logs --repository acme/app --action push -r registry.example.com',
        'berth logs --action login_failure --format json -r registry.example.com   # superusers',
      ],
    },
    async (api, _a, opts, out) => {
      const r = await api.queryAudit({
        namespace: opts.namespace as string | undefined,
        repository: opts.repository as string | undefined,
        actor: opts.actor as string | undefined,
        action: opts.action as string | undefined,
        since: timeFlag(opts.since as string | undefined, '--since', -1),
        until: timeFlag(opts.until as string | undefined, '--until', -1),
        before: opts.before as number | undefined,
        limit: opts.limit as number | undefined,
      });
      out.table(r, r.events, EVENT_COLUMNS);
      if (r.next !== undefined) out.note(`More events follow: add --before ${r.next}`);
    },
  );
}
