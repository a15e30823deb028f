import { namespaceOf } from '../../auth/access.js';
import type { AuditEvent, AuditQuery } from '../../metadata/accounts.js';
import { ApiError } from './errors.js';
import { adminRepo, parseRepo, requireUser } from './guard.js';
import { iso, ok, parseTime, queryInt, type ApiRequest, type ApiResponse } from './request.js';

/**
 * The audit log, newest first. Superusers see everything. Anyone else sees one namespace they administer
 * (their own by default), or one repository they administer; a private repository they cannot read is 404,
 * as everywhere.
 */

function eventJson(e: AuditEvent) {
  return {
    id: e.id,
    at: iso(e.at),
    action: e.action,
    ...(e.actor !== undefined ? { actor: e.actor } : {}),
    actorKind: e.actorKind,
    ...(e.namespace !== undefined ? { namespace: e.namespace } : {}),
    ...(e.repo !== undefined ? { repository: e.repo } : {}),
    ...(e.ip !== undefined ? { ip: e.ip } : {}),
    ...(e.detail !== undefined ? { detail: e.detail } : {}),
  };
}

// GET /audit
export async function queryAudit(r: ApiRequest): Promise<ApiResponse> {
  const p = requireUser(r);
  const q: AuditQuery = { limit: Math.max(1, queryInt(r, 'limit', 100, 1000)) };
  const text = (k: string) => {
    const v = r.query.get(k);
    return v === null || v === '' ? undefined : v;
  };
  q.actor = text('actor');
  q.action = text('action');
  const since = text('since');
  const until = text('until');
  if (since) q.since = parseTime(since, 'since');
  if (until) q.until = parseTime(until, 'until');
  const before = text('before');
  if (before !== undefined) {
    if (!/^\d{1,15}$/.test(before)) throw new ApiError('INVALID_REQUEST', 'query parameter before must be an event id');
    q.before = Number(before);
  }
  const repo = text('repository');
  const ns = text('namespace');
  if (repo !== undefined) {
    q.repo = parseRepo(repo);
    if (ns !== undefined && ns !== namespaceOf(q.repo)) throw new ApiError('INVALID_REQUEST', `repository ${q.repo} is not in namespace ${ns}`);
  }
  if (ns !== undefined) q.namespace = ns;
  if (!p.superuser) {
    if (q.repo !== undefined) {
      await adminRepo(r, q.repo);
    } else {
      q.namespace ??= p.name;
      if (!(await r.auth.access.isNamespaceAdmin(p, q.namespace))) throw new ApiError('FORBIDDEN', `you do not administer ${q.namespace}`);
    }
  }
  // What this node has not written yet (audit writes are batched) belongs in the answer: read your writes.
  await r.auth.flushAudit();
  const events = await r.auth.accounts.queryAudit(q);
  const limit = q.limit!;
  return ok({ events: events.map(eventJson), ...(events.length === limit && limit > 0 ? { next: events[events.length - 1]!.id } : {}) });
}
