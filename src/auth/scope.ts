/**
 * The Docker token scope grammar (distribution docs/spec/auth/scope.md):
 *
 *   scope         := resourcescope [ ' ' resourcescope ]*
 *   resourcescope := resourcetype ":" resourcename ":" action [ ',' action ]*
 *
 * A resource name may carry a registry host with a port (`localhost:5000/team/app`), so the type is split off at
 * the first colon and the actions at the last one. The class suffix of a type (`repository(plugin)`) is ignored.
 */

export type Action = 'pull' | 'push' | 'delete' | '*';

export interface ResourceScope {
  type: string;
  name: string;
  actions: string[];
}

/** Parses one resource scope; undefined when it does not follow the grammar (such scopes are ignored, not fatal). */
export function parseResourceScope(s: string): ResourceScope | undefined {
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const type = s.slice(0, first).replace(/\([^)]*\)$/, '');
  const name = s.slice(first + 1, last);
  const actions = s
    .slice(last + 1)
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  if (!/^[a-z0-9]+$/.test(type) || !name || actions.length === 0) return undefined;
  return { type, name, actions };
}

/** Every resource scope of `scope` parameters (GET repeats `scope`; OAuth POST packs them space-separated). */
export function parseScopes(values: readonly string[]): ResourceScope[] {
  return values.flatMap((v) => v.split(' ')).filter(Boolean).flatMap((s) => parseResourceScope(s) ?? []);
}

export function formatScope(s: ResourceScope): string {
  return `${s.type}:${s.name}:${s.actions.join(',')}`;
}

/**
 * The repository a scope's name denotes on this registry: a leading `host[:port]/` is dropped when the first
 * component looks like a host (it has a dot or a port, or is `localhost`), as clients may send either form.
 */
export function repositoryOfScopeName(name: string): string {
  const slash = name.indexOf('/');
  if (slash < 0) return name;
  const first = name.slice(0, slash);
  return /[.:]/.test(first) || first === 'localhost' ? name.slice(slash + 1) : name;
}
