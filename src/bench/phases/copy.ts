/**
 * `berth copy` against `skopeo copy`, side by side, on the same 5-layer image of about 300 MiB (issue 3's
 * benchmark): oci: → registry, registry → oci:, registry → registry on the same host, and a re-copy when the
 * destination has everything. Both tools copy to and from one Berth server on loopback; each command is a fresh
 * process, timed end to end (so Node's start-up counts against Berth), alternating the tools.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { TarWriter } from '../../client/tar/writer.js';
import { median, type StandaloneContext, type StandalonePhase } from '../context.js';
import { blobBytes, MiB } from '../data.js';
import { startBerthProcess } from '../../testing/processes.js';

const run = promisify(execFile);
const secs = (x: number): string => (x < 1 ? `${(x * 1000).toFixed(0)} ms` : `${x.toFixed(2)} s`);
const LAYERS = 5;

type Tool = 'berth' | 'skopeo';

/** Passes bytes through, hashing and counting them. */
function measure(hash: Hash, count: { n: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      count.n += chunk.length;
      cb(null, chunk);
    },
  });
}

/**
 * An OCI layout with LAYERS real layers: each a gzip-compressed tar of one file of incompressible bytes. They
 * must really be gzip: skopeo compresses a `tar+gzip` layer whose bytes are not, which changes its digest and
 * would have it do work Berth does not (as the first version of this benchmark did).
 */
async function writeLayout(dir: string, layerSize: number): Promise<string> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const tmp = join(dir, 'blobs', 'tmp');
  const store = async (hash: Hash, size: number): Promise<{ digest: string; size: number }> => {
    const hex = hash.digest('hex');
    await rename(tmp, join(dir, 'blobs', 'sha256', hex));
    return { digest: `sha256:${hex}`, size };
  };
  const put = async (bytes: Buffer): Promise<{ digest: string; size: number }> => {
    await writeFile(tmp, bytes);
    return store(createHash('sha256').update(bytes), bytes.length);
  };
  const layers = [];
  const diffIds = [];
  for (let i = 0; i < LAYERS; i++) {
    const diffId = createHash('sha256');
    const digest = createHash('sha256');
    const tarred = new PassThrough();
    const compressed = { n: 0 };
    const written = pipeline(tarred, measure(diffId, { n: 0 }), createGzip({ level: 1 }), measure(digest, compressed), createWriteStream(tmp));
    const tar = new TarWriter(tarred);
    await tar.addFile(`layer-${i}.bin`, layerSize, Readable.from(blobBytes({ seed: `copy-layer-${i}`, size: layerSize })));
    await tar.finish();
    await written;
    diffIds.push(`sha256:${diffId.digest('hex')}`);
    layers.push(await store(digest, compressed.n));
  }
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/bin'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: layers.map((_, i) => ({ created_by: `layer ${i}` })),
  }));
  const c = await put(config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...c },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })),
  }));
  const m = await put(manifest);
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion": "1.0.0"}');
  await writeFile(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }],
  }));
  return m.digest;
}

