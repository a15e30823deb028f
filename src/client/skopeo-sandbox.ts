/**
 * Test support: skopeo and umoci as real child processes, with a private policy.json, an empty auth file and
 * a private $HOME, so the machine's configuration never matters.
 */
import { execFile as execFileCallback, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFile = promisify(execFileCallback);

export const hasSkopeo = spawnSync('skopeo', ['--version']).status === 0;
export const hasUmoci = spawnSync('umoci', ['--version']).status === 0;

export interface Tools {
  skopeo(args: string[]): Promise<string>;
  /** `skopeo inspect --raw`, as bytes. */
  inspectRaw(ref: string): Promise<Buffer>;
  umoci(args: string[]): Promise<string>;
}

export async function makeTools(dir: string): Promise<Tools> {
  const home = join(dir, 'home');
  await mkdir(join(home, 'tmp'), { recursive: true });
  const policy = join(dir, 'policy.json');
  const auth = join(dir, 'auth.json');
  await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  await writeFile(auth, '{}');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, TMPDIR: join(home, 'tmp'), REGISTRY_AUTH_FILE: auth, XDG_RUNTIME_DIR: join(home, 'run') };
  const run = async (tool: string, args: string[], encoding: 'utf8' | 'buffer') => {
    try {
      const { stdout } = await execFile(tool, args, { env, encoding, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
      return stdout;
    } catch (err) {
      const e = err as Error & { stderr?: string | Buffer };
      throw new Error(`${tool} ${args.join(' ')}: ${String(e.stderr ?? e.message)}`, { cause: err });
    }
  };
  return {
    skopeo: async (args) => String(await run('skopeo', ['--policy', policy, ...args], 'utf8')),
    inspectRaw: async (ref) => Buffer.from(await run('skopeo', ['--policy', policy, 'inspect', '--raw', ref], 'buffer')),
    umoci: async (args) => String(await run('umoci', args, 'utf8')),
  };
}
