// OSV range evaluation with each ecosystem's comparator, and which advisory ecosystems cover an image's release.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ecosystemCovers, evaluateAffected } from './match.js';
import type { Affected, RangeEvent } from './advisories/model.js';
import { compareDebVersions } from './version/dpkg.js';
import { compareRpmVersions } from './version/rpm.js';
import { compareApkVersions } from './version/apk.js';

const aff = (events: RangeEvent[], versions: string[] = []): Affected => ({ ecosystem: 'X', name: 'p', ranges: [{ type: 'ECOSYSTEM', events }], versions });

describe('evaluateAffected', () => {
  it('introduced/fixed with the dpkg order (tilde before release)', () => {
    const a = aff([{ introduced: '0' }, { fixed: '1.0-1' }]);
    assert.deepEqual(evaluateAffected(a, '1.0~rc1-1', compareDebVersions), { affected: true, fixed: '1.0-1' });
    assert.deepEqual(evaluateAffected(a, '1.0-1', compareDebVersions), { affected: false });
    assert.deepEqual(evaluateAffected(a, '1:0.1-1', compareDebVersions), { affected: false }, 'the epoch wins');
  });

  it('several introduced/fixed pairs, in any order, and last_affected', () => {
    const a = aff([{ fixed: '2.0' }, { introduced: '3.0' }, { introduced: '1.0' }, { fixed: '3.5' }]);
    assert.equal(evaluateAffected(a, '0.9', compareRpmVersions).affected, false);
    assert.deepEqual(evaluateAffected(a, '1.5', compareRpmVersions), { affected: true, fixed: '2.0' });
    assert.equal(evaluateAffected(a, '2.5', compareRpmVersions).affected, false);
    assert.deepEqual(evaluateAffected(a, '3.0', compareRpmVersions), { affected: true, fixed: '3.5' });
    const last = aff([{ introduced: '1.0_rc1' }, { last_affected: '1.2-r3' }]);
    assert.deepEqual(evaluateAffected(last, '1.2-r3', compareApkVersions), { affected: true });
    assert.equal(evaluateAffected(last, '1.2-r4', compareApkVersions).affected, false);
    assert.equal(evaluateAffected(last, '1.0_beta', compareApkVersions).affected, false);
  });

  it('listed versions and limits', () => {
    assert.deepEqual(evaluateAffected(aff([], ['1.0-1']), '1.0-1', compareDebVersions), { affected: true });
    assert.equal(evaluateAffected(aff([{ introduced: '0' }, { limit: '2.0' }]), '2.1', compareDebVersions).affected, false);
    assert.equal(evaluateAffected(aff([{ introduced: '0' }, { limit: '2.0' }]), '1.9', compareDebVersions).affected, true);
  });
});

describe('ecosystemCovers', () => {
  it('matches releases as each distribution names them', () => {
    assert.ok(ecosystemCovers('Debian:12', 'Debian:12'));
    assert.ok(!ecosystemCovers('Debian:11', 'Debian:12'));
    assert.ok(ecosystemCovers('Debian', 'Debian:12'), 'no release: every release');
    assert.ok(ecosystemCovers('Ubuntu:22.04:LTS', 'Ubuntu:22.04'));
    assert.ok(!ecosystemCovers('Ubuntu:20.04:LTS', 'Ubuntu:22.04'));
    assert.ok(ecosystemCovers('Alpine:v3.19', 'Alpine:v3.19'));
    assert.ok(!ecosystemCovers('Alpine:v3.1', 'Alpine:v3.19'));
    assert.ok(ecosystemCovers('Red Hat:enterprise_linux:9::appstream', 'Red Hat', '9'));
    assert.ok(ecosystemCovers('Red Hat:rhel_aus:8.4::appstream', 'Red Hat', '8'));
    assert.ok(!ecosystemCovers('Red Hat:enterprise_linux:8::baseos', 'Red Hat', '9'));
    assert.ok(!ecosystemCovers('Rocky Linux:9', 'Red Hat', '9'));
  });
});
