/**
 * Test helpers for the scanner: the real tools the tests use as oracles (rpm, rpmbuild, dpkg, db_load) and a
 * seeded random generator, so a failing fuzz run can be replayed with `BERTH_FUZZ_SEED=<seed>`.
 *
 * Without a tool, tests skip with the package to install; under CI (`CI` set) they run and fail instead, so a
 * CI machine that lacks the package cannot pass silently.
 */
import { spawnSync } from 'node:child_process';

export const has = (cmd: string, args: string[] = ['--version']) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

export const hasRpm = has('rpm');
export const hasRpmbuild = has('rpmbuild');
export const hasDpkg = has('dpkg', ['--version']);
export const hasDbLoad = has('db5.3_load', ['-V']) || has('db_load', ['-V']);

/** `skip` option for node:test: a reason when `present` is false and we are not in CI. */
export function needs(present: boolean, pkg: string): string | false {
  if (present || process.env.CI) return false;
  return `needs the Debian package ${pkg}`;
}

/** mulberry32: small, fast, good enough to spread test inputs. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function fuzzSeed(): number {
  const env = process.env.BERTH_FUZZ_SEED;
  return env ? Number(env) : Math.floor(Math.random() * 2 ** 31);
}
