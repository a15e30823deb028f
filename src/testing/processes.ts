import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/berth.js', import.meta.url));

/** A `berth serve` child process, started with `--listen 127.0.0.1:0`, and its JSON log lines. */
export interface BerthProcess {
  child: ChildProcess;
  url: string;
  lines: Array<Record<string, unknown>>;
  stderr(): string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `berth serve` with extra arguments and resolves once it logs that it is serving. Authentication is off
 * unless `env` sets `BERTH_AUTH_ENABLED` (the tests of auth do; the others exercise the registry itself).
 */
export async function startBerthProcess(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<BerthProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { BERTH_AUTH_ENABLED: 'false', ...env },
  });
  const lines: Array<Record<string, unknown>> = [];
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = JSON.parse(buf.slice(0, i)) as Record<string, unknown>;
        buf = buf.slice(i + 1);
        lines.push(line);
        if (line.msg === 'berth is serving') resolve(line.url as string);
      }
    });
    void exited.then((code) => reject(new Error(`berth exited with ${code}: ${err}`)));
  });
  return {
    child,
    url,
    lines,
    stderr: () => err,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
