// apk has no oracle on Debian: the tests use the edge cases of shared/reference/tooling.md §5.5, a selection of
// apk-tools' own test table (test/version.data, as knqyf263/go-apk-version ships it), and properties every
// total order has (antisymmetry, transitivity) over random versions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareApkVersions, isValidApkVersion } from './apk.js';
import { fuzzSeed, seededRandom } from '../testing/tools.js';

const TABLE = `
2.34 > 0.1.0_alpha
23_foo > 4_beta
1.0 < 1.0bc
0.1.0_alpha = 0.1.0_alpha
0.1.0_alpha < 0.1.3_alpha
0.1.0_alpha2 > 0.1.0_alpha
0.1.0_alpha < 2.2.39-r1
1.0.4-r3 < 1.0.4-r4
1.1 > 1.1_alpha1
1.2.1 > 1.2
1.3_alpha < 1.3_alpha2
0.8_beta4 < 4.8-r1
3.10.18-r1 > 2.3.0b-r1
2.3.0b-r1 < 2.3.0b-r2
0.12.3 > 0.12
1.06-r6 < 006
006 > 1.0.0
9.3.4-r2 > 9.3.4
2.59 < 20050718-r1
3.9.8-r5 > 2.01.01_alpha10
1.0 > 0.99.3.20040818
4.2.52_p2-r1 < 4.2.52_p4-r2
1.02.07 < 1.02.10-r1
1.05-r18 < 1.05-r19
20060720 > 3.0.20060720
2.5.1-r8 < 2.5.1a-r1
0.3-r2 < 6.3
20040401 > 2.0.0_rc3-r1
3.0.0-r2 < 021109-r3
0.9.16-r1 < 3.9_pre20060124
1.1.7 < 6b-r7
0.10.0 < 0.10.1_rc1
2.0.2 > 1.1a
1.06-r2 > 0.15.1b-r2
22.7-r1 < 22.7.3-r1
22.7 > 2.1_pre20
2.10.1 > 02.08.01b
8.1.2.20050715-r1 < 20030215
1.6d > 1.2.07.8
1.2.07.8 < 1.2.12.04
0.59s-r11 < 0.65
0.20070118 < 0.20070207_rc1
4.5_p1-r1 > 4.5_p1
0.9.8c-r1 < 0.9.8d
2.2.3-r2 < 013
1.7 < 1.7b
1.8.5 < 1.8.5_p2
1.4.9-r2 < 2.9.11_pre20051101-r2
2.9.11_pre20051101-r3 > 2.9.11_pre20051101
1.6.8_p12-r1 > 1.6.8_p9-r2
0.9.28-r2 < 0.9.28.1
0.9.28.1 < 087-r1
104-r11 > 104-r9
20040406-r1 > 2.12r-r4
2.12r-r4 < 2.12r-r5
7.0.17 < 7.0.174
1.4.4-r1 < 2.1.9.200602141850
1.3-r0 < 1.3.1-r0
1.3_pre1-r1 < 1.3.2
1.0_p10-r0 > 1.0_p9-r0
0.1.0_alpha_pre2 < 0.1.0_alpha
10.0.0_b2-r0 < 10.0.0_b3-r0
`;

describe('apk version comparison', () => {
  it('orders the reference edge cases', () => {
    assert.equal(compareApkVersions('1.2.3-r0', '1.2.3-r1'), -1);
    assert.equal(compareApkVersions('1.2.3_p1', '1.2.3'), 1);
    assert.equal(compareApkVersions('1.2_rc1', '1.2'), -1);
    assert.equal(compareApkVersions('1.2a', '1.2'), 1);
    assert.equal(compareApkVersions('1.02', '1.1'), -1);
    assert.equal(compareApkVersions('1.02', '1.0'), 1);
    // A revision of 1.0 is older than any post-release suffix of it.
    const chain = ['1.0_alpha', '1.0_beta', '1.0_pre', '1.0_rc', '1.0', '1.0-r1', '1.0_cvs', '1.0_svn', '1.0_git', '1.0_hg', '1.0_p', '1.0_p-r1'];
    for (let i = 1; i < chain.length; i++) assert.equal(compareApkVersions(chain[i - 1]!, chain[i]!), -1, `${chain[i - 1]} < ${chain[i]}`);
    assert.equal(compareApkVersions('1.0.123456789012345678901234567890', '1.0.123456789012345678901234567889'), 1);
  });

  it("agrees with apk-tools' test table", () => {
    const rows = TABLE.trim().split('\n');
    assert.ok(rows.length > 50);
    for (const row of rows) {
      const [a, op, b] = row.split(' ') as [string, string, string];
      const want = op === '<' ? -1 : op === '>' ? 1 : 0;
      assert.equal(compareApkVersions(a, b), want, row);
      assert.equal(compareApkVersions(b, a), -want || 0, `${row} (swapped)`);
    }
  });

  it('validates the grammar', () => {
    for (const ok of ['1.2.3', '1.2.3_alpha1', '1.2.3-r1', '0.1.0_alpha_pre2', '1.0b']) assert.ok(isValidApkVersion(ok), ok);
    for (const bad of ['1.0bc', '1.0!', '', '1.0-', '1.0-x1']) assert.ok(!isValidApkVersion(bad), bad);
  });

  it('is a total order on random versions (antisymmetric and transitive)', () => {
    const seed = fuzzSeed();
    const rnd = seededRandom(seed);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const gen = () => {
      let v = pick(['0', '1', '2', '10', '01']);
      for (let i = Math.floor(rnd() * 3); i > 0; i--) v += `.${pick(['0', '1', '2', '9', '10', '00', '05'])}`;
      if (rnd() < 0.2) v += pick(['a', 'b', 'z']);
      for (let i = rnd() < 0.3 ? 1 + Math.floor(rnd() * 2) : 0; i > 0; i--) v += `_${pick(['alpha', 'beta', 'pre', 'rc', 'p', 'git', 'hg'])}${pick(['', '1', '2', '10'])}`;
      if (rnd() < 0.5) v += `-r${pick(['0', '1', '2', '10'])}`;
      return v;
    };
    const vs = Array.from({ length: 300 }, gen);
    for (const v of vs) assert.ok(isValidApkVersion(v), `${v} is valid (seed ${seed})`);
    for (const a of vs) for (const b of vs) assert.equal(compareApkVersions(a, b), -compareApkVersions(b, a) || 0, `${a} vs ${b} (seed ${seed})`);
    const sorted = [...vs].sort(compareApkVersions);
    for (let i = 0; i < sorted.length; i++)
      for (let j = i + 1; j < sorted.length; j++) assert.ok(compareApkVersions(sorted[i]!, sorted[j]!) <= 0, `${sorted[i]} <= ${sorted[j]} (seed ${seed})`);
  });
});
