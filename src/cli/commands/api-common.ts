import { Command, Option } from 'commander';
import type { ApiClient } from '../../client/api/client.js';
import { ClientError } from '../../client/errors.js';
import type { CliIo } from '../main.js';
import { goJson } from '../output.js';
import { parseBool, registryOptions } from '../registry-flags.js';

/**
 * What the management commands (`berth org|team|robot|repo|token|user|logs`) share: the registry they talk
 * to (`--registry HOST`, else `BERTH_REGISTRY`), the credentials `berth login` stored (or skopeo's
 * `--creds`, `--authfile`, `--registry-token`, `--tls-verify`, `--cert-dir`), and the output format
 * (`--format table|json`).
 */

export type ApiFormat = 'table' | 'json';

export function addApiFlags(cmd: Command): Command {
  // skopeo's credential flags, less --username/--password: `berth user` uses --password for the new password.
  return cmd
    .option('-r, --registry <host>', 'the registry (HOST[:PORT]); default: $BERTH_REGISTRY')
    .addOption(new Option('--format <format>', 'output: a table, or the API’s JSON').choices(['table', 'json']).default('table'))
    .option('--creds <user[:password]>', 'credentials, instead of those `berth login` stored')
    .option('--authfile <path>', 'auth.json to read (default: REGISTRY_AUTH_FILE, then the usual places)')
    .option('--registry-token <token>', 'bearer token (an app token berth_app_…), sent as is')
    .option('--cert-dir <dir>', 'CA certificates and client keys (*.crt, *.cert, *.key)')
    .addOption(new Option('--tls-verify [bool]', 'require HTTPS and verify certificates (false: plain HTTP allowed)').argParser(parseBool));
}

/** A leaf command with the API flags and examples; `run` gets a client that is closed afterwards. */
export function apiCommand(
  io: CliIo,
  spec: { name: string; description: string; args?: string[]; examples: string[]; options?: (c: Command) => Command },
  run: (api: ApiClient, args: string[], opts: Record<string, unknown>, out: Output) => Promise<void>,
): Command {
  let cmd = new Command(spec.name).description(spec.description);
  for (const a of spec.args ?? []) cmd.argument(a);
  if (spec.options) cmd = spec.options(cmd);
  addApiFlags(cmd).addHelpText('after', `\nExamples:\n${spec.examples.map((e) => `  $ ${e}`).join('\n')}`);
  cmd.action(async (...all: unknown[]) => {
    const opts = all[all.length - 2] as Record<string, unknown>;
    const args = all.slice(0, all.length - 2).flat() as string[];
    // Loaded when a command runs: the registry session behind it is a third of the CLI's start-up otherwise.
    const { openApiClient } = await import('../../client/api/client.js');
    const api = openApiClient(registryOf(opts), clientOptions(opts));
    try {
      await run(api, args, opts, new Output(io, (opts.format as ApiFormat | undefined) ?? 'table'));
    } finally {
      api.close();
    }
  });
  return cmd;
}

