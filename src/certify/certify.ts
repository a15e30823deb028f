/**
 * `certifyImage`: opens an image on any transport, picks its platforms (every image of a multi-arch index, or
 * the one asked for), runs the checks of a policy on each, and optionally writes preflight's artifacts.
 *
 * @example
 * const run = await certifyImage('docker://quay.io/example/app:1.0', { policy: 'container' })
 * process.stdout.write(formatJson(run.platforms.map((p) => p.results), run.library))
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Descriptor, Platform } from '../content/descriptor.js';
import type { Digest } from '../content/digest.js';
import { openManifest, type Image, type Index } from '../client/image.js';
import { resolveImage, type OpenOptions } from '../client/open.js';
import { formatPlatform, resolvePlatform, type PlatformSpec } from '../client/platform.js';
import type { RegistryTransport } from '../client/transports/registry/transport.js';
import type { DockerReference } from '../client/transports/registry/reference.js';
import type { ImageSource } from '../client/transport.js';
import { inRunOrder, runChecks, type Results } from './engine.js';
import { namingOf, type ImageNaming } from './naming.js';
import { checksFor, type PolicyName } from './policy.js';
import { formatJson, formatJunit, formatText, goMarshalIndent, type TestLibrary } from './report.js';
import { rpmManifest, type RpmManifest } from './rpm-manifest.js';
import { Subject } from './subject.js';
import { firstTagPage } from './tags.js';
import { loadBaseImageData } from './ubi-layers.js';

export interface CertifyOptions extends OpenOptions {
  policy?: PolicyName;
  /** Only this platform of a multi-arch image (missing fields: os defaults to linux). Default: every platform. */
  platform?: PlatformSpec;
  /** A base-image data file (ubi-layers.ts format: UBI top-layer diffIDs, signing key ids) instead of the shipped tables. */
  ubiLayersFile?: string;
  /** What results.json names as `test_library`. */
  library?: TestLibrary;
  /** Write results.json, results-junit.xml, results.txt, preflight.log and rpm-manifest.json here, one folder per architecture. */
  artifacts?: string;
  /** Also read each platform's labels into `PlatformRun.labels`. */
  withLabels?: boolean;
}

export interface PlatformRun {
  platform: Platform | undefined;
  digest: Digest;
  results: Results;
  /** preflight's rpm-manifest.json, when artifacts were asked for and the policy is not a scratch one. */
  rpmManifest?: RpmManifest;
  /** The image's labels, when `withLabels` was asked for (what a catalog shows). */
  labels?: Record<string, string>;
}

export interface CertifyRun {
  image: string;
  policy: PolicyName;
  library: TestLibrary;
  platforms: PlatformRun[];
  /** True iff every platform passed. */
  passed: boolean;
}

/** What results.json names as `test_library` (preflight names itself there); the CLI puts in its own version. */
export const DEFAULT_LIBRARY: TestLibrary = { name: 'berth certify', version: '0.1.0', commit: process.env['BERTH_COMMIT'] ?? 'unknown' };

/** The images of an index to certify: real platforms only (buildx attestations say `unknown/unknown`). */
function platformChildren(index: Index): Descriptor[] {
  return index.children().filter((d) => d.platform && d.platform.os !== 'unknown' && d.platform.architecture !== 'unknown');
}

async function imagesOf(view: Image | Index, want: PlatformSpec | undefined, signal?: AbortSignal): Promise<Image[]> {
  if (view.kind === 'image') return [view];
  const opts = signal ? { signal } : {};
  const children = platformChildren(view);
  const picked = want ? [resolvePlatform(children, { os: want.os ?? 'linux', ...want })] : children;
  const out: Image[] = [];
  for (const d of picked) {
    if (d.mediaType.includes('index') || d.mediaType.includes('manifest.list')) out.push(...(await imagesOf(await view.index(d.digest, opts), want, signal)));
    else out.push(await view.image(d.digest, opts));
  }
  return out;
}

