/**
 * policy.json (containers-policy.json(5)): which images a copy may read. Parsing is strict, as in
 * containers/image: an unknown or misspelt field rejects the whole file rather than being ignored.
 *
 * - `default` is required; `transports.<name>.<scope>` overrides it, the most specific scope winning:
 *   docker scopes are `host/ns/repo:tag` (or `@digest`), then `host/ns/repo`, its namespaces, `host`, then
 *   `*.domain` wildcards, then `""`; `oci:`/`oci-archive:`/`dir:` scopes are absolute paths and their parents;
 *   `docker-archive:` has only `""`.
 * - Every requirement of the chosen list must accept the image: `insecureAcceptAnything` does, `reject` never
 *   does; `signedBy` and `sigstoreSigned` need signature verification, which is not supported yet (the
 *   signing issue adds it), so they refuse with an error that says so.
 *
 * Files: `$HOME/.config/containers/policy.json` if it exists, else `/etc/containers/policy.json`.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ClientError } from '../errors.js';
import { DockerReference } from '../transports/registry/reference.js';
import type { ImageReference } from '../transport.js';

export type PolicyRequirement =
  | { type: 'insecureAcceptAnything' }
  | { type: 'reject' }
  | { type: 'signedBy'; keyType: string; keyPath?: string; keyPaths?: string[]; keyData?: string; signedIdentity?: unknown }
  | { type: 'sigstoreSigned'; [field: string]: unknown };

export interface Policy {
  default: PolicyRequirement[];
  /** transport name → scope → requirements. */
  transports: Record<string, Record<string, PolicyRequirement[]>>;
}

const REQUIREMENT_FIELDS: Record<PolicyRequirement['type'], readonly string[]> = {
  insecureAcceptAnything: ['type'],
  reject: ['type'],
  signedBy: ['type', 'keyType', 'keyPath', 'keyPaths', 'keyData', 'signedIdentity'],
  sigstoreSigned: ['type', 'keyPath', 'keyPaths', 'keyData', 'keyDatas', 'fulcio', 'pki', 'rekorPublicKeyPath', 'rekorPublicKeyPaths', 'rekorPublicKeyData', 'rekorPublicKeyDatas', 'signedIdentity'],
};

function fail(where: string, msg: string): never {
  throw new ClientError('CONFIG_INVALID', `${where}: ${msg}`);
}

function parseRequirements(v: unknown, where: string): PolicyRequirement[] {
  if (!Array.isArray(v)) fail(where, 'must be an array of requirements');
  if (v.length === 0) fail(where, 'an empty requirement list is not allowed (use [{"type":"reject"}] or [{"type":"insecureAcceptAnything"}])');
  return v.map((r, i) => {
    const w = `${where}[${i}]`;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) fail(w, 'must be an object');
    const o = r as Record<string, unknown>;
    const type = o['type'];
    if (typeof type !== 'string' || !(type in REQUIREMENT_FIELDS)) fail(w, `unknown requirement type ${JSON.stringify(type)}`);
    const allowed = REQUIREMENT_FIELDS[type as PolicyRequirement['type']];
    for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(w, `unknown field ${JSON.stringify(k)} for ${type}`);
    if (type === 'signedBy') {
      if (o['keyType'] !== 'GPGKeys' && o['keyType'] !== 'signedByGPGKeys') fail(w, 'signedBy needs keyType "GPGKeys"');
      if (['keyPath', 'keyPaths', 'keyData'].filter((k) => o[k] !== undefined).length !== 1) fail(w, 'signedBy needs exactly one of keyPath, keyPaths, keyData');
    }
    return o as PolicyRequirement;
  });
}

/** Parses policy.json text strictly; ClientError `CONFIG_INVALID` names the file and the field. */
export function parsePolicy(text: string, where = 'policy.json'): Policy {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ClientError('CONFIG_INVALID', `${where}: not valid JSON`, undefined, { cause });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(where, 'not a JSON object');
  const o = json as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'default' && k !== 'transports') fail(where, `unknown field ${JSON.stringify(k)}`);
  if (o['default'] === undefined) fail(where, '"default" is required');
  const policy: Policy = { default: parseRequirements(o['default'], `${where}: default`), transports: {} };
  const transports = o['transports'] ?? {};
  if (typeof transports !== 'object' || transports === null || Array.isArray(transports)) fail(where, '"transports" must be an object');
  for (const [name, scopes] of Object.entries(transports as Record<string, unknown>)) {
    if (typeof scopes !== 'object' || scopes === null || Array.isArray(scopes)) fail(where, `transports.${name} must be an object`);
    const out: Record<string, PolicyRequirement[]> = {};
    for (const [scope, reqs] of Object.entries(scopes as Record<string, unknown>)) {
      checkScope(name, scope, where);
      out[scope] = parseRequirements(reqs, `${where}: transports.${name}[${JSON.stringify(scope)}]`);
    }
    policy.transports[name] = out;
  }
  return policy;
}

