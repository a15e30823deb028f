import { Command, Option } from 'commander';
import type { CliIo } from '../main.js';
import { goJson } from '../output.js';
import { addRegistryFlags, registryOptions } from '../registry-flags.js';
import { globalPlatform } from '../global.js';

export function inspectCommand(io: CliIo): Command {
  return addRegistryFlags(
    new Command('inspect')
      .description('Show an image: digest, tags, platform, layers, labels and environment (as skopeo inspect)')
      .argument('<image>', 'docker://REF, oci:PATH[:REF], oci-archive:PATH[:REF], dir:PATH or docker-archive:PATH[:REF]')
      .option('--raw', 'print the manifest exactly as stored (an index for multi-arch images)')
      .option('--config', 'print the image config instead (with --raw: the config blob as stored)')
      .option('-n, --no-tags', 'do not list the repository tags (RepoTags is [])')
      .option('--retry-times <n>', 'retries on network errors, 429 and 5xx', (v) => Number(v))
      .addOption(new Option('-f, --format <format>', 'json (skopeo inspect output) or a template such as {{.Digest}}').default('json')),
  )
    .addHelpText(
      'after',
      `
Examples:
  $ berth inspect docker://registry.example.com/team/app:v1
  $ berth inspect --config docker://localhost:5000/team/app:v1 --tls-verify=false
  $ berth inspect --raw oci:./layout:v1 | jq .
  $ berth inspect --format '{{.Digest}}' dir:./app`,
    )
    .action(async (image: string, opts: Record<string, unknown>, cmd: Command) => {
      const [{ inspectImage, referenceNames }, { openImage, openManifest }, { openSource, registryOf, resolveImage }] = await Promise.all([import('../../client/inspect.js'), import('../../client/image.js'), import('../../client/open.js')]);
      const registry = registryOptions(opts, undefined, opts.retryTimes as number | undefined);
      const source = await openSource(image, { registry });
      try {
        const platform = globalPlatform(cmd);
        if (opts.config) {
          const img = await openImage(source, { platform });
          const bytes = await img.configJSON();
          io.out(opts.raw ? bytes.toString('utf8') : goJson(JSON.parse(bytes.toString('utf8'))));
          return;
        }
        if (opts.raw) {
          const top = await openManifest(source);
          io.out((await top.manifest()).bytes.toString('utf8'));
          return;
        }
        const { ref } = resolveImage(image, { registry });
        const out = await inspectImage(source, { platform, ...referenceNames(ref) });
        if (ref.transport === 'docker' && opts.tags !== false) {
          const r = registryOf(image, { registry });
          out.RepoTags = await r.transport.listTags(r.ref.with({}));
        }
        io.out(formatTemplate(opts.format as string, out));
      } finally {
        await source.close();
      }
    });
}

/**
 * `json` prints skopeo's JSON; anything else is a small Go-template subset: `{{.Field}}`, `{{json .Field}}`
 * and `{{index .Labels "key"}}`, which is what scripts use skopeo's `--format` for.
 */
export function formatTemplate(format: string, value: object): string {
  if (format === 'json') return goJson(value);
  const v = value as Record<string, unknown>;
  const rendered = format.replace(/\{\{\s*(json\s+)?(?:\.(\w+)|index\s+\.(\w+)\s+"([^"]*)")\s*\}\}/g, (_m, json: string | undefined, field?: string, map?: string, key?: string) => {
    const x = field !== undefined ? v[field] : ((v[map!] as Record<string, unknown> | null) ?? {})[key!];
    if (json) return JSON.stringify(x ?? null);
    if (x === undefined || x === null) return '<no value>';
    return Array.isArray(x) ? `[${x.join(' ')}]` : typeof x === 'object' ? `map[${Object.entries(x).map(([k, y]) => `${k}:${String(y)}`).join(' ')}]` : String(x);
  });
  return rendered.endsWith('\n') ? rendered : `${rendered}\n`;
}
