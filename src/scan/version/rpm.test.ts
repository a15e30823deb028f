// rpmvercmp must agree with rpm itself on every pair: thousands of random pairs per run go through one rpm
// process (a Lua loop over a file of pairs) and Berth's answer must be the same for each.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareEvr, compareRpmVersions, parseEvr, rpmvercmp } from './rpm.js';
import { fuzzSeed, hasRpm, needs, seededRandom } from '../testing/tools.js';

/** rpm.vercmp() over every pair, in one rpm process. */
function rpmOracle(pairs: Array<[string, string]>): number[] {
  const dir = mkdtempSync(join(tmpdir(), 'berth-rpmvercmp-'));
  try {
    const file = join(dir, 'pairs');
    writeFileSync(file, pairs.map(([a, b]) => `${a}\t${b}\n`).join(''));
    const lua = `%{lua: for l in io.lines("${file}") do local a, b = l:match("^(.-)\\t(.*)$"); print(rpm.vercmp(a, b) .. "\\n") end}`;
    const out = execFileSync('rpm', ['--eval', lua], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    return out.split('\n').filter((l) => l !== '').map(Number);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const PIECES = ['0', '1', '2', '9', '10', '01', '007', '123456789012345678901234567890', 'a', 'b', 'Z', 'rc', 'alpha', 'git', 'el9', 'fc38', '.', '.', '.', '_', '+', '~', '^', '-', 'é'];

function randomVersion(rnd: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const n = 1 + Math.floor(rnd() * 7);
  let s = '';
  for (let i = 0; i < n; i++) s += pick(PIECES);
  if (rnd() < 0.15) s = `${pick(['0', '1', '2', '10', ''])}:${s}`;
  return s;
}

/** A version close to `v`: one piece added, removed or changed, so that pairs often share long prefixes. */
function mutate(v: string, rnd: () => number): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const i = Math.floor(rnd() * (v.length + 1));
  const r = rnd();
  if (r < 0.4) return v.slice(0, i) + pick(PIECES) + v.slice(i);
  if (r < 0.7 && v.length > 1) return v.slice(0, i) + v.slice(i + 1);
  if (r < 0.8) return v;
  return v.slice(0, i) + pick(PIECES) + v.slice(i + 1);
}

describe('rpmvercmp', () => {
  it('orders the reference edge cases', () => {
    const cases: Array<[string, string, number]> = [
      ['1.0', '1.0', 0],
      ['1.0', '1_0', 0],
      ['1.0~rc1', '1.0', -1],
      ['1.0~rc1', '1.0~rc2', -1],
      ['1.0', '1.0^git1', -1],
      ['1.0^git1', '1.0.1', -1],
      ['1.0^20200101', '1.0', 1],
      ['1.1', '1.a', 1],
      ['1.0.1', '1.0', 1],
      ['1.0', '1.0~x', 1],
      ['A', 'a', -1],
      ['010', '10', 0],
      ['123456789012345678901234567890', '123456789012345678901234567889', 1],
    ];
    for (const [a, b, want] of cases) {
      assert.equal(rpmvercmp(a, b), want, `${a} vs ${b}`);
      assert.equal(rpmvercmp(b, a), -want || 0, `${b} vs ${a}`);
    }
  });

  it('splits and compares epoch:version-release', () => {
    assert.deepEqual(parseEvr('1:2.0-3.el9'), { epoch: '1', version: '2.0', release: '3.el9' });
    assert.deepEqual(parseEvr('2.0'), { epoch: undefined, version: '2.0' });
    assert.deepEqual(parseEvr(':2.0-1'), { epoch: '0', version: '2.0', release: '1' });
    assert.equal(compareRpmVersions('1:1.0', '2.0'), 1);
    assert.equal(compareRpmVersions('0:1.0-1', '1.0-1'), 0);
    // A release on one side only makes that side newer, even a '~' one.
    assert.equal(compareRpmVersions('1.0', '1.0-5'), -1);
    assert.equal(compareRpmVersions('1.0-~', '1.0'), 1);
    assert.equal(compareEvr({ epoch: 2, version: '1', release: '1' }, { version: '9', release: '9' }), 1);
  });

  it('agrees with rpm.vercmp() on the edge cases', { skip: needs(hasRpm, 'rpm') }, () => {
    const pairs: Array<[string, string]> = [
      ['1.0~rc1', '1.0'], ['1.0^', '1.0'], ['1.0^git1', '1.0.1'], ['1:1.0', '2.0'], ['1.0', '1.0-1'], ['a', '1'],
      ['~', '^'], ['^', ''.padEnd(1, '.')], ['1..', '1.'], ['1.0-1.el9', '1.0-1.el9_1'],
    ];
    assert.deepEqual(pairs.map(([a, b]) => compareRpmVersions(a, b)), rpmOracle(pairs));
  });

  it('agrees with rpm.vercmp() on 20,000 random pairs', { skip: needs(hasRpm, 'rpm') }, () => {
    const seed = fuzzSeed();
    const rnd = seededRandom(seed);
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < 20_000; i++) {
      const a = randomVersion(rnd);
      pairs.push([a, rnd() < 0.6 ? mutate(a, rnd) : randomVersion(rnd)]);
    }
    const want = rpmOracle(pairs);
    assert.equal(want.length, pairs.length, 'rpm answered every pair');
    const wrong = pairs.flatMap(([a, b], i) => (compareRpmVersions(a, b) === want[i] ? [] : [`${JSON.stringify(a)} vs ${JSON.stringify(b)}: rpm ${want[i]}, berth ${compareRpmVersions(a, b)}`]));
    assert.deepEqual(wrong.slice(0, 20), [], `seed ${seed} (BERTH_FUZZ_SEED to replay)`);
    // The fuzz is only worth something if all three outcomes come up often.
    for (const r of [-1, 0, 1]) assert.ok(want.filter((x) => x === r).length > 500, `outcome ${r} is common enough`);
  });
});
