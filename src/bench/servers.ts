/**
 * Starts and stops the two registries under test, each on loopback with a temporary data directory:
 * - berth: `node bin/berth.js serve --listen 127.0.0.1:PORT --data DIR`
 * - reference: CNCF distribution (`docker-registry serve CONFIG`) with a temporary YAML config.
 * Readiness is `GET /v2/` answering 200. Peak RSS is read from /proc/PID/status (VmHWM).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export type RegistryKind = 'berth' | 'reference';

export const LABEL: Record<RegistryKind, string> = { berth: 'Berth', reference: 'Reference (distribution 2.8)' };

export interface RunningRegistry {
  readonly kind: RegistryKind;
  readonly base: string;
  readonly pid: number;
  readonly dataDir: string;
  readonly logFile: string;
  /** Resets the kernel's peak-RSS counter to the current RSS (writes 5 to clear_refs). False if not allowed. */
  resetPeak(): boolean;
  /** VmHWM in bytes, or undefined once the process has gone. */
  peakRss(): number | undefined;
  /** VmRSS in bytes. */
  rss(): number | undefined;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function statusField(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function waitReady(base: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`exited (${child.exitCode ?? child.signalCode}) before /v2/ answered; log tail:\n${await tail(logFile)}`);
    }
    try {
      const res = await fetch(`${base}/v2/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`GET ${base}/v2/ not ready after ${timeoutMs} ms (${last}); log tail:\n${await tail(logFile)}`);
}

async function tail(file: string, lines = 15): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function launch(
  kind: RegistryKind,
  cmd: string,
  args: string[],
  port: number,
  dataDir: string,
  cleanupDir: string,
  env: NodeJS.ProcessEnv = {},
): Promise<RunningRegistry> {
  const logFile = join(cleanupDir, `${kind}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const base = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid ?? -1;

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
      if (!done) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    log.end();
    await rm(cleanupDir, { recursive: true, force: true });
  };

  try {
    await waitReady(base, child, logFile, 20_000);
  } catch (err) {
    const msg = (err as Error).message;
    await stop();
    throw new Error(`${LABEL[kind]}: ${msg}`);
  }

  return {
    kind,
    base,
    pid,
    dataDir,
    logFile,
    resetPeak() {
      try {
        writeFileSync(`/proc/${pid}/clear_refs`, '5');
        return true;
      } catch {
        return false;
      }
    },
    peakRss: () => statusField(pid, 'VmHWM'),
    rss: () => statusField(pid, 'VmRSS'),
    stop,
  };
}

export async function startReference(binary = '/usr/bin/docker-registry'): Promise<RunningRegistry> {
  if (!existsSync(binary)) throw new Error(`${LABEL.reference}: ${binary} not found`);
  const dir = await mkdtemp(join(tmpdir(), 'berth-bench-ref-'));
  const dataDir = join(dir, 'data');
  const port = await freePort();
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${dataDir}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  return launch('reference', binary, ['serve', config], port, dataDir, dir);
}

/**
 * `repoRoot` holds bin/berth.js and the dist/ it loads. The server runs open, as the reference registry does
 * in these runs.
 */
export async function startBerth(repoRoot: string): Promise<RunningRegistry> {
  const entry = join(repoRoot, 'dist');
  if (!existsSync(entry)) throw new Error(`${LABEL.berth}: ${entry} does not exist yet (the server is not built)`);
  const dir = await mkdtemp(join(tmpdir(), 'berth-bench-berth-'));
  const dataDir = join(dir, 'data');
  await mkdir(dataDir);
  const port = await freePort();
  // Spawn node directly (not through npm or a shell) so the pid we watch is the server's own.
  return launch(
    'berth',
    process.execPath,
    [join(repoRoot, 'bin', 'berth.js'), 'serve', '--listen', `127.0.0.1:${port}`, '--data', dataDir],
    port,
    dataDir,
    dir,
    { BERTH_AUTH_ENABLED: 'false' },
  );
}
