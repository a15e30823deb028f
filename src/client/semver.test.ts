// Semantic versions and constraints as skopeo sync's images-by-semver reads them (Masterminds/semver v3):
// lenient versions, every operator, wildcards, hyphen ranges, AND/OR, and prereleases kept out unless asked.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isClientError } from './errors.js';
import { compareVersions, parseConstraint, parseVersion } from './semver.js';

const v = (s: string) => {
  const r = parseVersion(s);
  assert.ok(r, s);
  return r;
};
const matches = (constraint: string, versions: string[]) => {
  const c = parseConstraint(constraint);
  return versions.filter((s) => c.check(v(s)));
};
const ALL = ['0.0.3', '0.0.4', '0.2.3', '0.3.0', '1.0.0', '1.2.0', '1.2.3', '1.2.9', '1.3.0', '1.4.5', '1.4.6', '1.5.0-rc.1', '2.0.0', '2.1.0', '3.0.0'];

describe('semver for images-by-semver', () => {
  it('versions: an optional v, missing minor and patch, prerelease and metadata; tags that are none are refused', () => {
    assert.deepEqual({ ...v('v1.2'), original: '' }, { major: 1, minor: 2, patch: 0, prerelease: [], original: '' });
    assert.deepEqual(v('1.2.3-rc.1+build.5').prerelease, ['rc', '1']);
    for (const bad of ['latest', '1.2.3.4', 'v', '1.2.3-01', '1.2-', 'release-1.2', '']) assert.equal(parseVersion(bad), undefined, bad);
  });

  it('precedence: numbers, then prereleases below the release, numeric identifiers below alphanumeric', () => {
    const sorted = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.10.0', '2.0.0'];
    const shuffled = [...sorted].reverse();
    assert.deepEqual(shuffled.sort((a, b) => compareVersions(v(a), v(b))), sorted);
    assert.equal(compareVersions(v('1.0.0+a'), v('1.0.0+b')), 0);
  });

  it('comparisons, tilde and caret', () => {
    assert.deepEqual(matches('>= 1.2.3', ALL), ['1.2.3', '1.2.9', '1.3.0', '1.4.5', '1.4.6', '2.0.0', '2.1.0', '3.0.0']);
    assert.deepEqual(matches('>1.4.5, <2', ALL), ['1.4.6']);
    assert.deepEqual(matches('!=1.2.3 <1.3', ALL).filter((s) => s.startsWith('1.')), ['1.0.0', '1.2.0', '1.2.9']);
    assert.deepEqual(matches('=1.2.3', ALL), ['1.2.3']);
    assert.deepEqual(matches('~1.2.3', ALL), ['1.2.3', '1.2.9']);
    assert.deepEqual(matches('~1', ALL), ['1.0.0', '1.2.0', '1.2.3', '1.2.9', '1.3.0', '1.4.5', '1.4.6']);
    assert.deepEqual(matches('^1.2.3', ALL), ['1.2.3', '1.2.9', '1.3.0', '1.4.5', '1.4.6']);
    assert.deepEqual(matches('^0.2.3', ALL), ['0.2.3']);
    assert.deepEqual(matches('^0.0.3', ALL), ['0.0.3']);
    assert.deepEqual(matches('=> 2.1', ALL), ['2.1.0', '3.0.0']);
  });

  it('wildcards, hyphen ranges and OR', () => {
    assert.deepEqual(matches('1.2.x', ALL), ['1.2.0', '1.2.3', '1.2.9']);
    assert.deepEqual(matches('<= 1.2.x', ALL).at(-1), '1.2.9');
    assert.deepEqual(matches('> 1.x', ALL), ['2.0.0', '2.1.0', '3.0.0']);
    assert.deepEqual(matches('*', ALL).length, ALL.length - 1, 'every release, no prerelease');
    assert.deepEqual(matches('1.2 - 1.4.5', ALL), ['1.2.0', '1.2.3', '1.2.9', '1.3.0', '1.4.5']);
    assert.deepEqual(matches('<0.1 || >=3', ALL), ['0.0.3', '0.0.4', '3.0.0']);
  });

  it('a prerelease only matches a constraint that names one', () => {
    assert.ok(!matches('>= 1.0', ALL).includes('1.5.0-rc.1'));
    assert.deepEqual(matches('>= 1.5.0-rc.0', ALL), ['1.5.0-rc.1', '2.0.0', '2.1.0', '3.0.0']);
    // Every term must name a prerelease (Masterminds checks term by term).
    assert.deepEqual(matches('>= 1.5.0-rc.0, < 1.6', ALL), []);
    assert.deepEqual(matches('>= 1.5.0-rc.0, < 1.6.0-0', ALL), ['1.5.0-rc.1']);
    assert.deepEqual(matches('=1.5.0-rc.1', ALL), ['1.5.0-rc.1']);
  });

  it('a constraint that does not parse is CONFIG_INVALID, naming it', () => {
    for (const bad of ['>>1', '1.2.3.4', 'latest', '', '>= 1 ||']) assert.throws(() => parseConstraint(bad), (e) => isClientError(e, 'CONFIG_INVALID') && /improper constraint/.test(e.message), bad);
  });
});