/** A command group (`berth org`) with examples of its subcommands. */
export function apiGroup(name: string, description: string, examples: string[], subs: Command[]): Command {
  const g = new Command(name).description(description);
  for (const s of subs) g.addCommand(s);
  return g.addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}`);
}

function registryOf(opts: Record<string, unknown>): string {
  const host = (opts.registry as string | undefined) ?? process.env['BERTH_REGISTRY'];
  if (!host) throw new ClientError('OPTION_INVALID', 'which registry? Give --registry HOST[:PORT] or set BERTH_REGISTRY');
  return host;
}

function clientOptions(opts: Record<string, unknown>) {
  const r = registryOptions({ creds: opts.creds, authfile: opts.authfile, registryToken: opts.registryToken, certDir: opts.certDir, tlsVerify: opts.tlsVerify });
  return {
    ...(r.credentials ? { credentials: r.credentials } : {}),
    ...(r.authFile ? { authFile: r.authFile } : {}),
    ...(r.registryToken ? { registryToken: r.registryToken } : {}),
    ...(r.noCreds ? { noCreds: true } : {}),
    ...(r.certDir ? { certDir: r.certDir } : {}),
    ...(r.tlsVerify !== undefined ? { tlsVerify: r.tlsVerify } : {}),
  };
}

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | boolean | undefined;
}

/** Prints results as the API's JSON or as an aligned table. */
export class Output {
  constructor(
    private readonly io: CliIo,
    readonly format: ApiFormat,
  ) {}

  /** `json` is what `--format json` prints: the API's answer as is. */
  table<T>(json: unknown, rows: T[], columns: Column<T>[]): void {
    if (this.format === 'json') {
      this.io.out(goJson(json));
      return;
    }
    const cells = rows.map((r) => columns.map((c) => cell(c.value(r))));
    const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
    const line = (vals: string[]) => vals.map((v, i) => (i === vals.length - 1 ? v : v.padEnd(widths[i]!))).join('  ').trimEnd();
    this.io.out(`${line(columns.map((c) => c.header))}\n`);
    for (const row of cells) this.io.out(`${line(row)}\n`);
  }

  /** One object: its JSON, or `key: value` lines. */
  record(json: unknown, fields: [string, string | number | boolean | undefined][]): void {
    if (this.format === 'json') {
      this.io.out(goJson(json));
      return;
    }
    const w = Math.max(...fields.map(([k]) => k.length)) + 1;
    for (const [k, v] of fields) if (v !== undefined && v !== '') this.io.out(`${`${k}:`.padEnd(w)} ${cell(v)}\n`);
  }

  /** A confirmation: `{}`-free JSON for scripts (`{"done": ...}`), or the sentence. */
  done(json: unknown, sentence: string): void {
    this.io.out(this.format === 'json' ? goJson(json) : `${sentence}\n`);
  }

  /** A hint for people (more pages follow, ...): on stderr, and only in table mode. */
  note(s: string): void {
    if (this.format === 'table') this.io.err(`${s}\n`);
  }

  /** A secret shown once: in table mode on its own line, with a warning on stderr. */
  secret(json: unknown, fields: [string, string | number | boolean | undefined][], label: string, secret: string): void {
    if (this.format === 'json') {
      this.io.out(goJson(json));
      return;
    }
    this.record(json, fields);
    this.io.out(`${label}: ${secret}\n`);
    this.io.err(`Store the ${label.toLowerCase()} now: it is not shown again.\n`);
  }
}

function cell(v: string | number | boolean | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
}

/** `--expires`: an RFC 3339 time, or a duration from now (`90m`, `12h`, `30d`, `4w`). */
export function parseExpiry(v: string | undefined): string | undefined {
  return timeFlag(v, '--expires', 1);
}

/**
 * A time flag: an ISO time as given, or a duration (`90m`, `12h`, `30d`, `4w`) from now, `direction` 1 into the
 * future (`--expires`) or -1 into the past (`--since`). Anything else is an error naming the flag.
 */
export function timeFlag(v: string | undefined, flag: string, direction: 1 | -1): string | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)([mhdw])$/.exec(v);
  if (m) {
    const unit = { m: 60, h: 3600, d: 86_400, w: 604_800 }[m[2] as 'm' | 'h' | 'd' | 'w'];
    return new Date(Date.now() + direction * Number(m[1]) * unit * 1000).toISOString();
  }
  if (Number.isNaN(Date.parse(v))) throw new ClientError('OPTION_INVALID', `${flag} ${JSON.stringify(v)}: give a time (2026-12-31T00:00:00Z) or a duration (90m, 12h, 30d, 4w)`);
  return v;
}

/** A local time for tables, to the minute, in UTC. */
export function when(iso: string | undefined): string | undefined {
  return iso?.replace(/:\d{2}(\.\d+)?Z$/, 'Z').replace('T', ' ');
}

/** Reads all of stdin (a password given with --password-stdin), without the one trailing newline. */
export async function readStdinSecret(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}
