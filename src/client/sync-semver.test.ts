// sync from a skopeo YAML file with images-by-semver (and images-by-tag-regex beside it): the plan lists
// exactly the tags that parse as versions and satisfy the constraint; a bad constraint skips that repository
// with a warning and the others go on.
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { pushImage, randomImage } from '../testing/fixtures.js';
import { EMPTY_REGISTRIES_CONF } from './config/registries-conf.js';
import { tempDir } from './conformance.js';
import { planSync } from './sync.js';

describe('sync YAML: images-by-semver', () => {
  let reg: TestRegistry;
  let host: string;
  let root: string;
  const TAGS = ['v1.0.0', '1.2.3', '1.2.10', '1.5.0-rc.1', '2.0', 'latest', 'v1.10.1', 'release-3'];
  before(async () => {
    reg = await startTestRegistry();
    host = new URL(reg.url).host;
    root = await tempDir('berth-semver-sync-');
    const img = randomImage({ layers: 1, size: 64 });
    for (const tag of TAGS) await pushImage(reg.url, 'semver/app', img, tag);
    await pushImage(reg.url, 'semver/other', img, 'v9.9.9');
  });
  after(async () => {
    await reg.close();
    await rm(root, { recursive: true, force: true });
  });

  const plan = async (lines: string[]) => {
    const yaml = join(root, `${Math.random().toString(16).slice(2)}.yaml`);
    await writeFile(yaml, [`${host}:`, '  tls-verify: false', ...lines, ''].join('\n'));
    const p = await planSync(yaml, '/backup', { src: 'yaml', dest: 'dir', srcRegistry: { registriesConf: EMPTY_REGISTRIES_CONF, authFile: '/nonexistent/auth.json' } });
    return { tags: p.items.map((i) => i.source.slice(i.source.lastIndexOf(':') + 1)).sort(), warnings: p.warnings, sources: p.sources };
  };

  it('lists the tags that satisfy the constraint; non-version tags and prereleases stay out', async () => {
    assert.deepEqual((await plan(['  images-by-semver:', '    semver/app: ">= 1.2, < 2"'])).tags, ['1.2.10', '1.2.3', 'v1.10.1']);
    assert.deepEqual((await plan(['  images-by-semver:', '    semver/app: "^1.0.0 || 2.x"'])).tags, ['1.2.10', '1.2.3', '2.0', 'v1.0.0', 'v1.10.1']);
    assert.deepEqual((await plan(['  images-by-semver:', '    semver/app: "~1.5.0-rc.0"'])).tags, ['1.5.0-rc.1']);
  });

  it('goes with images and images-by-tag-regex in one registry', async () => {
    const p = await plan(['  images:', '    semver/other: [v9.9.9]', '  images-by-tag-regex:', '    semver/app: ^rel', '  images-by-semver:', '    semver/app: ">= 2"']);
    assert.deepEqual(p.tags, ['2.0', 'release-3', 'v9.9.9']);
    assert.equal(p.sources, 3);
  });

  it('a constraint that does not parse skips its repository with a warning; one that matches nothing warns too', async () => {
    const p = await plan(['  images-by-semver:', '    semver/app: ">>1"', '    semver/other: ">= 1"']);
    assert.deepEqual(p.tags, ['v9.9.9']);
    assert.match(p.warnings.join('\n'), /semver\/app: invalid semver constraint ">>1", skipped: improper constraint/);
    const none = await plan(['  images-by-semver:', '    semver/app: ">= 5"']);
    assert.match(none.warnings.join('\n'), /no refs to sync found/);
  });
});
