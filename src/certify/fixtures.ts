/**
 * Test support: real OCI images built with real tools. umoci builds the layouts (each `unpack` + edit +
 * `repack` is one layer, `config` sets USER and labels; `umoci insert` is not used: umoci 0.4.7 writes
 * its layer without the tar end-of-archive blocks); rpmbuild and rpm (Debian's `rpm` package)
 * build packages and install them into a root with an RPM database at /var/lib/rpm, as on RHEL.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function tool(cmd: string, args: string[], cwd?: string): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { maxBuffer: 64 * 1024 * 1024, ...(cwd ? { cwd } : {}) });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr || e.message}`);
  }
}

/** An OCI layout at `dir` that umoci edits. */
export class UmociLayout {
  private constructor(readonly dir: string) {}

  /** A new layout with an empty image (no layers) tagged `base`. */
  static async create(dir: string): Promise<UmociLayout> {
    await tool('umoci', ['init', '--layout', dir]);
    await tool('umoci', ['new', '--image', `${dir}:base`]);
    return new UmociLayout(dir);
  }

  ref(tag: string): string {
    return `oci:${this.dir}:${tag}`;
  }

  /** Copies tag `from` to `to`. */
  async tag(from: string, to: string): Promise<void> {
    await tool('umoci', ['tag', '--image', `${this.dir}:${from}`, to]);
  }

  /**
   * Unpacks `from`, lets `edit` change the root filesystem, and repacks the difference as one new layer
   * tagged `to`.
   */
  async edit(from: string, to: string, edit: (rootfs: string) => Promise<void>): Promise<void> {
    const bundle = await mkdtemp(join(this.dir, '..', 'bundle-'));
    await rm(bundle, { recursive: true });
    try {
      await tool('umoci', ['unpack', '--image', `${this.dir}:${from}`, bundle]);
      await edit(join(bundle, 'rootfs'));
      await tool('umoci', ['repack', '--image', `${this.dir}:${to}`, bundle]);
    } finally {
      await rm(bundle, { recursive: true, force: true });
    }
  }

  /** Sets USER and labels on `from`, as the new tag `to` (or in place); `clearLabels` drops the old labels first. */
  async config(from: string, opts: { to?: string; user?: string; labels?: Record<string, string>; clearLabels?: boolean; architecture?: string }): Promise<void> {
    const args = ['config', '--image', `${this.dir}:${from}`];
    if (opts.to) args.push('--tag', opts.to);
    if (opts.architecture) args.push(`--architecture=${opts.architecture}`);
    if (opts.clearLabels) args.push('--clear=config.labels');
    if (opts.user !== undefined) args.push(`--config.user=${opts.user}`);
    for (const [k, v] of Object.entries(opts.labels ?? {})) args.push(`--config.label=${k}=${v}`);
    await tool('umoci', args);
  }

  /**
   * Tags `tag` as an OCI index over the images tagged `images` (each with the platform of its config), as a
   * multi-arch image is laid out. umoci has no command for indexes, so the blob and index.json are written here.
   */
  async index(tag: string, images: string[]): Promise<void> {
    const indexPath = join(this.dir, 'index.json');
    const top = JSON.parse(await readFile(indexPath, 'utf8')) as { manifests: Array<{ digest: string; size: number; mediaType: string; annotations?: Record<string, string> }> };
    const blob = async (digest: string) => readFile(join(this.dir, 'blobs', ...digest.split(':')));
    const manifests = [];
    for (const t of images) {
      const d = top.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === t)!;
      const config = JSON.parse((await blob((JSON.parse((await blob(d.digest)).toString('utf8')) as { config: { digest: string } }).config.digest)).toString('utf8')) as { os: string; architecture: string };
      manifests.push({ mediaType: d.mediaType, digest: d.digest, size: d.size, platform: { architecture: config.architecture, os: config.os } });
    }
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    await writeFile(join(this.dir, 'blobs', 'sha256', digest.slice(7)), bytes);
    top.manifests = top.manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] !== tag);
    top.manifests.push({ mediaType: 'application/vnd.oci.image.index.v1+json', digest, size: bytes.length, annotations: { 'org.opencontainers.image.ref.name': tag } });
    await writeFile(indexPath, JSON.stringify(top));
  }

  /** Removes the tag. */
  async untag(tag: string): Promise<void> {
    await tool('umoci', ['rm', '--image', `${this.dir}:${tag}`]);
  }
}

