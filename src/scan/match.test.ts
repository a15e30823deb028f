// OSV range evaluation with each ecosystem's comparator, and which advisory ecosystems cover an image's release.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ecosystemCovers, evaluateAffected, matchInventory, memoizedComparator } from './match.js';
import { MemoryAdvisoryStore } from './advisories/store.js';
import type { Advisory } from './advisories/model.js';
import type { Inventory } from './inventory/index.js';
import { isScanError } from './errors.js';
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

describe('evaluating one advisory many times (a re-grade)', () => {
  it('a range keeps its own order under each comparator, and unsorted events are sorted once', () => {
    // apk puts 1.0_rc1 before 1.0, rpm after it: the same events sort differently under each.
    const a = aff([{ fixed: '1.0' }, { introduced: '1.0_rc1' }]);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(evaluateAffected(a, '1.0_rc2', compareApkVersions), { affected: true, fixed: '1.0' }, 'apk: 1.0_rc1 <= 1.0_rc2 < 1.0');
      assert.deepEqual(evaluateAffected(a, '1.0_rc2', compareRpmVersions), { affected: true }, 'rpm: 1.0 < 1.0_rc1 <= 1.0_rc2, introduced after the fix: no fix');
    }
    const simple = aff([{ introduced: '0' }, { fixed: '2.0-1' }]);
    assert.deepEqual(evaluateAffected(simple, '1.9-1', compareDebVersions), { affected: true, fixed: '2.0-1' });
    assert.deepEqual(evaluateAffected(simple, '2.0-1', compareDebVersions), { affected: false });
    assert.deepEqual(evaluateAffected(aff([{ fixed: '2.0-1' }]), '1.0-1', compareDebVersions), { affected: false }, 'no introduced: never affected');
  });

  it('a memoized comparator gives the same answers, across its resets, and still refuses bad versions', () => {
    const versions = ['1.0-1', '1.0~rc1-1', '1:0.9-1', '1.0+b1-1', '1.0-1.1', '2.0', '0.9', '1.0-1~deb12u1'];
    let calls = 0;
    const counted = (a: string, b: string) => (calls++, compareDebVersions(a, b));
    // 64 pairs through a memo of 10: it starts over again and again, and every answer stays right.
    const memo = memoizedComparator(counted, 10);
    for (let round = 0; round < 3; round++) for (const a of versions) for (const b of versions) assert.equal(memo(a, b), compareDebVersions(a, b), `${a} vs ${b}`);
    const big = memoizedComparator(counted);
    calls = 0;
    for (let round = 0; round < 3; round++) for (const a of versions) for (const b of versions) big(a, b);
    assert.equal(calls, versions.length ** 2, 'each pair compared once');
    for (let i = 0; i < 2; i++) assert.throws(() => big('1.0 beta', '1.0'), (err) => isScanError(err) && err.code === 'VERSION_INVALID');
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

describe('one finding per advisory and package', () => {
  it('takes the lowest fix any entry names, whatever order the entries come in', async () => {
    const inv: Inventory = {
      distro: { id: 'debian', release: '12', ecosystem: 'Debian:12', namespace: 'debian' },
      packages: [{ type: 'deb', name: 'openssl', version: '3.0.1-1', purl: 'pkg:deb/debian/openssl@3.0.1-1' }],
      sources: [],
      contentManifests: [],
    };
    const entry = (fixed?: string): Affected => ({ ecosystem: 'Debian:12', name: 'openssl', ranges: [{ type: 'ECOSYSTEM', events: fixed ? [{ introduced: '0' }, { fixed }] : [{ introduced: '0' }] }], versions: [] });
    const entries = [entry(), entry('3.0.9-1'), entry('3.0.5-1')];
    for (const order of [entries, [...entries].reverse(), [entries[1]!, entries[0]!, entries[2]!]]) {
      const store = new MemoryAdvisoryStore();
      const adv: Advisory = { id: 'DSA-1', aliases: [], severity: 'Important', affected: order, source: 'osv' };
      await store.import([adv]);
      const found = await matchInventory(inv, store);
      assert.deepEqual(found.map((f) => [f.advisory, f.fixedVersion]), [['DSA-1', '3.0.5-1']]);
    }
  });
});
