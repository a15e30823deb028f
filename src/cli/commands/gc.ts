import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { CliIo } from '../main.js';

export function gcCommand(io: CliIo): Command {
  return new Command('gc')
    .description('Collect garbage: abandoned uploads, untagged manifests and unreferenced blobs (online-safe)')
    .option('--data <dir>', 'data directory (default ./data)')
    .option('--config <file>', 'YAML configuration file')
    .option('--sweep-storage', 'also delete stored bytes that no record accounts for (left by a crash); lists all of storage')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      `
Examples:
  $ berth gc --data /var/lib/berth
  $ berth gc --format json
  $ berth gc --sweep-storage --config berth.yaml   # after a crash: bytes nothing records

When a server is serving the data directory, it is asked to collect now (SIGUSR2) and reports in its log.`,
    )
    .action(async (opts: { data?: string; config?: string; sweepStorage?: boolean; format: 'text' | 'json' }) => {
      const [{ isEmbedded, loadConfig }, { openRegistry }, { gcOptions, readDataDirHolder }, { collectGarbage }] = await Promise.all([
        import('../../app/config.js'),
        import('../../app/open.js'),
        import('../../app/serve.js'),
        import('../../registry/gc.js'),
      ]);
      const config = await loadConfig({ file: opts.config });
      if (opts.data) config.data = opts.data;
      if (opts.sweepStorage) config.gc.sweepStorage = true;
      const holder = isEmbedded(config) ? await readDataDirHolder(join(resolve(config.data), 'berth.pid')) : undefined;
      if (holder !== undefined && opts.sweepStorage) {
        throw new Error(`a server (pid ${holder}) is serving ${config.data}: it sweeps storage on its schedule when gc.sweepStorage is true; it cannot be asked to from here`);
      }
      if (holder !== undefined) {
        process.kill(holder, 'SIGUSR2');
        const msg = { delegated: true, pid: holder };
        io.out(opts.format === 'json' ? `${JSON.stringify(msg)}\n` : `asked the running server (pid ${holder}) to collect garbage; it logs the result\n`);
        return;
      }
      const opened = await openRegistry(config);
      try {
        const result = await collectGarbage(opened.deps, gcOptions(config));
        io.out(
          opts.format === 'json'
            ? `${JSON.stringify(result)}\n`
            : !result.ran
              ? 'another node is collecting garbage right now; nothing done\n'
              : `deleted ${result.manifests} manifests, ${result.links} blob links, ${result.blobs} blobs (${result.bytes} bytes), ${result.uploads} abandoned uploads${config.gc.sweepStorage ? `, ${result.strays} stray files (${result.strayBytes} bytes)` : ''} in ${result.durationMs} ms\n`,
        );
      } finally {
        await opened.close();
      }
    });
}
