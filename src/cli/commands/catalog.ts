import { Command, Option } from 'commander';
import type { CliIo } from '../main.js';
import { goJson } from '../output.js';
import { addRegistryFlags, registryOptions } from '../registry-flags.js';

export function catalogCommand(io: CliIo): Command {
  return addRegistryFlags(
    new Command('catalog')
      .description('List the repositories of a registry, across every page of /v2/_catalog (as crane catalog)')
      .argument('<registry>', 'docker://HOST[:PORT]')
      .option('--page-size <n>', 'repositories asked for per page (the registry may send fewer)', (v) => Number(v))
      .option('--retry-times <n>', 'retries on network errors, 429 and 5xx', (v) => Number(v))
      .addOption(new Option('--format <format>', 'output: one repository a line, or JSON {Registry, Repositories}').choices(['text', 'json']).default('text')),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ berth catalog docker://registry.example.com
  $ berth catalog docker://localhost:5000 --tls-verify=false
  $ berth catalog --format json docker://registry.example.com | jq -r '.Repositories[]'`,
    )
    .action(async (registry: string, opts: Record<string, unknown>) => {
      const { listRepositories, registryHost } = await import('../../client/catalog.js');
      const repos = await listRepositories(registry, {
        registry: registryOptions(opts, undefined, opts.retryTimes as number | undefined),
        ...(opts.pageSize ? { pageSize: opts.pageSize as number } : {}),
      });
      if (opts.format === 'json') io.out(goJson({ Registry: registryHost(registry), Repositories: repos }));
      else io.out(repos.map((r) => `${r}\n`).join(''));
    });
}
