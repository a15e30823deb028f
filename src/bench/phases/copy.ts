/**
 * `berth copy` against `skopeo copy`, side by side, on the same 5-layer image of about 300 MiB (issue 3's
 * benchmark): oci: → registry, registry → oci:, registry → registry on the same host, and a re-copy when the
 * destination has everything. Both tools copy to and from one Berth server on loopback; each command is a fresh
 * process, timed end to end (so Node's start-up counts against Berth), alternating the tools.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { median, type StandaloneContext, type StandalonePhase } from '../context.js';
import { blobBytes, MiB } from '../data.js';
import { startBerthProcess } from '../../testing/processes.js';

const run = promisify(execFile);
const LAYERS = 5;

type Tool = 'berth' | 'skopeo';

async function writeLayout(dir: string, layerSize: number): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = async (bytes: Iterable<Buffer>): Promise<{ digest: string; size: number }> => {
    const tmp = join(dir, 'blobs', 'tmp');
    const hash = createHash('sha256');
    const out = createWriteStream(tmp);
    let size = 0;
    for (const chunk of bytes) {
      hash.update(chunk);
      size += chunk.length;
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    const hex = hash.digest('hex');
    await import('node:fs/promises').then((fs) => fs.rename(tmp, join(dir, 'blobs', 'sha256', hex)));
    return { digest: `sha256:${hex}`, size };
  };
  const layers = [];
  for (let i = 0; i < LAYERS; i++) layers.push(await put(blobBytes({ seed: `copy-layer-${i}`, size: layerSize })));
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/bin'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    history: layers.map((_, i) => ({ created_by: `layer ${i}` })),
  }));
  const c = await put([config]);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...c },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })),
  }));
  const m = await put([manifest]);
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion": "1.0.0"}');
  await writeFile(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }],
  }));
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
      await writeLayout(layout, layerSize);
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
        ctx.log(`  ${s.label}: berth ${b.toFixed(2)} s, skopeo ${k.toFixed(2)} s`);
        rows.push(`| ${s.label} | ${b.toFixed(2)} s | ${k.toFixed(2)} s | ${(k / b).toFixed(2)}× | ${times.berth.map((x) => x.toFixed(2)).join(', ')} / ${times.skopeo.map((x) => x.toFixed(2)).join(', ')} |`);
      }
      const version = spawnSync('skopeo', ['--version']).stdout.toString().trim();
      ctx.results.sections.push(
        [
          '## berth copy vs skopeo copy',
          '',
          `${LAYERS} incompressible layers of ${(layerSize / MiB).toFixed(0)} MiB (${total} MiB), one Berth server on loopback as the registry; ${version}; median of ${ctx.opts.reps}, tools alternating; each copy is a fresh process, timed end to end. For “oci: → registry” every copy goes to a registry started fresh for it, so the bytes are really uploaded: skopeo's blob-info cache (/var/lib/containers/cache as root, keyed by registry host) would otherwise mount the blobs from where an earlier run pushed them, and Berth keeps no such cache. “registry → registry” lets both tools mount what they can on the same host. Speed-up = skopeo time / berth time (target ≥ 1.2×).`,
          '',
          '| Scenario | berth | skopeo | Speed-up | Samples berth / skopeo |',
          '|---|---:|---:|---:|---|',
          ...rows,
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
