/** What the management API (`/api/v1/`) answers, as docs/api.md and its OpenAPI document describe it. */

export type TeamRole = 'admin' | 'creator' | 'member';
export type RepoRole = 'read' | 'write' | 'admin';
export type Visibility = 'public' | 'private';
export type SubjectKind = 'user' | 'team' | 'robot';

export interface User {
  name: string;
  email?: string;
  superuser: boolean;
  createdAt?: string;
}

export type CurrentUser =
  | (User & { kind: 'user'; organizations: { name: string; teams: { name: string; role: TeamRole }[] }[] })
  | { kind: 'robot'; name: string; namespace: string };

export interface Organization {
  name: string;
  email?: string;
  createdAt?: string;
  admin?: boolean;
  member?: boolean;
}

export interface Team {
  name: string;
  role: TeamRole;
  description: string;
  createdAt?: string;
  members?: string[];
}

export interface Robot {
  name: string;
  shortName: string;
  namespace: string;
  description: string;
  expiresAt?: string;
  createdAt?: string;
}

export interface Repository {
  name: string;
  namespace: string;
  visibility: Visibility;
  description: string;
  createdBy?: string;
  createdAt?: string;
  access?: ('pull' | 'push' | 'delete')[];
}

export interface Permission {
  kind: SubjectKind;
  name: string;
  role: RepoRole;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Tag {
  name: string;
  digest: string;
  mediaType: string;
  manifestSize: number;
  size: number;
  platforms: Platform[];
  pushedAt: string;
}

export interface TagPage {
  name: string;
  total: number;
  tags: Tag[];
  next?: number;
}

export interface Token {
  id: string;
  name: string;
  kind: 'app' | 'refresh';
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
}

export interface AuditEvent {
  id: number;
  at: string;
  action: string;
  actor?: string;
  actorKind: 'user' | 'robot' | 'anonymous' | 'system';
  namespace?: string;
  repository?: string;
  ip?: string;
  detail?: Record<string, unknown>;
}

export interface AuditFilter {
  namespace?: string;
  repository?: string;
  actor?: string;
  action?: string;
  since?: string;
  until?: string;
  before?: number;
  limit?: number;
}
