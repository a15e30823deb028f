// The command table: each entry builds the command it is named for, a run finds the command it names past the
// root's options, and a run that names one builds no other.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram, COMMANDS, commandsFor, type CliIo } from './main.js';

const io: CliIo = { out: () => {}, err: () => {}, version: 'test' };

describe('the command table', () => {
  it('builds, for every name, the command of that name, in order, for help', async () => {
    const all = await buildProgram(io);
    assert.deepEqual(all.commands.map((c) => c.name()), Object.keys(COMMANDS));
  });

  it('builds only the command a run names', async () => {
    const program = await buildProgram(io, commandsFor(['copy', 'a', 'b']));
    assert.deepEqual(program.commands.map((c) => c.name()), ['copy']);
  });

  it('finds the command past the root options and their values', () => {
    assert.deepEqual(commandsFor(['copy', 'a', 'b']), ['copy']);
    assert.deepEqual(commandsFor(['--policy', 'p.json', '--override-arch', 'arm64', 'inspect', 'x']), ['inspect']);
    assert.deepEqual(commandsFor(['--insecure-policy', '--override-os=linux', 'list-tags', 'x']), ['list-tags']);
    assert.deepEqual(commandsFor(['--policy', 'copy', 'inspect']), ['inspect'], 'an option value is not a command');
  });

  it('needs none for a bare --version', () => {
    assert.deepEqual(commandsFor(['--version']), []);
    assert.deepEqual(commandsFor(['--policy', 'p.json', '--version']), []);
  });

  it('needs every command for help, a typo or nothing, so the whole program answers', () => {
    for (const args of [[], ['--help'], ['--version', '--help'], ['help', 'copy'], ['cpoy'], ['--', 'copy'], ['--policy']]) {
      assert.deepEqual(commandsFor(args), Object.keys(COMMANDS), JSON.stringify(args));
    }
  });

  it('keeps suggestions for a typo, which need every command', async () => {
    let err = '';
    const program = (await buildProgram({ ...io, err: (s) => (err += s) }, commandsFor(['cpoy']))).exitOverride();
    await assert.rejects(program.parseAsync(['node', 'berth', 'cpoy']), { code: 'commander.unknownCommand' });
    assert.match(err, /Did you mean copy\?/);
  });
});
