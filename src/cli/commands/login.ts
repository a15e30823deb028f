import { createInterface } from 'node:readline';
import { Command, Option } from 'commander';
import { ClientError } from '../../client/errors.js';
import type { CliIo } from '../main.js';
import { parseBool } from '../registry-flags.js';
import { readStdinSecret } from './api-common.js';

export function loginCommand(io: CliIo): Command {
  return new Command('login')
    .description('Check credentials against a registry and store them in auth.json (as skopeo login / podman login)')
    .argument('<registry>', 'HOST[:PORT], or HOST/NAMESPACE for credentials that apply to that part of the registry only')
    .option('-u, --username <user>', 'user name')
    .option('-p, --password <password>', 'password (visible to other users in the process list; prefer --password-stdin)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--authfile <path>', 'auth.json to write (default: REGISTRY_AUTH_FILE, else ${XDG_RUNTIME_DIR}/containers/auth.json)')
    .option('--get-login', 'print the user name stored for the registry, and check nothing')
    .option('--cert-dir <dir>', 'CA certificates and client keys (*.crt, *.cert, *.key)')
    .option('-v, --verbose', 'also print which auth.json was written')
    .addOption(new Option('--tls-verify [bool]', 'require HTTPS and verify certificates').argParser(parseBool))
    .addHelpText(
      'after',
      `
Examples:
  $ berth login -u robot registry.example.com                 # asks for the password on a terminal
  $ echo "$TOKEN" | berth login -u robot --password-stdin quay.io
  $ berth login --tls-verify=false -u admin -p secret localhost:5000
  $ berth login --authfile ./auth.json -u ci -p "$PASS" registry.example.com/team
  $ berth login --get-login registry.example.com`,
    )
    .action(async (registry: string, opts: Record<string, unknown>) => {
      const { getLogin, login, loginTarget, storedCredentials, verifyLogin } = await import('../../client/login.js');
      const target = loginTarget(registry);
      const files = opts.authfile ? { authFile: opts.authfile as string } : {};
      if (opts.getLogin) {
        io.out(`${await getLogin(target, files)}\n`);
        return;
      }
      const net = {
        ...files,
        ...(opts.tlsVerify !== undefined ? { tlsVerify: opts.tlsVerify as boolean } : {}),
        ...(opts.certDir ? { certDir: opts.certDir as string } : {}),
      };
      let username = opts.username as string | undefined;
      let password = opts.password as string | undefined;
      if (opts.passwordStdin) {
        if (password !== undefined) throw new ClientError('REFERENCE_INVALID', '--password and --password-stdin cannot be used together');
        if (username === undefined) throw new ClientError('REFERENCE_INVALID', '--password-stdin needs --username');
        password = await readStdinSecret();
      }
      if (username === undefined && password === undefined) {
        // As podman: stored credentials that still work need no new login.
        const existing = await storedCredentials(target, files);
        if (existing) {
          io.out(`Authenticating with existing credentials for ${target.key}\n`);
          try {
            await verifyLogin(target.registry, existing, net);
            io.out(`Existing credentials are valid. Already logged in to ${target.key}\n`);
            return;
          } catch {
            io.out('Existing credentials are invalid, please enter valid username and password\n');
          }
        }
      }
      if (username === undefined || password === undefined) {
        if (!process.stdin.isTTY) {
          throw new ClientError('UNAUTHORIZED', `logging in to ${target.key}: a ${username === undefined ? 'user name' : 'password'} is needed: use -u USER with -p PASSWORD or --password-stdin`);
        }
        username ??= await prompt('Username: ', false);
        password ??= await prompt('Password: ', true);
      }
      const { path } = await login(target, { username, password }, net);
      // skopeo and podman print this line with two spaces (Go's Println of "Used: " and the path).
      if (opts.verbose) io.out(`Used:  ${path}\n`);
      io.out('Login Succeeded!\n');
    });
}

export function logoutCommand(io: CliIo): Command {
  return new Command('logout')
    .description('Remove stored credentials from auth.json (as skopeo logout / podman logout)')
    .argument('[registry]', 'HOST[:PORT] or HOST/NAMESPACE, as given to login')
    .option('-a, --all', 'remove the credentials of every registry')
    .option('--authfile <path>', 'auth.json to edit (default: REGISTRY_AUTH_FILE, else ${XDG_RUNTIME_DIR}/containers/auth.json)')
    .addOption(new Option('--tls-verify [bool]', 'accepted for compatibility with skopeo; logout does not contact the registry').argParser(parseBool))
    .addHelpText(
      'after',
      `
Examples:
  $ berth logout registry.example.com
  $ berth logout --authfile ./auth.json registry.example.com/team
  $ berth logout --all`,
    )
    .action(async (registry: string | undefined, opts: Record<string, unknown>) => {
      const { loginTarget, logout, logoutAll } = await import('../../client/login.js');
      const files = opts.authfile ? { authFile: opts.authfile as string } : {};
      if (opts.all) {
        if (registry !== undefined) throw new ClientError('REFERENCE_INVALID', '--all takes no registry');
        await logoutAll(files);
        io.out('Removed login credentials for all registries\n');
        return;
      }
      if (registry === undefined) throw new ClientError('REFERENCE_INVALID', 'logout needs a registry, or --all');
      const { key } = await logout(loginTarget(registry), files);
      io.out(`Removed login credentials for ${key}\n`);
    });
}

/** All of stdin, without the one trailing newline `echo` adds (as containers/common reads it). */
/** One line from the terminal; `hidden` echoes nothing (for passwords). */
function prompt(question: string, hidden: boolean): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  if (hidden) {
    const w = rl as unknown as { _writeToOutput: (s: string) => void };
    w._writeToOutput = (s: string) => {
      if (s === question || s.includes('\n')) process.stderr.write(s);
    };
  }
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      if (hidden) process.stderr.write('\n');
      resolve(answer);
    });
  });
}
