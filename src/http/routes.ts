import type { Handler } from './context.js';
import { getBlob, headBlob, removeBlob } from './blobs.js';
import { deleteUpload, getUploadStatus, patchUpload, postUpload, putUpload } from './uploads.js';
import { deleteManifestHandler, getOrHeadManifest, putManifestHandler } from './manifests.js';
import { getCatalog, getReferrers, getTags } from './listings.js';
import { getBase, getHealthz, getMetrics, getReadyz } from './ops.js';
import { getToken, postToken } from './token.js';
import { handleApi } from './api/index.js';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface Route {
  /** Stable label for logs and metrics. */
  name: string;
  pattern: RegExp;
  methods: Partial<Record<Method, Handler>>;
}

/**
 * The whole route table (distribution-spec v1.1 end-1 … end-14, plus operations). Repository names contain
 * slashes, so each pattern anchors on its suffix; order matters only where suffixes overlap (uploads before
 * blobs).
 */
export const ROUTES: Route[] = [
  { name: 'base', pattern: /^\/v2\/?$/, methods: { GET: getBase, HEAD: getBase } },
  // The token endpoint (Quay's path). No repository route can match it: those all end in a fixed suffix.
  { name: 'token', pattern: /^\/v2\/auth$/, methods: { GET: getToken, POST: postToken } },
  { name: 'catalog', pattern: /^\/v2\/_catalog$/, methods: { GET: getCatalog } },
  { name: 'tags', pattern: /^\/v2\/(?<name>.+)\/tags\/list$/, methods: { GET: getTags } },
  {
    name: 'manifest',
    pattern: /^\/v2\/(?<name>.+)\/manifests\/(?<reference>[^/]+)$/,
    methods: { GET: getOrHeadManifest, HEAD: getOrHeadManifest, PUT: putManifestHandler, DELETE: deleteManifestHandler },
  },
  { name: 'uploads', pattern: /^\/v2\/(?<name>.+)\/blobs\/uploads\/?$/, methods: { POST: postUpload } },
  {
    name: 'upload',
    pattern: /^\/v2\/(?<name>.+)\/blobs\/uploads\/(?<id>[^/]+)$/,
    methods: { GET: getUploadStatus, PATCH: patchUpload, PUT: putUpload, DELETE: deleteUpload },
  },
  { name: 'blob', pattern: /^\/v2\/(?<name>.+)\/blobs\/(?<digest>[^/]+)$/, methods: { GET: getBlob, HEAD: headBlob, DELETE: removeBlob } },
  { name: 'referrers', pattern: /^\/v2\/(?<name>.+)\/referrers\/(?<digest>[^/]+)$/, methods: { GET: getReferrers } },
  { name: 'healthz', pattern: /^\/healthz$/, methods: { GET: getHealthz, HEAD: getHealthz } },
  { name: 'readyz', pattern: /^\/readyz$/, methods: { GET: getReadyz, HEAD: getReadyz } },
  { name: 'metrics', pattern: /^\/metrics$/, methods: { GET: getMetrics } },
  // The management API routes its own paths (src/http/api/routes.ts).
  { name: 'api', pattern: /^\/api\/v1\//, methods: { GET: handleApi, POST: handleApi, PUT: handleApi, PATCH: handleApi, DELETE: handleApi } },
];

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

export function matchRoute(path: string): RouteMatch | undefined {
  for (const route of ROUTES) {
    const m = route.pattern.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.groups ?? {})) params[k] = safeDecode(v);
    return { route, params };
  }
  return undefined;
}

function safeDecode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