export interface SpecFile {
  path: string;
  content: string;
  /** `%config`, `%doc`, `%license`, ... */
  directive?: string;
  mode?: string;
}

export interface Spec {
  name: string;
  version: string;
  release: string;
  vendor?: string;
  arch?: string;
  files: SpecFile[];
}

/** Builds a binary RPM with rpmbuild in `topdir`; returns the path of the .rpm. */
export async function buildRpm(topdir: string, spec: Spec): Promise<string> {
  const arch = spec.arch ?? 'noarch';
  const install = spec.files.map((f) => `mkdir -p %{buildroot}$(dirname ${f.path}) && printf '%s' ${JSON.stringify(f.content)} > %{buildroot}${f.path}`).join('\n');
  const files = spec.files.map((f) => `${f.directive ? `${f.directive} ` : ''}%attr(${f.mode ?? '0644'},root,root) ${f.path}`).join('\n');
  const text = [
    `Name: ${spec.name}`,
    `Version: ${spec.version}`,
    `Release: ${spec.release}`,
    'Summary: certification test package',
    'License: MIT',
    ...(spec.vendor ? [`Vendor: ${spec.vendor}`] : []),
    `BuildArch: ${arch}`,
    '%description',
    'certification test package',
    '%install',
    install,
    '%files',
    files,
    '',
  ].join('\n');
  await mkdir(join(topdir, 'SPECS'), { recursive: true });
  const specPath = join(topdir, 'SPECS', `${spec.name}-${spec.version}-${spec.release}.spec`);
  await writeFile(specPath, text);
  await tool('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${topdir}`, '--define', '_build_id_links none', specPath]);
  return join(topdir, 'RPMS', arch, `${spec.name}-${spec.version}-${spec.release}.${arch}.rpm`);
}

/**
 * Installs (or with `upgrade`, upgrades to) `rpms` into `root` with the database at /var/lib/rpm (sqlite, as
 * RHEL 9), then checkpoints the database so that it is one self-contained rpmdb.sqlite file, as in real images.
 */
export async function installRpms(root: string, rpms: string[], opts: { upgrade?: boolean; reinstall?: boolean } = {}): Promise<void> {
  const mode = opts.reinstall ? '--reinstall' : opts.upgrade ? '-U' : '-i';
  await tool('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', mode, '--nodeps', '--noscripts', '--ignoreos', '--ignorearch', ...rpms]);
  const db = join(root, 'var/lib/rpm/rpmdb.sqlite');
  await tool('sqlite3', [db, 'PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;']);
  await rm(`${db}-wal`, { force: true });
  await rm(`${db}-shm`, { force: true });
  await rm(join(root, 'var/lib/rpm/.rpm.lock'), { force: true });
}

/** An os-release file as UBI 9 has it (ID="rhel", PLATFORM_ID="platform:el9"), or with other values. */
export function osRelease(fields: { id?: string; platform?: string } = {}): string {
  return [`NAME="Red Hat Enterprise Linux"`, `VERSION="9.4 (Plow)"`, `ID="${fields.id ?? 'rhel'}"`, `ID_LIKE="fedora"`, `VERSION_ID="9.4"`, `PLATFORM_ID="platform:${fields.platform ?? 'el9'}"`, ''].join('\n');
}

/** The labels HasRequiredLabel wants, with values that respect the trademark rule. */
export const GOOD_LABELS: Readonly<Record<string, string>> = {
  name: 'example/widgets',
  vendor: 'Example, Inc.',
  version: '1.0',
  release: '1',
  summary: 'Widgets server',
  description: 'Serves widgets.',
  maintainer: 'Example support <support@example.com>',
};

