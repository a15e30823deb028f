import { Command } from 'commander';
import type { CliIo } from '../main.js';

export function serveCommand(_io: CliIo): Command {
  return new Command('serve')
    .description('Run the registry server (OCI Distribution v1.1 and Docker Registry v2 API)')
    .option('--listen <host:port>', 'address to listen on (default 127.0.0.1:5000)')
    .option('--data <dir>', 'data directory for the embedded default (default ./data)')
    .option('--config <file>', 'YAML configuration file; BERTH_* environment variables override it')
    .addHelpText(
      'after',
      `
Examples:
  $ berth serve
  $ berth serve --listen 0.0.0.0:5000 --data /var/lib/berth
  $ BERTH_GC_INTERVAL=10m berth serve --config /etc/berth/config.yaml

Signals: SIGTERM/SIGINT stop gracefully (requests in flight finish); SIGUSR2 collects garbage now.`,
    )
    .action(async (opts: { listen?: string; data?: string; config?: string }) => {
      // The server stack loads only when serving, so client commands start fast.
      const [{ loadConfig }, { serve }] = await Promise.all([import('../../app/config.js'), import('../../app/serve.js')]);
      const config = await loadConfig({ file: opts.config });
      if (opts.listen) config.listen = opts.listen;
      if (opts.data) config.data = opts.data;
      const serving = await serve(config);
      await new Promise<void>((resolve) => {
        const onSignal = () => {
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          void serving.stop().then(resolve);
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
      });
    });
}
