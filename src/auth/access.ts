import type { AccountStore, RepoRole, RepositorySettings, Subject } from '../metadata/accounts.js';

/** Who is asking. A user may come in by password, app token, refresh token or a registry token. */
export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'user'; name: string; superuser: boolean }
  | { kind: 'robot'; name: string; namespace: string };

export const ANONYMOUS: Principal = { kind: 'anonymous' };

export type RepoAction = 'pull' | 'push' | 'delete';
export const REPO_ACTIONS: readonly RepoAction[] = ['pull', 'push', 'delete'];

const ROLE_ACTIONS: Record<RepoRole, RepoAction[]> = {
  read: ['pull'],
  write: ['pull', 'push'],
  admin: ['pull', 'push', 'delete'],
};

/** The display name of a principal for logs and the audit log (never a secret). */
export function principalName(p: Principal): string | undefined {
  return p.kind === 'anonymous' ? undefined : p.name;
}

/**
 * The namespace a repository belongs to: its first path component. A one-component name (`alpine`) lives in
 * the root namespace `''`, which only superusers may create in (as Docker Hub's `library/` is curated).
 */
export function namespaceOf(repo: string): string {
  const slash = repo.indexOf('/');
  return slash < 0 ? '' : repo.slice(0, slash);
}

/**
 * Quay's access model:
 * - superusers may do anything;
 * - a user owns the namespace named after them;
 * - in an organisation, teams with role `admin` may do anything, `creator` may create repositories (and get
 *   `admin` on those they create), and `member` only what repository permissions give;
 * - repository permissions `read`, `write`, `admin` give pull; pull+push; pull+push+delete, to users, teams
 *   and robots;
 * - anyone, anonymous included, may pull a public repository.
 * A repository without settings (pushed before accounts existed, or while auth was off) is private, and it
 * exists: a creator team may create only what has neither settings nor content.
 */
export class AccessControl {
  constructor(
    private readonly accounts: AccountStore,
    /** Whether the registry holds content (tags, manifests) for the repository: `MetadataStore.repositoryExists`. */
    private readonly hasContent: (repo: string) => Promise<boolean>,
  ) {}

  /** What `p` may do on `repo`. For a repository that does not exist yet, push means "may create it". */
  async actionsOn(p: Principal, repo: string): Promise<Set<RepoAction>> {
    if (p.kind === 'user' && p.superuser) return new Set(REPO_ACTIONS);
    const ns = namespaceOf(repo);
    const settings = await this.accounts.getRepository(repo);
    const actions = new Set<RepoAction>();
    if (settings?.visibility === 'public') actions.add('pull');
    if (p.kind === 'anonymous') return actions;
    const subjects: Subject[] = [{ kind: p.kind, name: p.name }];
    if (p.kind === 'user') {
      if (ns === p.name) return new Set(REPO_ACTIONS);
      for (const team of await this.accounts.teamsOf(p.name)) {
        if (team.org !== ns) continue;
        if (team.role === 'admin') return new Set(REPO_ACTIONS);
        if (team.role === 'creator' && !settings && !(await this.hasContent(repo))) {
          actions.add('pull');
          actions.add('push');
        }
        subjects.push({ kind: 'team', name: `${team.org}/${team.name}` });
      }
    }
    if (settings) for (const perm of await this.accounts.permissionsFor(repo, subjects)) for (const a of ROLE_ACTIONS[perm.role]) actions.add(a);
    return actions;
  }

  /**
   * Whether `p` may create repositories in `ns`: superusers anywhere (the root namespace `''` is theirs alone),
   * a user in their own namespace, admin and creator teams in their organisation. `asCreatorOnly`: the right
   * comes from a creator team alone, so what they create gets them `admin` on it, as in Quay.
   */
  async mayCreateIn(p: Principal, ns: string): Promise<{ allowed: boolean; asCreatorOnly: boolean }> {
    if (p.kind !== 'user') return { allowed: false, asCreatorOnly: false };
    if (p.superuser) return { allowed: true, asCreatorOnly: false };
    if (ns === '') return { allowed: false, asCreatorOnly: false };
    if (ns === p.name) return { allowed: true, asCreatorOnly: false };
    const teams = (await this.accounts.teamsOf(p.name)).filter((t) => t.org === ns);
    if (teams.some((t) => t.role === 'admin')) return { allowed: true, asCreatorOnly: false };
    if (teams.some((t) => t.role === 'creator')) return { allowed: true, asCreatorOnly: true };
    return { allowed: false, asCreatorOnly: false };
  }

  /** Whether `p` may manage the namespace: its organisation, teams and robots, or it is their own. */
  async isNamespaceAdmin(p: Principal, ns: string): Promise<boolean> {
    if (p.kind !== 'user') return false;
    if (p.superuser || p.name === ns) return true;
    return (await this.accounts.teamsOf(p.name)).some((t) => t.org === ns && t.role === 'admin');
  }

  /**
   * Records a repository that a push is about to create: private, in its namespace, created by `p`. A user who
   * could create it only as a `creator` team member is given `admin` on it, as Quay does, unless it already had
   * content (it only lacked settings). Idempotent.
   */
  async ensureRepositoryForPush(p: Principal, repo: string): Promise<{ settings: RepositorySettings; created: boolean }> {
    const hadContent = await this.hasContent(repo);
    const { settings, created } = await this.accounts.ensureRepository({ repo, namespace: namespaceOf(repo), visibility: 'private', createdBy: principalName(p) });
    if (created && !hadContent && p.kind === 'user' && (await this.mayCreateIn(p, namespaceOf(repo))).asCreatorOnly) {
      await this.accounts.setPermission({ repo, subjectKind: 'user', subject: p.name, role: 'admin' });
    }
    return { settings, created };
  }
}