export const copyBench: StandalonePhase = {
  name: 'copy',
  description: 'berth copy vs skopeo copy: 5-layer image of ~300 MiB between oci: and a registry',
  needs: 'skopeo',
  async run(ctx: StandaloneContext) {
    if (spawnSync('skopeo', ['--version']).status !== 0) {
      ctx.results.sections.push('## berth copy vs skopeo copy\n\nNot measured: skopeo is not installed.\n');
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'berth-bench-copy-'));
    const layerSize = (ctx.opts.quick ? 4 : 60) * MiB;
    const server = await startBerthProcess(['--data', join(dir, 'registry')]);
    const unregister = ctx.onInterrupt(async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    });
    try {
      const host = new URL(server.url).host;
      const layout = join(dir, 'layout');
      const manifestDigest = await writeLayout(layout, layerSize);
      await writeFile(join(dir, 'policy.json'), '{"default":[{"type":"insecureAcceptAnything"}]}');
      await writeFile(join(dir, 'auth.json'), '{}');
      const env = { ...process.env, REGISTRY_AUTH_FILE: join(dir, 'auth.json') };
      const berthBin = join(ctx.repoRoot, 'bin', 'berth.js');
      const copy = async (tool: Tool, src: string, dst: string): Promise<number> => {
        const flags = ['--src-tls-verify=false', '--dest-tls-verify=false', '-q'];
        const [cmd, args] =
          tool === 'berth'
            ? [process.execPath, [berthBin, '--policy', join(dir, 'policy.json'), 'copy', ...flags, src, dst]]
            : ['skopeo', ['--policy', join(dir, 'policy.json'), 'copy', ...flags, src, dst]];
        const t0 = process.hrtime.bigint();
        await run(cmd, args as string[], { env, maxBuffer: 1 << 20 });
        return Number(process.hrtime.bigint() - t0) / 1e9;
      };
      // The registry → … scenarios read this image, pushed once.
      await copy('skopeo', `oci:${layout}:v1`, `docker://${host}/bench/source:v1`);
      const pushed = await fetch(`${server.url}/v2/bench/source/manifests/v1`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
      if (pushed.headers.get('docker-content-digest') !== manifestDigest) {
        throw new Error(`skopeo pushed ${pushed.headers.get('docker-content-digest')} for ${manifestDigest}: it changed the image, so the tools would not do the same work`);
      }
      const scenarios: Array<{ label: string; freshRegistry?: boolean; src: (tool: Tool, rep: number) => string; dst: (tool: Tool, rep: number) => string }> = [
        { label: 'oci: → registry', freshRegistry: true, src: () => `oci:${layout}:v1`, dst: () => '' },
        { label: 'registry → oci:', src: () => `docker://${host}/bench/source:v1`, dst: (t, r) => `oci:${join(dir, `pull-${t}-${r}`)}:v1` },
        { label: 'registry → registry (same host)', src: () => `docker://${host}/bench/source:v1`, dst: (t, r) => `docker://${host}/bench/r2r-${t}-${r}:v1` },
        { label: 're-copy, everything present', src: () => `oci:${layout}:v1`, dst: () => `docker://${host}/bench/source:v1` },
      ];
      const rows: string[] = [];
      const total = ((LAYERS * layerSize) / MiB).toFixed(0);
      for (const s of scenarios) {
        const times: Record<Tool, number[]> = { berth: [], skopeo: [] };
        for (let rep = 0; rep < ctx.opts.reps; rep++) {
          const order: Tool[] = rep % 2 === 0 ? ['berth', 'skopeo'] : ['skopeo', 'berth'];
          for (const tool of order) {
            if (!s.freshRegistry) {
              times[tool].push(await copy(tool, s.src(tool, rep), s.dst(tool, rep)));
              continue;
            }
            const fresh = await startBerthProcess(['--data', join(dir, `fresh-${tool}-${rep}`)]);
            try {
              times[tool].push(await copy(tool, s.src(tool, rep), `docker://${new URL(fresh.url).host}/bench/push:v1`));
            } finally {
              await fresh.stop();
            }
          }
        }
        const b = median(times.berth);
        const k = median(times.skopeo);
        ctx.log(`  ${s.label}: berth ${secs(b)}, skopeo ${secs(k)}`);
        rows.push(`| ${s.label} | ${secs(b)} | ${secs(k)} | ${(k / b).toFixed(2)}× | ${times.berth.map(secs).join(', ')} / ${times.skopeo.map(secs).join(', ')} |`);
      }
      // The floor under every berth figure: a Node.js process that does nothing, in the same environment.
      const floor: number[] = [];
      for (let i = 0; i < Math.max(5, ctx.opts.reps); i++) {
        const t0 = process.hrtime.bigint();
        await run(process.execPath, ['-e', '0'], { env });
        floor.push(Number(process.hrtime.bigint() - t0) / 1e9);
      }
      const nodeFloor = median(floor);
      const extraCa = process.env.NODE_EXTRA_CA_CERTS;
      const version = spawnSync('skopeo', ['--version']).stdout.toString().trim();
      ctx.results.sections.push(
        [
          '## berth copy vs skopeo copy',
          '',
          `${LAYERS} layers of ${(layerSize / MiB).toFixed(0)} MiB (${total} MiB), each a gzip-compressed tar of one file of incompressible bytes; one Berth server on loopback as the registry; ${version}; median of ${ctx.opts.reps}, tools alternating; each copy is a fresh process, timed end to end. For “oci: → registry” every copy goes to a registry started fresh for it, so the bytes are really uploaded: skopeo's blob-info cache (/var/lib/containers/cache as root, keyed by registry host) would otherwise mount the blobs from where an earlier run pushed them, and Berth keeps no such cache. “registry → registry” lets both tools mount what they can on the same host. Speed-up = skopeo time / berth time (target ≥ 1.2×).`,
          '',
          '| Scenario | berth | skopeo | Speed-up | Samples berth / skopeo |',
          '|---|---:|---:|---:|---|',
          ...rows,
          '',
          `For scale: \`node -e 0\` (Node.js ${process.version} starting and doing nothing) took ${secs(nodeFloor)} in the same environment, median of ${floor.length}${extraCa ? `, with NODE_EXTRA_CA_CERTS=${extraCa} set, which makes every Node.js process parse those certificates at start-up` : ''}. A scenario whose skopeo time is under 1.2 × that cannot meet the target in any Node.js program.`,
          '',
        ].join('\n'),
      );
    } finally {
      unregister();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
