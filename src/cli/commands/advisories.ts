import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Command, Option } from 'commander';
import type { CliIo } from '../main.js';

interface SourceReport {
  source: string;
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: number;
}

/** Downloads `url` into `dir`, streaming, as a `.zip` or `.json` file `loadAdvisories` recognises. */
async function download(url: string, dir: string): Promise<string> {
  const res = await fetch(url, { redirect: 'follow' });
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new Error(`downloading ${url}: HTTP ${res.status} ${res.statusText}`);
  }
  const type = res.headers.get('content-type') ?? '';
  const zip = /\.zip$/i.test(new URL(url).pathname) || /zip/i.test(type);
  const file = join(dir, zip ? 'advisories.zip' : 'advisories.json');
  await pipeline(Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>), createWriteStream(file));
  return file;
}

export function advisoriesCommand(io: CliIo): Command {
  const cmd = new Command('advisories')
    .description('Manage the advisory data a registry grades its images with')
    .addHelpText(
      'after',
      `
Examples:
  $ berth advisories import --data /var/lib/berth ./osv/Debian.zip
  $ berth advisories import --help`,
    );
  cmd.addCommand(
    new Command('import')
      .description('Import advisory data (OSV, Red Hat CSAF/VEX, Alpine secdb, Debian security tracker) into the registry')
      .argument('<source...>', 'a JSON file, an OSV export zip, a directory of these, or an http(s) URL of one')
      .option('--data <dir>', 'data directory (default ./data)')
      .option('--config <file>', 'YAML configuration file (the registry whose metadata store receives the data)')
      .option('--complete', 'each source is a complete snapshot: advisories imported from it before and missing now are removed')
      .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
      .addHelpText(
        'after',
        `
An import is incremental: advisories whose content did not change are left alone, withdrawn ones are removed,
and a repeated import changes nothing. After an import that changed anything, the server re-grades every
stored image against the new data, without reading layers again. It can run while the server is serving.

Where each source publishes its data: see docs/scanning.md.

Examples:
  $ berth advisories import --data /var/lib/berth ./osv/Debian.zip
  $ berth advisories import --config berth.yaml https://security.alpinelinux.org/... --complete
  $ berth advisories import ./csaf-vex/ ./secdb/main.json --format json`,
      )
      .action(async (sources: string[], opts: { data?: string; config?: string; complete?: boolean; format: 'text' | 'json' }) => {
        const [{ loadConfig }, { openRegistry }, { importAdvisories }, { loadAdvisories }] = await Promise.all([
          import('../../app/config.js'),
          import('../../app/open.js'),
          import('../../app/scanner-data.js'),
          import('../../scan/advisories/load.js'),
        ]);
        const config = await loadConfig({ file: opts.config });
        if (opts.data) config.data = opts.data;
        const opened = await openRegistry(config);
        const tmp = await mkdtemp(join(tmpdir(), 'berth-advisories-'));
        const reports: SourceReport[] = [];
        let revision = 0;
        try {
          for (const source of sources) {
            const path = /^https?:\/\//i.test(source) ? await download(source, tmp) : source;
            const r = await importAdvisories(opened.deps.store.scans, loadAdvisories(path), { source, complete: Boolean(opts.complete) });
            reports.push({ source, added: r.added, changed: r.changed, removed: r.removed, unchanged: r.unchanged });
            revision = r.revision;
          }
          const total = await opened.deps.store.scans.countAdvisories();
          if (opts.format === 'json') io.out(`${JSON.stringify({ sources: reports, total, revision })}\n`);
          else {
            for (const r of reports) io.out(`${r.source}: ${r.added.length} added, ${r.changed.length} changed, ${r.removed.length} removed, ${r.unchanged} unchanged\n`);
            io.out(`${total} advisories stored (revision ${revision})\n`);
          }
        } finally {
          await rm(tmp, { recursive: true, force: true });
          await opened.close();
        }
      }),
  );
  return cmd;
}
