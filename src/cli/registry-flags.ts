import { InvalidArgumentError, Option, type Command } from 'commander';
import type { LayerCompression, ManifestFormat } from '../client/copy.js';
import { ClientError } from '../client/errors.js';
import type { RegistryOptions } from '../client/transports/registry/session.js';

/** Flags a command that talks to registries takes, as skopeo spells them; `side` adds `--src-`/`--dest-`. */
export function addRegistryFlags(cmd: Command, side?: 'src' | 'dest'): Command {
  const p = side ? `${side}-` : '';
  const whose = side === 'src' ? ' of the source registry' : side === 'dest' ? ' of the destination registry' : '';
  return cmd
    .option(`--${p}creds <user[:password]>`, `credentials${whose}, instead of auth.json`)
    .option(`--${p}username <user>`, `user name${whose}`)
    .option(`--${p}password <password>`, `password${whose}`)
    .option(`--${p}authfile <path>`, `auth.json to read${whose} (default: REGISTRY_AUTH_FILE, then the usual places)`)
    .option(`--${p}registry-token <token>`, `bearer token${whose}, sent as is`)
    .option(`--${p}no-creds`, `access${whose || ' the registry'} anonymously`)
    .option(`--${p}cert-dir <dir>`, `CA certificates and client keys${whose} (*.crt, *.cert, *.key)`)
    .addOption(new Option(`--${p}tls-verify [bool]`, `require HTTPS and verify certificates${whose}`).argParser(parseBool));
}

export function parseBool(v: string | undefined): boolean {
  if (v === undefined || v === 'true') return true;
  if (v === 'false') return false;
  throw new ClientError('REFERENCE_INVALID', `expected true or false, got ${JSON.stringify(v)}`);
}

/** The RegistryOptions the flags of one side describe. */
export function registryOptions(opts: Record<string, unknown>, side?: 'src' | 'dest', retryTimes?: number): RegistryOptions {
  const key = (name: string) => (side ? `${side}${name[0]!.toUpperCase()}${name.slice(1)}` : name);
  const get = <T>(name: string) => opts[key(name)] as T | undefined;
  const out: RegistryOptions = {};
  const creds = get<string>('creds');
  const username = get<string>('username');
  if (creds !== undefined) {
    const i = creds.indexOf(':');
    out.credentials = i === -1 ? { username: creds, password: '' } : { username: creds.slice(0, i), password: creds.slice(i + 1) };
  } else if (username !== undefined) {
    out.credentials = { username, password: get<string>('password') ?? '' };
  }
  // copy and sync also take a plain --authfile for both sides (skopeo's "primary" credentials file).
  const authFile = get<string>('authfile') ?? (side ? (opts['authfile'] as string | undefined) : undefined);
  if (authFile) out.authFile = authFile;
  const token = get<string>('registryToken');
  if (token) out.registryToken = token;
  if (get<boolean>('noCreds')) out.noCreds = true;
  const certDir = get<string>('certDir');
  if (certDir) out.certDir = certDir;
  const tlsVerify = get<boolean>('tlsVerify');
  if (tlsVerify !== undefined) out.tlsVerify = tlsVerify;
  if (retryTimes !== undefined) out.retry = { attempts: retryTimes + 1 };
  const chunkSize = get<number>('chunkSize');
  if (chunkSize !== undefined) out.chunkSize = chunkSize;
  return out;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3 };

/** A byte count as people write it: `1048576`, `512KiB`, `8MiB`, `5M` (decimal), `1GiB`. */
function parseSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(v.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  const n = m && unit ? Math.round(Number(m[1]) * unit) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('use a byte count such as 1048576, 512KiB or 8MiB');
  return n;
}

/** The two things `-f/--format` chooses on copy and sync: skopeo's manifest type, and berth's output format. */
export interface FormatFlag {
  manifest?: ManifestFormat;
  output?: 'text' | 'json';
}

const MANIFEST_FORMATS = ['oci', 'v2s2', 'v2s1'];

