import type { AuthService } from '../../auth/service.js';
import { principalName, type Principal } from '../../auth/access.js';
import type { NewAuditEvent } from '../../metadata/accounts.js';
import { readSmallBody, type Context } from '../context.js';
import { ApiError } from './errors.js';

/** What an API handler gets: the request context, the auth service and who is calling, path parameters. */
export interface ApiRequest {
  ctx: Context;
  auth: AuthService;
  principal: Principal;
  /** Path parameters, percent-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
}

/** What an API handler returns; `handleApi` writes it. */
export interface ApiResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type ApiHandler = (r: ApiRequest) => Promise<ApiResponse>;

export const ok = (body: unknown): ApiResponse => ({ status: 200, body });
export const created = (body: unknown): ApiResponse => ({ status: 201, body });
export const noContent = (): ApiResponse => ({ status: 204 });

/** Largest JSON request body accepted. Nothing the API takes comes near it. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * The request body as a JSON object. An empty body is `{}`; a body that is not JSON, or JSON that is not an
 * object, is `INVALID_REQUEST`; a Content-Type other than JSON is `UNSUPPORTED_MEDIA_TYPE`.
 */
export async function readJson(r: ApiRequest): Promise<Record<string, unknown>> {
  const { req } = r.ctx;
  const type = req.headers['content-type']?.split(';', 1)[0]?.trim().toLowerCase();
  const body = await readSmallBody(r.ctx, MAX_BODY_BYTES, (declared) =>
    new ApiError('PAYLOAD_TOO_LARGE', declared !== undefined ? `request body of ${declared} bytes is larger than the limit of ${MAX_BODY_BYTES}` : `request body is larger than the limit of ${MAX_BODY_BYTES} bytes`),
  );
  const text = body.toString('utf8');
  if (text.trim() === '') return {};
  if (type !== undefined && type !== 'application/json' && !type.endsWith('+json')) {
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `request bodies are JSON (Content-Type: application/json), not ${type.slice(0, 100)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError('INVALID_REQUEST', 'the request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ApiError('INVALID_REQUEST', 'the request body must be a JSON object');
  return value as Record<string, unknown>;
}

/**
 * Typed access to the fields of a JSON body. Unknown fields are refused, so a misspelt field is an error
 * rather than silently ignored.
 */
export class Fields {
  constructor(
    private readonly obj: Record<string, unknown>,
    allowed: readonly string[],
  ) {
    const unknown = Object.keys(obj).filter((k) => !allowed.includes(k));
    if (unknown.length) throw new ApiError('INVALID_REQUEST', `unknown field(s) ${unknown.map((k) => JSON.stringify(k.slice(0, 50))).join(', ')}; expected ${allowed.join(', ')}`);
  }

  string(name: string, opts: { required: true; max?: number; min?: number }): string;
  string(name: string, opts?: { required?: false; max?: number; min?: number }): string | undefined;
  string(name: string, opts: { required?: boolean; max?: number; min?: number } = {}): string | undefined {
    const v = this.obj[name];
    if (v === undefined || v === null) {
      if (opts.required) throw new ApiError('INVALID_REQUEST', `field "${name}" is required`);
      return undefined;
    }
    if (typeof v !== 'string') throw new ApiError('INVALID_REQUEST', `field "${name}" must be a string`);
    if (opts.min !== undefined && v.length < opts.min) throw new ApiError('INVALID_REQUEST', `field "${name}" must be at least ${opts.min} characters long`);
    if (v.length > (opts.max ?? 1024)) throw new ApiError('INVALID_REQUEST', `field "${name}" must be at most ${opts.max ?? 1024} characters long`);
    return v;
  }

  boolean(name: string): boolean | undefined {
    const v = this.obj[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw new ApiError('INVALID_REQUEST', `field "${name}" must be true or false`);
    return v;
  }

  oneOf<T extends string>(name: string, values: readonly T[], required: true): T;
  oneOf<T extends string>(name: string, values: readonly T[], required?: false): T | undefined;
  oneOf<T extends string>(name: string, values: readonly T[], required = false): T | undefined {
    const v = this.string(name, { required: required as false });
    if (v === undefined) return undefined;
    if (!(values as readonly string[]).includes(v)) throw new ApiError('INVALID_REQUEST', `field "${name}" must be one of ${values.join(', ')}`);
    return v as T;
  }

  /** An RFC 3339 time that must lie in the future (expiry dates). */
  futureDate(name: string): Date | undefined {
    const v = this.string(name, { max: 64 });
    if (v === undefined) return undefined;
    const d = parseTime(v, name);
    if (d.getTime() <= Date.now()) throw new ApiError('INVALID_REQUEST', `field "${name}" must be in the future`);
    return d;
  }
}

/** An RFC 3339 date-time (or a date, meaning its midnight UTC). */
export function parseTime(v: string, name: string): Date {
  const d = /^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2}))?$/.test(v) ? new Date(v) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw new ApiError('INVALID_REQUEST', `${name} must be an RFC 3339 time such as 2026-01-31T12:00:00Z, got ${JSON.stringify(v.slice(0, 64))}`);
  return d;
}

/** A non-negative integer query parameter, at most `max`. */
export function queryInt(r: ApiRequest, name: string, dflt: number, max: number): number {
  const v = r.query.get(name);
  if (v === null || v === '') return dflt;
  if (!/^\d{1,9}$/.test(v) || Number(v) > max) throw new ApiError('INVALID_REQUEST', `query parameter ${name} must be an integer from 0 to ${max}`);
  return Number(v);
}

export function queryOneOf<T extends string>(r: ApiRequest, name: string, values: readonly T[]): T | undefined {
  const v = r.query.get(name);
  if (v === null || v === '') return undefined;
  if (!(values as readonly string[]).includes(v)) throw new ApiError('INVALID_REQUEST', `query parameter ${name} must be one of ${values.join(', ')}`);
  return v as T;
}

/** Writes an audit event in the caller's name (never with a secret in it). */
export function audit(r: ApiRequest, e: Omit<NewAuditEvent, 'actor' | 'actorKind' | 'ip'>): void {
  const p = r.principal;
  r.auth.audit({ ...e, actor: principalName(p), actorKind: p.kind, ip: r.ctx.ip });
}

/** ISO time or undefined, for JSON bodies. */
export function iso(d: Date | undefined): string | undefined {
  return d?.toISOString();
}
