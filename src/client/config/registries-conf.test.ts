// registries.conf: parsing, longest-prefix selection, mirrors for pulls only, blocked registries, insecure
// registries, drop-ins and the file lookup order (with a temporary HOME and system directory).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isClientError } from '../errors.js';
import { findRegistry, isInsecureRegistry, loadRegistriesConf, parseRegistriesConf, resolveEndpoints } from './registries-conf.js';

const EXAMPLE = `
unqualified-search-registries = ["quay.io", "docker.io"]

[[registry]]
prefix = "example.com/foo"
location = "internal-registry-for-example.com/bar"
[[registry.mirror]]
location = "example-mirror-0.local/mirror-for-foo"
[[registry.mirror]]
location = "example-mirror-1.local/mirrors/foo"
insecure = true

[[registry]]
prefix = "example.com"
location = "example.com"
insecure = true

[[registry]]
prefix = "example.com/foo/special"
location = "special.example/x"

[[registry]]
location = "blocked.example"
blocked = true

[[registry]]
prefix = "*.wild.example"
location = ""
insecure = true

[[registry]]
prefix = "docker.io/library/alpine"
location = "docker.io/library/alpine"
[[registry.mirror]]
location = "digests.local/alpine"
pull-from-mirror = "digest-only"
`;

describe('registries.conf', () => {
  const conf = parseRegistriesConf(EXAMPLE, 'test.conf');

  it('parses every field', () => {
    assert.deepEqual(conf.unqualifiedSearchRegistries, ['quay.io', 'docker.io']);
    assert.equal(conf.registries.length, 6);
    assert.deepEqual(conf.registries[0], {
      prefix: 'example.com/foo',
      location: 'internal-registry-for-example.com/bar',
      insecure: false,
      blocked: false,
      mirrorByDigestOnly: false,
      mirrors: [
        { location: 'example-mirror-0.local/mirror-for-foo', insecure: false, pullFromMirror: 'all' },
        { location: 'example-mirror-1.local/mirrors/foo', insecure: true, pullFromMirror: 'all' },
      ],
    });
    assert.equal(conf.registries[3]!.prefix, 'blocked.example', 'prefix defaults to location');
  });

  it('the longest matching prefix wins, at a component boundary', () => {
    assert.equal(findRegistry(conf, 'example.com/foo/special/img:v1')?.prefix, 'example.com/foo/special');
    assert.equal(findRegistry(conf, 'example.com/foo/image:latest')?.prefix, 'example.com/foo');
    assert.equal(findRegistry(conf, 'example.com/foobar/image')?.prefix, 'example.com');
    assert.equal(findRegistry(conf, 'a.b.wild.example/x')?.prefix, '*.wild.example');
    assert.equal(findRegistry(conf, 'wild.example/x'), undefined);
    assert.equal(findRegistry(conf, 'quay.io/x'), undefined);
  });

  it('pulls try the mirrors in order, then the rewritten location; pushes use the location alone', () => {
    assert.deepEqual(resolveEndpoints(conf, 'example.com/foo/image', 'latest', 'pull'), [
      { registry: 'example-mirror-0.local', repository: 'mirror-for-foo/image', insecure: false, mirror: true },
      { registry: 'example-mirror-1.local', repository: 'mirrors/foo/image', insecure: true, mirror: true },
      { registry: 'internal-registry-for-example.com', repository: 'bar/image', insecure: false, mirror: false },
    ]);
    assert.deepEqual(resolveEndpoints(conf, 'example.com/foo/image', 'latest', 'push'), [{ registry: 'internal-registry-for-example.com', repository: 'bar/image', insecure: false, mirror: false }]);
    assert.deepEqual(resolveEndpoints(conf, 'quay.io/a/b', 'v1', 'pull'), [{ registry: 'quay.io', repository: 'a/b', insecure: false, mirror: false }]);
    assert.deepEqual(resolveEndpoints(conf, 'x.wild.example/a/b', 'v1', 'pull'), [{ registry: 'x.wild.example', repository: 'a/b', insecure: true, mirror: false }]);
  });

  it('pull-from-mirror digest-only: the mirror serves digests, not tags', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.deepEqual(resolveEndpoints(conf, 'docker.io/library/alpine', digest, 'pull').map((e) => e.registry), ['digests.local', 'docker.io']);
    assert.deepEqual(resolveEndpoints(conf, 'docker.io/library/alpine', 'latest', 'pull').map((e) => e.registry), ['docker.io']);
  });

  it('a blocked registry is DENIED, naming the file', () => {
    assert.throws(() => resolveEndpoints(conf, 'blocked.example/a/b', 'v1', 'pull'), (e) => isClientError(e, 'DENIED') && e.message.includes('test.conf'));
  });

  it('insecure registries: the entry, a mirror, or a wildcard', () => {
    assert.equal(isInsecureRegistry(conf, 'example.com'), true);
    assert.equal(isInsecureRegistry(conf, 'example-mirror-1.local'), true);
    assert.equal(isInsecureRegistry(conf, 'example-mirror-0.local'), false);
    assert.equal(isInsecureRegistry(conf, 'quay.io'), false);
  });

  it('reads the v1 format', () => {
    const v1 = parseRegistriesConf('[registries.search]\nregistries = ["quay.io"]\n[registries.insecure]\nregistries = ["localhost:5000"]\n[registries.block]\nregistries = ["bad.example"]\n');
    assert.deepEqual(v1.unqualifiedSearchRegistries, ['quay.io']);
    assert.equal(isInsecureRegistry(v1, 'localhost:5000'), true);
    assert.throws(() => resolveEndpoints(v1, 'bad.example/x', 'v1', 'pull'), (e) => isClientError(e, 'DENIED'));
  });

  it('CONFIG_INVALID for bad files, naming the file and line or field', () => {
    assert.throws(() => parseRegistriesConf('[[registry]]\nlocation = "x.example"\ninsecure = "yes"\n', 'bad.conf'), (e) => isClientError(e, 'CONFIG_INVALID') && /bad\.conf: \[\[registry\]\] #1: insecure must be true or false/.test(e.message));
    assert.throws(() => parseRegistriesConf('unqualified-search-registries = "quay.io"', 'bad.conf'), (e) => isClientError(e, 'CONFIG_INVALID') && /must be an array of strings/.test(e.message));
    assert.throws(() => parseRegistriesConf('x = [', 'bad.conf'), (e) => isClientError(e, 'CONFIG_INVALID') && /bad\.conf: line 1/.test(e.message));
    assert.throws(() => parseRegistriesConf('[[registry]]\nprefix = "a.*.b"\n'), (e) => isClientError(e, 'CONFIG_INVALID'));
  });

  describe('file lookup', () => {
    let dir: string;
    let home: string;
    let system: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'berth-regconf-'));
      home = join(dir, 'home');
      system = join(dir, 'etc');
      await mkdir(join(system, 'registries.conf.d'), { recursive: true });
      await mkdir(join(home, '.config', 'containers', 'registries.conf.d'), { recursive: true });
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('no files: empty; system file; the user file instead; drop-ins merged in order; the env var alone', async () => {
      const opts = { env: { HOME: home }, systemDir: system };
      assert.deepEqual(loadRegistriesConf(opts).registries, []);
      await writeFile(join(system, 'registries.conf'), 'unqualified-search-registries = ["system.example"]\n[[registry]]\nlocation = "a.example"\n');
      assert.deepEqual(loadRegistriesConf(opts).unqualifiedSearchRegistries, ['system.example']);
      await writeFile(join(home, '.config', 'containers', 'registries.conf'), 'unqualified-search-registries = ["user.example"]\n[[registry]]\nlocation = "a.example"\ninsecure = true\n');
      assert.deepEqual(loadRegistriesConf(opts).unqualifiedSearchRegistries, ['user.example']);
      await writeFile(join(system, 'registries.conf.d', '10-b.conf'), '[[registry]]\nlocation = "b.example"\n');
      await writeFile(join(home, '.config', 'containers', 'registries.conf.d', '20-a.conf'), '[[registry]]\nlocation = "a.example"\nblocked = true\n');
      await writeFile(join(home, '.config', 'containers', 'registries.conf.d', '30-search.conf'), 'unqualified-search-registries = ["dropin.example"]\n');
      const merged = loadRegistriesConf(opts);
      assert.deepEqual(merged.unqualifiedSearchRegistries, ['dropin.example']);
      assert.deepEqual(merged.registries.map((r) => [r.prefix, r.blocked]), [['a.example', true], ['b.example', false]]);
      assert.equal(merged.files.length, 4);
      const only = join(dir, 'only.conf');
      await writeFile(only, 'unqualified-search-registries = ["only.example"]\n');
      const env = loadRegistriesConf({ env: { HOME: home, CONTAINERS_REGISTRIES_CONF: only }, systemDir: system });
      assert.deepEqual(env.unqualifiedSearchRegistries, ['only.example']);
      assert.deepEqual(env.files, [only]);
      assert.throws(() => loadRegistriesConf({ env: { CONTAINERS_REGISTRIES_CONF: join(dir, 'missing.conf') } }), (e) => isClientError(e, 'CONFIG_INVALID'));
    });
  });
});
