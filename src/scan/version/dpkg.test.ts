// Debian version ordering must agree with `dpkg --compare-versions` on every pair; thousands of random pairs go
// through one shell script per run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareDebVersions, parseDebVersion } from './dpkg.js';
import { isScanError } from '../errors.js';
import { fuzzSeed, hasDpkg, needs, seededRandom } from '../testing/tools.js';

/** dpkg's answer (-1, 0, 1) for every pair, from one `sh` running dpkg per pair. */
function dpkgOracle(pairs: Array<[string, string]>): number[] {
  const dir = mkdtempSync(join(tmpdir(), 'berth-dpkgcmp-'));
  try {
    const script = join(dir, 'cmp.sh');
    const q = (s: string) => `'${s}'`;
    writeFileSync(
      script,
      pairs.map(([a, b]) => `if dpkg --compare-versions ${q(a)} lt ${q(b)}; then echo -1; elif dpkg --compare-versions ${q(a)} eq ${q(b)}; then echo 0; else echo 1; fi\n`).join(''),
    );
    return execFileSync('sh', [script], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }).split('\n').filter((l) => l !== '').map(Number);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const UP = ['0', '1', '2', '9', '10', '01', '00', '99999999999999999999', '.', '.', '+', '~', '~', 'a', 'b', 'Z', 'rc', 'dfsg', 'git', '-', ':'];
const REV = ['0', '1', '2', '10', '.', '+', '~', 'a', 'b', 'deb12u', 'ubuntu', 'build'];

function randomVersion(rnd: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const epoch = rnd() < 0.15;
  const revision = rnd() < 0.6;
  // '-' only inside the upstream when there is a revision after it; ':' only when there is an epoch.
  const upPieces = UP.filter((p) => (p !== '-' || revision) && (p !== ':' || epoch));
  let up = pick(['0', '1', '2', '10', '3']);
  for (let i = Math.floor(rnd() * 5); i > 0; i--) up += pick(upPieces);
  let v = up;
  if (revision) {
    let rev = '';
    for (let i = 1 + Math.floor(rnd() * 3); i > 0; i--) rev += pick(REV);
    v += `-${rev}`;
  }
  if (epoch) v = `${pick(['0', '1', '2', '10'])}:${v}`;
  return v;
}

function mutate(v: string, rnd: () => number): string {
  // Change one character of the upstream/revision (never the structure), so pairs share long prefixes.
  const chars = ['0', '1', '9', 'a', 'z', '.', '+', '~'];
  const colon = v.indexOf(':');
  const i = colon + 2 + Math.floor(rnd() * Math.max(0, v.length - colon - 2));
  if (i >= v.length || v[i] === '-' || v[i] === ':') return v;
  const c = chars[Math.floor(rnd() * chars.length)]!;
  return rnd() < 0.5 ? v.slice(0, i) + c + v.slice(i + 1) : v.slice(0, i) + c + v.slice(i);
}

describe('dpkg version comparison', () => {
  it('orders the reference edge cases', () => {
    const chain = ['1.0~rc1', '1.0', '1.0+b1', '1.0.1'];
    for (let i = 1; i < chain.length; i++) assert.equal(compareDebVersions(chain[i - 1]!, chain[i]!), -1, `${chain[i - 1]} < ${chain[i]}`);
    assert.equal(compareDebVersions('1:1.0', '2.0'), 1);
    assert.equal(compareDebVersions('1.0-1', '1.0-1.1'), -1);
    assert.equal(compareDebVersions('1.0-1', '1.0-1ubuntu1'), -1);
    // Letters sort before other characters: 'u' < '+'.
    assert.equal(compareDebVersions('1.0-1ubuntu1', '1.0-1+deb12u1'), -1);
    assert.equal(compareDebVersions('1.0', '1.0-0'), 0);
    assert.equal(compareDebVersions('0:1.0', '1.0'), 0);
    assert.equal(compareDebVersions('99999999999999999999999', '99999999999999999999998'), 1);
    assert.deepEqual(parseDebVersion('2:1.2-3-4'), { epoch: 2, upstream: '1.2-3', revision: '4' });
  });

  it('refuses what dpkg refuses, as dpkg does', { skip: needs(hasDpkg, 'dpkg') }, () => {
    for (const bad of [':1.0', 'a:1.0', '1.0-', '1:', '1.0 2', '1:-1']) {
      assert.throws(() => parseDebVersion(bad), (e) => isScanError(e, 'VERSION_INVALID'), bad);
      const r = spawnSync('dpkg', ['--compare-versions', bad, 'lt', '1']);
      assert.notEqual(r.status, 0, `dpkg refuses ${bad}`);
      assert.match(r.stderr.toString(), /bad syntax/, bad);
    }
  });

  it('agrees with dpkg --compare-versions on 2,500 random pairs', { skip: needs(hasDpkg, 'dpkg') }, () => {
    const seed = fuzzSeed();
    const rnd = seededRandom(seed);
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < 2_500; i++) {
      const a = randomVersion(rnd);
      pairs.push([a, rnd() < 0.6 ? mutate(a, rnd) : randomVersion(rnd)]);
    }
    const want = dpkgOracle(pairs);
    assert.equal(want.length, pairs.length);
    const wrong = pairs.flatMap(([a, b], i) => (compareDebVersions(a, b) === want[i] ? [] : [`${a} vs ${b}: dpkg ${want[i]}, berth ${compareDebVersions(a, b)}`]));
    assert.deepEqual(wrong.slice(0, 20), [], `seed ${seed} (BERTH_FUZZ_SEED to replay)`);
    for (const r of [-1, 0, 1]) assert.ok(want.filter((x) => x === r).length > 50, `outcome ${r} is common enough`);
  });
});