/** The Red Hat package of the base layer: a binary, a setuid binary, a library, a config file and a doc. */
export const RH_BASE: Spec = {
  name: 'rh-base',
  version: '1.0',
  release: '1.el9',
  vendor: 'Red Hat, Inc.',
  files: [
    { path: '/usr/bin/rh-tool', content: '#!/bin/sh\necho rh-tool 1.0\n', mode: '0755' },
    { path: '/usr/bin/rh-suid', content: '#!/bin/sh\necho suid\n', mode: '4755' },
    { path: '/usr/lib64/librh.so.1', content: 'library 1.0' },
    { path: '/etc/rh.conf', content: 'setting=1\n', directive: '%config(noreplace)' },
    { path: '/usr/share/doc/rh-base/README', content: 'read me\n', directive: '%doc' },
  ],
};

/**
 * A layout at `dir` whose tag `good` passes every check of the container policy: layer 0 is a "UBI" layer
 * (os-release ID="rhel", PLATFORM_ID el9, an sqlite RPM database with RH_BASE from vendor "Red Hat, Inc."),
 * layer 1 adds /licenses/LICENSE and the application; USER 1001 and GOOD_LABELS are set. `ubi` is the base
 * alone. RPMs are built under `work`.
 */
export async function buildGoodImage(dir: string, work: string): Promise<{ layout: UmociLayout; rpms: Map<string, string> }> {
  const layout = await UmociLayout.create(dir);
  const rpms = new Map<string, string>();
  rpms.set('rh-base', await buildRpm(join(work, 'rpmbuild'), RH_BASE));
  await layout.edit('base', 'ubi', async (root) => {
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(join(root, 'etc/os-release'), osRelease());
    await installRpms(root, [rpms.get('rh-base')!]);
  });
  await layout.edit('ubi', 'app', async (root) => {
    await mkdir(join(root, 'licenses'), { recursive: true });
    await writeFile(join(root, 'licenses/LICENSE'), 'Example license: use it well.\n');
    await mkdir(join(root, 'opt/widgets'), { recursive: true });
    await writeFile(join(root, 'opt/widgets/run.sh'), '#!/bin/sh\necho widgets\n', { mode: 0o755 });
  });
  await layout.config('app', { to: 'good', user: '1001', labels: { ...GOOD_LABELS } });
  return { layout, rpms };
}

/**
 * Signs `rpms` in place with a fresh RSA key made in `gnupgHome` (gpg + rpmsign), as a vendor signs its
 * packages; returns the key id (16 lower-case hex digits) that rpm records in each header's signature.
 */
export async function signRpms(gnupgHome: string, rpms: string[]): Promise<string> {
  await mkdir(gnupgHome, { recursive: true, mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: gnupgHome };
  const gpg = (args: string[]) => run('gpg', ['--batch', ...args], { env });
  await gpg(['--passphrase', '', '--quick-gen-key', 'Berth Certify Test <certify-test@example.invalid>', 'rsa2048', 'sign', 'never']);
  const { stdout } = await gpg(['--with-colons', '--list-keys']);
  const keyId = /^pub:[^:]*:[^:]*:[^:]*:([0-9A-F]{16}):/m.exec(stdout)?.[1]?.toLowerCase();
  if (!keyId) throw new Error(`gpg made no key: ${stdout}`);
  // Debian's rpm names /usr/bin/gpg2 as %__gpg, which gnupg no longer installs: point it at gpg.
  const gpgPath = (await run('sh', ['-c', 'command -v gpg'])).stdout.trim();
  await run('rpmsign', ['--addsign', '--define', `__gpg ${gpgPath}`, '--define', '_gpg_name Berth Certify Test', '--define', `_gpg_path ${gnupgHome}`, ...rpms], { env });
  return keyId;
}
