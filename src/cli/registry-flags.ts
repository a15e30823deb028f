import { Option, type Command } from 'commander';
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
  const authFile = get<string>('authfile');
  if (authFile) out.authFile = authFile;
  const token = get<string>('registryToken');
  if (token) out.registryToken = token;
  if (get<boolean>('noCreds')) out.noCreds = true;
  const certDir = get<string>('certDir');
  if (certDir) out.certDir = certDir;
  const tlsVerify = get<boolean>('tlsVerify');
  if (tlsVerify !== undefined) out.tlsVerify = tlsVerify;
  if (retryTimes !== undefined) out.retry = { attempts: retryTimes + 1 };
  return out;
}
