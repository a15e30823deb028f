import { Command, CommanderError } from 'commander';
import { exitCodeOf } from './run.js';

/** Makes a command (or the commands of a module that defines several; the one wanted is picked by name). */
type Make = (io: CliIo) => Promise<Command | Command[]>;
const publishing: Make = async (io) => (await import('./commands/publish.js')).publishCommands(io);

/**
 * Every top-level command, in `--help` order, with the module that defines it. A run builds (and so loads)
 * only the command it names; `berth --help` and anything unknown build them all. src/cli/main.test.ts checks
 * that each entry makes the command it is named for.
 */
export const COMMANDS: Record<string, Make> = {
  serve: async (io) => (await import('./commands/serve.js')).serveCommand(io),
  gc: async (io) => (await import('./commands/gc.js')).gcCommand(io),
  migrate: async (io) => (await import('./commands/migrate.js')).migrateCommand(io),
  inspect: async (io) => (await import('./commands/inspect.js')).inspectCommand(io),
  copy: async (io) => (await import('./commands/copy.js')).copyCommand(io),
  'list-tags': async (io) => (await import('./commands/registry-ops.js')).listTagsCommand(io),
  delete: async (io) => (await import('./commands/registry-ops.js')).deleteCommand(),
  'manifest-digest': async (io) => (await import('./commands/registry-ops.js')).manifestDigestCommand(io),
  login: async (io) => (await import('./commands/login.js')).loginCommand(io),
  logout: async (io) => (await import('./commands/login.js')).logoutCommand(io),
  sync: async (io) => (await import('./commands/sync.js')).syncCommand(io),
  tag: async (io) => (await import('./commands/tag.js')).tagCommand(io),
  catalog: async (io) => (await import('./commands/catalog.js')).catalogCommand(io),
  blob: async (io) => (await import('./commands/blob.js')).blobCommand(io),
  image: async (io) => (await import('./commands/image.js')).imageCommand(io),
  user: async (io) => (await import('./commands/user.js')).userCommand(io),
  org: async (io) => (await import('./commands/org.js')).orgCommand(io),
  team: async (io) => (await import('./commands/team.js')).teamCommand(io),
  robot: async (io) => (await import('./commands/robot.js')).robotCommand(io),
  repo: async (io) => (await import('./commands/repo.js')).repoCommand(io),
  token: async (io) => (await import('./commands/token.js')).tokenCommand(io),
  logs: async (io) => (await import('./commands/logs.js')).logsCommand(io),
  certify: async (io) => (await import('./commands/certify.js')).certifyCommand(io),
  publish: publishing,
  unpublish: publishing,
  certification: publishing,
  scan: async (io) => (await import('./commands/scan.js')).scanCommand(io),
  advisories: async (io) => (await import('./commands/advisories.js')).advisoriesCommand(io),
};

/** The root's options that take a value: skipped when looking for the command a run names. */
const ROOT_VALUE_OPTIONS = new Set(['--override-os', '--override-arch', '--override-variant', '--policy']);

/**
 * The commands a run with these (user) arguments needs built: the one it names, none for a bare `--version`,
 * and all of them otherwise (help, a typo to suggest for, nothing at all).
 */
export function commandsFor(args: string[]): string[] {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if (!a.startsWith('-')) return Object.hasOwn(COMMANDS, a) ? [a] : Object.keys(COMMANDS);
    if (ROOT_VALUE_OPTIONS.has(a)) i++;
  }
  return args.includes('--version') && !args.includes('--help') && !args.includes('-h') ? [] : Object.keys(COMMANDS);
}

/**
 * Builds the `berth` command tree with the commands `names` (all by default; a run needs only those
 * `commandsFor` gives). Output goes through `io`, so tests can capture it.
 */
export async function buildProgram(io: CliIo = processIo(), names: string[] = Object.keys(COMMANDS)): Promise<Command> {
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
  for (const name of names) {
    const made = await COMMANDS[name]!(io);
    program.addCommand(Array.isArray(made) ? made.find((c) => c.name() === name)! : made);
  }
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
  const program = (await buildProgram(processIo(), commandsFor(argv.slice(2)))).exitOverride();
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
