import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const hasNginx = spawnSync('nginx', ['-v']).status === 0;

/** The shipped configuration: deploy/nginx/berth.conf. */
export const NGINX_CONF = fileURLToPath(new URL('../../deploy/nginx/berth.conf', import.meta.url));

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** The shipped config with only its marked lines replaced: these upstream nodes, plain HTTP on `port`. */
export function renderNginxConfig(shipped: string, upstreams: string[], port: number): string {
  const rendered = shipped
    .replace(/# BEGIN nodes\n[\s\S]*?# END nodes/, `# BEGIN nodes\n${upstreams.map((u) => `    server ${u} max_fails=3 fail_timeout=10s;`).join('\n')}\n    # END nodes`)
    .replace(/# BEGIN listen\n[\s\S]*?# END listen/, `# BEGIN listen\n    listen 127.0.0.1:${port};\n    # END listen`);
  if (rendered === shipped || rendered.includes('10.0.0.11')) throw new Error('the nginx config lost its BEGIN/END markers');
  return rendered;
}

export interface RunningNginx {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Runs nginx (foreground, private prefix under `dir`) in front of `upstreams` with the shipped config. */
export async function startNginx(dir: string, upstreams: string[]): Promise<RunningNginx> {
  const port = await freePort();
  const prefix = join(dir, 'nginx');
  await mkdir(join(prefix, 'logs'), { recursive: true });
  await writeFile(join(prefix, 'berth.conf'), renderNginxConfig(await readFile(NGINX_CONF, 'utf8'), upstreams, port));
  await writeFile(
    join(prefix, 'nginx.conf'),
    `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;
error_log ${prefix}/logs/error.log warn;
pid ${prefix}/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi; uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  include ${prefix}/berth.conf;
}
`,
  );
  const check = spawnSync('nginx', ['-t', '-p', prefix, '-c', join(prefix, 'nginx.conf')]);
  if (check.status !== 0) throw new Error(`nginx -t failed: ${check.stderr.toString()}`);
  const child = spawn('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) {
      return {
        url,
        child,
        async stop() {
          child.kill('SIGQUIT');
          await exited;
        },
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error('nginx did not come up');
}