/** Certifies `image` (any transport) under `opts.policy` (default `container`). */
export async function certifyImage(image: string, opts: CertifyOptions = {}): Promise<CertifyRun> {
  const { ref, transport } = resolveImage(image, opts);
  const naming = namingOf(ref);
  const listTags = ref.transport === 'docker' ? () => firstTagPage(transport as RegistryTransport, ref as DockerReference, opts.signal) : undefined;
  const source = await transport.newSource(ref, opts.signal ? { signal: opts.signal } : {});
  try {
    return await certifySource(source, naming, { ...opts, ...(listTags ? { listTags } : {}) });
  } finally {
    await source.close();
  }
}

export interface CertifySourceOptions extends Omit<CertifyOptions, keyof OpenOptions> {
  signal?: AbortSignal;
  /** HasUniqueTag's tag list (the first page of the repository's tags); without it only the reference's tag counts. */
  listTags?: () => Promise<string[]>;
}

/**
 * Certifies what an open `source` names, as `naming` calls it. This is `certifyImage` without opening a
 * transport: the registry certifies images from its own storage through a source of its own. The caller
 * closes the source.
 */
export async function certifySource(source: ImageSource, naming: ImageNaming, opts: CertifySourceOptions = {}): Promise<CertifyRun> {
  const policy = opts.policy ?? 'container';
  const library = opts.library ?? DEFAULT_LIBRARY;
  const baseData = await loadBaseImageData(opts.ubiLayersFile);
  const { listTags } = opts;
  const view = await openManifest(source, opts.signal ? { signal: opts.signal } : {});
  const images = await imagesOf(view, opts.platform, opts.signal);
  const platforms: PlatformRun[] = [];
  for (const img of images) {
    const subject = new Subject({ image: img, naming, baseData, ...(listTags ? { listTags } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
    try {
      const results = await runChecks(checksFor(policy), subject, naming.display);
      const p: PlatformRun = { platform: img.platform, digest: img.digest, results };
      // preflight writes the RPM manifest for every non-scratch run, empty when there is no database.
      if (opts.artifacts && !policy.startsWith('scratch')) p.rpmManifest = rpmManifest((await subject.rpmDatabase().catch(() => undefined))?.packages ?? []);
      if (opts.withLabels) p.labels = await subject.labels().catch(() => ({}));
      platforms.push(p);
    } finally {
      await subject.close();
    }
  }
  const run: CertifyRun = { image: naming.display, policy, library, platforms, passed: platforms.every((p) => p.results.passed) };
  if (opts.artifacts) await writeArtifacts(run, opts.artifacts);
  return run;
}

/** The artifact folder of a platform: its architecture (and variant when two images share one), as preflight names them. */
function folderOf(p: PlatformRun, all: PlatformRun[]): string {
  const arch = p.platform?.architecture ?? 'unknown';
  const clash = all.filter((q) => (q.platform?.architecture ?? 'unknown') === arch).length > 1;
  return clash ? [p.platform?.os, arch, p.platform?.variant].filter(Boolean).join('-') : arch;
}

/** preflight's artifacts: results.json, results-junit.xml, rpm-manifest.json, the text report and preflight.log (every check's reasons). */
export async function writeArtifacts(run: CertifyRun, dir: string): Promise<void> {
  for (const p of run.platforms) {
    const out = join(dir, folderOf(p, run.platforms));
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'results.json'), formatJson(p.results, run.library));
    await writeFile(join(out, 'results-junit.xml'), formatJunit(p.results));
    await writeFile(join(out, 'results.txt'), formatText(p.results, { policy: run.policy, platformOf: () => formatPlatform(p.platform) }));
    await writeFile(join(out, 'preflight.log'), logOf(p));
    if (p.rpmManifest) await writeFile(join(out, 'rpm-manifest.json'), `${goMarshalIndent(p.rpmManifest)}\n`);
  }
}

function logOf(p: PlatformRun): string {
  const r = p.results;
  const lines = [`image ${r.image} digest ${p.digest} platform ${formatPlatform(p.platform)}`];
  for (const [status, o] of inRunOrder(r)) {
    lines.push(`check=${o.check.name} result=${status.toUpperCase()} elapsed=${o.elapsedMs}ms`);
    for (const d of o.details) lines.push(`  ${d}`);
    if (o.error && 'code' in o.error) lines.push(`  code=${String((o.error as { code: unknown }).code)}`);
  }
  return `${lines.join('\n')}\n`;
}