/** Parses repeated `--format` values: one manifest type (skopeo's meaning) and/or one output format. */
function parseFormatFlag(value: string, previous: FormatFlag | undefined): FormatFlag {
  const out: FormatFlag = { ...previous };
  if (MANIFEST_FORMATS.includes(value)) {
    if (out.manifest && out.manifest !== value) throw new InvalidArgumentError(`only one manifest type may be given (${out.manifest} and ${value})`);
    out.manifest = value as ManifestFormat;
  } else if (value === 'text' || value === 'json') {
    if (out.output && out.output !== value) throw new InvalidArgumentError(`only one output format may be given (${out.output} and ${value})`);
    out.output = value;
  } else {
    throw new InvalidArgumentError('use oci, v2s2 or v2s1 (the manifest type, as skopeo), or text or json (the output); repeat --format for both');
  }
  return out;
}

/**
 * The flags copy and sync share, as skopeo names them: --all, --preserve-digests, --digestfile, parallelism,
 * retries, --quiet, --authfile (both sides), -f/--format (manifest type and/or output), layer (de)compression,
 * and every --src-/--dest- registry flag.
 */
export function addCopyFlags(cmd: Command, digestfile: string): Command {
  cmd
    .option('-a, --all', 'copy every image of a multi-arch index, and the index')
    .option('--preserve-digests', 'fail rather than change any manifest digest')
    .option('--digestfile <path>', digestfile)
    .option('--image-parallel-copies <n>', 'blobs copied at once (default 6)', (v) => Number(v))
    .option('--retry-times <n>', 'retries on network errors, 429 and 5xx', (v) => Number(v))
    .option('-q, --quiet', 'print nothing but errors')
    .option('--authfile <path>', 'auth.json for both sides, unless --src-authfile or --dest-authfile names another (as skopeo)')
    .addOption(
      new Option('-f, --format <format>', 'manifest type the destination gets: oci, v2s2 or v2s1 (as skopeo; default: the source\'s, converted only if the destination needs it); or the output: text or json. May be given twice').argParser(parseFormatFlag),
    )
    .option('--dest-compress', 'compress uncompressed layers (gzip unless --dest-compress-format says otherwise)')
    .option('--dest-decompress', 'store layers uncompressed')
    .addOption(new Option('--dest-compress-format <format>', 'compress layers with FORMAT (recompressing layers in another one); implies --dest-compress').choices(['gzip', 'zstd']))
    .option('--dest-compress-level <level>', 'compression level for the layers berth compresses (gzip 1-9); implies --dest-compress', (v) => Number(v))
    .option('--dest-chunk-size <size>', 'push blobs to a registry in PATCH chunks of SIZE (e.g. 8MiB, 512KiB, 1000000), resuming a failed chunk where the registry stopped; default: one request per blob, as skopeo', parseSize);
  addRegistryFlags(cmd, 'src');
  return addRegistryFlags(cmd, 'dest');
}

export interface CopyFlags {
  preserveDigests: boolean;
  concurrency?: number;
  retryTimes?: number;
  quiet: boolean;
  output: 'text' | 'json';
  manifestFormat?: ManifestFormat;
  layerCompression?: LayerCompression;
}

/** What the flags `addCopyFlags` added say. */
export function copyFlags(opts: Record<string, unknown>): CopyFlags {
  const format = opts.format as FormatFlag | undefined;
  const out: CopyFlags = { preserveDigests: Boolean(opts.preserveDigests), quiet: Boolean(opts.quiet), output: format?.output ?? 'text' };
  if (opts.imageParallelCopies !== undefined) out.concurrency = opts.imageParallelCopies as number;
  if (opts.retryTimes !== undefined) out.retryTimes = opts.retryTimes as number;
  if (format?.manifest) out.manifestFormat = format.manifest;
  const level = opts.destCompressLevel as number | undefined;
  const compressFormat = opts.destCompressFormat as 'gzip' | 'zstd' | undefined;
  const compress = Boolean(opts.destCompress) || compressFormat !== undefined || level !== undefined;
  if (opts.destDecompress) {
    if (compress) throw new ClientError('OPTION_INVALID', 'cannot compress and decompress at the same time (--dest-decompress with --dest-compress*)');
    out.layerCompression = { mode: 'decompress' };
  } else if (compress) {
    out.layerCompression = { mode: 'compress', ...(compressFormat ? { format: compressFormat } : {}), ...(level !== undefined ? { level } : {}) };
  }
  return out;
}
