// registries.conf short names (containers-registries.conf(5) "Short-Name Aliasing"): the [aliases] table and
// its rules, short-name-mode, drop-ins that add and erase aliases (shortnames.conf is one), the recorded
// short-name-aliases.conf that wins over them, and docker:// references that resolve through all of it.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isClientError } from '../errors.js';
import { createRegistryTransport } from '../transports/registry/transport.js';
import { loadRegistriesConf, parseRegistriesConf, resolveShortName } from './registries-conf.js';

describe('registries.conf short names', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-shortnames-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('an alias wins over the search registries; tags and digests are kept', () => {
    const conf = parseRegistriesConf(`
unqualified-search-registries = ["quay.io", "docker.io"]
short-name-mode = "enforcing"
[aliases]
"fedora" = "registry.fedoraproject.org/fedora"
"team/app" = "registry.example.com/team/app"
`);
    assert.equal(conf.shortNameMode, 'enforcing');
    assert.deepEqual(resolveShortName(conf, 'fedora'), { name: 'registry.fedoraproject.org/fedora', via: 'alias' });
    const t = createRegistryTransport({ registriesConf: conf });
    try {
      assert.equal(t.parseReference('//fedora:39').fullName, 'registry.fedoraproject.org/fedora:39');
      assert.equal(t.parseReference('//team/app').fullName, 'registry.example.com/team/app:latest');
      const digest = `sha256:${'a'.repeat(64)}`;
      assert.equal(t.parseReference(`//fedora@${digest}`).fullName, `registry.fedoraproject.org/fedora@${digest}`);
      // Qualified names never go through aliases.
      assert.equal(t.parseReference('//quay.io/fedora:1').fullName, 'quay.io/fedora:1');
      // enforcing, two search registries, no alias: ambiguous, and the message says what to do.
      assert.throws(() => t.parseReference('//busybox'), (e) => isClientError(e, 'REFERENCE_INVALID') && /ambiguous/.test(e.message) && /\[aliases\]/.test(e.message));
    } finally {
      t.close();
    }
  });

  it('permissive (the default) and disabled take the first search registry; one registry is never ambiguous', () => {
    for (const mode of ['', 'short-name-mode = "permissive"', 'short-name-mode = "disabled"']) {
      const conf = parseRegistriesConf(`unqualified-search-registries = ["quay.io", "docker.io"]\n${mode}\n`);
      assert.deepEqual(resolveShortName(conf, 'busybox'), { name: 'quay.io/busybox', via: 'search' });
    }
    const one = parseRegistriesConf('unqualified-search-registries = ["docker.io"]\nshort-name-mode = "enforcing"\n');
    const t = createRegistryTransport({ registriesConf: one });
    assert.equal(t.parseReference('//busybox').fullName, 'docker.io/library/busybox:latest');
    t.close();
  });

  it('bad aliases and modes are CONFIG_INVALID, naming the alias', () => {
    for (const [text, msg] of [
      ['[aliases]\n"quay.io/app" = "quay.io/app"', /must be a short name/],
      ['[aliases]\n"localhost/app" = "quay.io/app"', /must be a short name/],
      ['[aliases]\n"app:1" = "quay.io/app"', /no tag or digest/],
      ['[aliases]\n"app" = "app"', /fully qualified/],
      ['[aliases]\n"app" = "quay.io/app:1"', /no tag or digest/],
      ['[aliases]\n"app" = "quay.io/App"', /not a valid image name/],
      ['[aliases]\n"app" = 1', /must be a string/],
      ['short-name-mode = "strict"', /enforcing, permissive or disabled/],
    ] as const) {
      assert.throws(() => parseRegistriesConf(text, '/etc/containers/registries.conf'), (e) => isClientError(e, 'CONFIG_INVALID') && msg.test(e.message) && e.message.includes('/etc/containers/registries.conf'), text);
    }
  });

  it('drop-ins (shortnames.conf among them) add and erase aliases in order; the recorded aliases win', async () => {
    const system = join(root, 'etc');
    const home = join(root, 'home');
    await mkdir(join(system, 'registries.conf.d'), { recursive: true });
    await mkdir(join(home, '.config', 'containers', 'registries.conf.d'), { recursive: true });
    await mkdir(join(home, '.cache', 'containers'), { recursive: true });
    await writeFile(join(system, 'registries.conf'), 'unqualified-search-registries = ["docker.io"]\n[aliases]\n"app" = "registry.example.com/base/app"\n');
    await writeFile(join(system, 'registries.conf.d', '000-shortnames.conf'), '[aliases]\n"fedora" = "registry.fedoraproject.org/fedora"\n"centos" = "quay.io/centos/centos"\n"ubi9" = "registry.access.redhat.com/ubi9"\n');
    await writeFile(join(home, '.config', 'containers', 'registries.conf.d', '50-mine.conf'), 'short-name-mode = "enforcing"\n[aliases]\n"centos" = ""\n"ubi9" = "mirror.example.com/ubi9"\n');
    const env = { HOME: home };
    const conf = loadRegistriesConf({ env, systemDir: system, aliasCache: join(home, '.cache', 'containers', 'short-name-aliases.conf') });
    assert.deepEqual(conf.aliases, { app: 'registry.example.com/base/app', fedora: 'registry.fedoraproject.org/fedora', ubi9: 'mirror.example.com/ubi9' });
    assert.equal(conf.shortNameMode, 'enforcing');
    assert.deepEqual(conf.unqualifiedSearchRegistries, ['docker.io']);

    await writeFile(join(home, '.cache', 'containers', 'short-name-aliases.conf'), '[aliases]\n"fedora" = "quay.io/fedora/fedora"\n');
    const withCache = loadRegistriesConf({ env, systemDir: system, aliasCache: join(home, '.cache', 'containers', 'short-name-aliases.conf') });
    assert.equal(withCache.aliases?.['fedora'], 'quay.io/fedora/fedora');
    assert.ok(withCache.files.at(-1)!.endsWith('short-name-aliases.conf'));
    // Without aliasCache the rootless default is $HOME/.cache (or $XDG_CACHE_HOME).
    if (process.getuid?.() !== 0) assert.equal(loadRegistriesConf({ env, systemDir: system }).aliases?.['fedora'], 'quay.io/fedora/fedora');
    assert.equal(loadRegistriesConf({ env: { ...env, XDG_CACHE_HOME: join(home, '.cache') }, systemDir: system }).aliases?.['fedora'], 'quay.io/fedora/fedora');
  });
});
