import { Command, Option } from 'commander';
import type { CliIo } from '../main.js';

export function migrateCommand(io: CliIo): Command {
  return new Command('migrate')
    .description('Copy a whole registry to another configuration (e.g. SQLite + filesystem → PostgreSQL + S3), verifying every digest')
    .requiredOption('--from <file>', 'YAML configuration of the source registry')
    .requiredOption('--to <file>', 'YAML configuration of the target registry')
    .option('-q, --quiet', 'print only the summary')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      `
Examples:
  $ berth migrate --from /etc/berth/embedded.yaml --to /etc/berth/scaleout.yaml
  $ berth migrate --from scaleout.yaml --to embedded.yaml --format json     # and back

Running it again copies only what changed. Upload sessions in progress are not migrated.`,
    )
    .action(async (opts: { from: string; to: string; quiet?: boolean; format: 'text' | 'json' }) => {
      const [{ loadConfig, redactUrl }, { openRegistry }, { migrateRegistry }] = await Promise.all([
        import('../../app/config.js'),
        import('../../app/open.js'),
        import('../../registry/migrate.js'),
      ]);
      const [fromConfig, toConfig] = await Promise.all([loadConfig({ file: opts.from }), loadConfig({ file: opts.to })]);
      const from = await openRegistry(fromConfig);
      try {
        const to = await openRegistry(toConfig);
        try {
          if (!opts.quiet && opts.format === 'text') {
            io.err(`migrating ${from.deps.store.name}+${from.deps.driver.name} → ${to.deps.store.name}+${to.deps.driver.name} (${redactUrl(toConfig.database || 'sqlite')})\n`);
          }
          const result = await migrateRegistry(from.deps, to.deps, {
            onRepository: (repo, r) => {
              if (!opts.quiet && opts.format === 'text') io.err(`  ${repo}: ${r.manifests} manifests, ${r.blobs.copied} blobs copied, ${r.blobs.skipped} present so far\n`);
            },
          });
          io.out(
            opts.format === 'json'
              ? `${JSON.stringify(result)}\n`
              : `migrated ${result.repositories} repositories: ${result.manifests} manifests, ${result.tags} tags, ${result.blobs.copied} blobs copied (${result.blobs.bytes} bytes), ${result.blobs.skipped} already present\n`,
          );
        } finally {
          await to.close();
        }
      } finally {
        await from.close();
      }
    });
}
