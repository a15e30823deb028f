import { Command, CommanderError } from 'commander';
import { serveCommand } from './commands/serve.js';
import { gcCommand } from './commands/gc.js';
import { migrateCommand } from './commands/migrate.js';
import { inspectCommand } from './commands/inspect.js';
import { copyCommand } from './commands/copy.js';
import { deleteCommand, listTagsCommand, manifestDigestCommand } from './commands/registry-ops.js';
import { moreCommands } from './commands/more.js';
import { imageCommands } from './commands/image.js';
import { scanCommand } from './commands/scan.js';
import { advisoriesCommand } from './commands/advisories.js';
import { apiCommands } from './commands/api.js';
import { certifyCommand } from './commands/certify.js';
import { publishCommands } from './commands/publish.js';
import { exitCodeOf } from './run.js';

/** Builds the `berth` command tree. Output goes through `io`, so tests can capture it. */
export function buildProgram(io: CliIo = processIo()): Command {
  const program = new Command('berth')
    .description('Berth: a container image registry and image toolkit')
    .version(io.version, '--version')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError()
    .option('--override-os <os>', 'use this OS instead of the running one when choosing from a multi-arch image')
    .option('--override-arch <arch>', 'use this architecture instead of the running one')
    .option('--override-variant <variant>', 'use this architecture variant')
    .option('--policy <path>', 'trust policy (default: ~/.config/containers/policy.json, then /etc/containers/policy.json)')
    .option('--insecure-policy', 'accept any image, without reading a trust policy')
    .addHelpText(
      'after',
      `
Examples:
  $ berth serve                                  # registry on 127.0.0.1:5000, data in ./data
  $ berth serve --listen 0.0.0.0:5000 --data /var/lib/berth
  $ berth gc --data /var/lib/berth               # collect garbage now
  $ berth migrate --from embedded.yaml --to scaleout.yaml
  $ berth copy docker://quay.io/team/app:v1 oci:./layout:v1
  $ berth inspect docker://localhost:5000/team/app:v1 --tls-verify=false`,
    );
  program.addCommand(serveCommand(io));
  program.addCommand(gcCommand(io));
  program.addCommand(migrateCommand(io));
  program.addCommand(inspectCommand(io));
  program.addCommand(copyCommand(io));
  program.addCommand(listTagsCommand(io));
  program.addCommand(deleteCommand());
  program.addCommand(manifestDigestCommand(io));
  for (const c of [...moreCommands(io), ...imageCommands(io), ...apiCommands(io)]) program.addCommand(c);
  program.addCommand(certifyCommand(io));
  for (const c of publishCommands(io)) program.addCommand(c);
  program.addCommand(scanCommand(io));
  program.addCommand(advisoriesCommand(io));
  return program;
}

export interface CliIo {
  out(s: string): void;
  err(s: string): void;
  version: string;
}

function processIo(): CliIo {
  return { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), version: '0.1.0' };
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    process.exitCode = exitCodeOf(err);
    throw err;
  }
}