function checkScope(transport: string, scope: string, where: string): void {
  if (scope === '') return;
  const w = `${where}: transports.${transport}[${JSON.stringify(scope)}]`;
  if (transport === 'docker' && scope.startsWith('*.') && (scope.includes('/') || scope.includes(':'))) fail(w, 'a wildcard scope is a domain only');
  if ((transport === 'oci' || transport === 'oci-archive' || transport === 'dir') && (!scope.startsWith('/') || scope === '/')) fail(w, 'must be an absolute path other than /');
  if (transport === 'docker-archive' || transport === 'tarball') fail(w, 'this transport takes only the "" scope');
}

/** Reads `path`, or `$HOME/.config/containers/policy.json`, else `/etc/containers/policy.json`. */
export async function loadPolicy(opts: { path?: string; env?: NodeJS.ProcessEnv; systemDir?: string } = {}): Promise<Policy> {
  const env = opts.env ?? process.env;
  const candidates = opts.path ? [opts.path] : [...(env['HOME'] ? [join(env['HOME'], '.config', 'containers', 'policy.json')] : []), join(opts.systemDir ?? '/etc/containers', 'policy.json')];
  for (const [i, p] of candidates.entries()) {
    try {
      return parsePolicy(await readFile(p, 'utf8'), p);
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      if (!missing) throw err instanceof ClientError ? err : new ClientError('CONFIG_INVALID', `cannot read ${p}: ${(err as Error).message}`, undefined, { cause: err });
      if (i === candidates.length - 1) throw new ClientError('CONFIG_INVALID', `no policy.json: ${candidates.join(' and ')} do not exist (or pass --insecure-policy)`, undefined, { cause: err });
    }
  }
  throw new ClientError('CONFIG_INVALID', 'no policy.json');
}

/** The scopes that may hold requirements for `ref`, most specific first (`""` last). */
export function policyScopes(ref: ImageReference): string[] {
  if (ref instanceof DockerReference) {
    const out = [ref.fullName, ref.name];
    const parts = ref.name.split('/');
    for (let i = parts.length - 1; i >= 1; i--) out.push(parts.slice(0, i).join('/'));
    const host = ref.registry.replace(/:\d+$/, '');
    const labels = host.split('.');
    for (let i = 1; i < labels.length; i++) out.push(`*.${labels.slice(i).join('.')}`);
    return [...new Set(out), ''];
  }
  const s = String(ref);
  const details = s.slice(s.indexOf(':') + 1);
  if (ref.transport === 'oci' || ref.transport === 'oci-archive' || ref.transport === 'dir') {
    const colon = ref.transport === 'dir' ? -1 : details.indexOf(':');
    const path = colon === -1 ? details : details.slice(0, colon);
    const out = colon === -1 ? [path] : [details, path];
    for (let p = dirname(path); p !== '/' && p !== '.'; p = dirname(p)) out.push(p);
    return [...out, ''];
  }
  return [''];
}

export interface PolicyDecision {
  /** The scope whose requirements applied (`default` when none matched). */
  scope: string;
  requirements: PolicyRequirement[];
}

/**
 * Checks `ref` against the policy. Resolves to the requirements that applied when the image is accepted;
 * throws ClientError `POLICY_REJECTED` (naming the scope) when a requirement refuses it or cannot be checked.
 */
export function evaluatePolicy(policy: Policy, ref: ImageReference): PolicyDecision {
  const scopes = policy.transports[ref.transport] ?? {};
  let decision: PolicyDecision = { scope: 'default', requirements: policy.default };
  for (const s of policyScopes(ref)) {
    const reqs = scopes[s];
    if (reqs) {
      decision = { scope: `transports.${ref.transport}[${JSON.stringify(s)}]`, requirements: reqs };
      break;
    }
  }
  for (const r of decision.requirements) {
    if (r.type === 'insecureAcceptAnything') continue;
    if (r.type === 'reject') throw new ClientError('POLICY_REJECTED', `${String(ref)} is rejected by policy (${decision.scope}: reject)`, decision);
    throw new ClientError('POLICY_REJECTED', `${String(ref)}: policy ${decision.scope} requires ${r.type}, and signature verification is not supported yet`, decision);
  }
  return decision;
}
