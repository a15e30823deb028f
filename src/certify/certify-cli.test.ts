// `berth certify` as users run it: the exit code says whether the image passes, `--format json` prints
// preflight's results.json (validated against its shape), junit and text formats, `--artifacts`, and a
// multi-arch image checked on every platform or on the one `--platform` names.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildGoodImage, type UmociLayout } from './fixtures.js';
import { preflightShapeProblems } from './preflight-shape.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/berth.js', import.meta.url));
const tools = ['umoci', 'rpmbuild', 'rpm', 'sqlite3'].every((t) => spawnSync(t, ['--version'], { stdio: 'ignore' }).status === 0);
const skip = tools || process.env.CI ? false : 'needs umoci, rpm (rpmbuild) and sqlite3';

let work: string;
let layout: UmociLayout;

async function berth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, HOME: work } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('berth certify', { skip }, () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-certify-cli-'));
    ({ layout } = await buildGoodImage(join(work, 'widgets'), work));
    await layout.config('good', { to: 'root', user: 'root' });
    await layout.config('good', { to: 'good-arm64', architecture: 'arm64' });
    await layout.config('root', { to: 'root-arm64', architecture: 'arm64' });
    await layout.index('multi', ['good', 'root-arm64']);
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('exits 0 and prints preflight’s results.json for a passing image', async () => {
    const r = await berth('certify', '--format', 'json', layout.ref('good'));
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { passed: boolean; image: string; results: { passed: unknown[] } };
    assert.deepEqual(preflightShapeProblems(doc), []);
    assert.equal(doc.passed, true);
    assert.equal(doc.image, layout.ref('good'));
    assert.equal(doc.results.passed.length, 10);
    assert.match(r.stdout, /^\{\n {4}"image"/);
  });

  it('exits 1 when a check fails, with the failure in every format', async () => {
    const json = await berth('certify', '--format', 'json', layout.ref('root'));
    assert.equal(json.code, 1);
    assert.equal(json.stderr, '');
    const doc = JSON.parse(json.stdout) as { passed: boolean; results: { failed: Array<{ name: string }> } };
    assert.deepEqual(preflightShapeProblems(doc), []);
    assert.equal(doc.passed, false);
    assert.deepEqual(doc.results.failed.map((f) => f.name), ['RunAsNonRoot']);
    const junit = await berth('certify', '--format', 'junit', layout.ref('root'));
    assert.equal(junit.code, 1);
    assert.match(junit.stdout, /<testsuite tests="10" failures="1" warnings="0" time="[0-9.]+" name="Red Hat Certification">/);
    assert.match(junit.stdout, /name="RunAsNonRoot" time="[^"]+">\n\t\t\t<failure message="Failed" type="">[^<]*\(docs\/policy\/run-as-non-root\.md\)<\/failure>/);
    const text = await berth('certify', layout.ref('root'));
    assert.equal(text.code, 1);
    assert.match(text.stdout, /FAILED +RunAsNonRoot +USER root is root\n.*fix: Indicate a specific USER.*\n.*see: docs\/policy\/run-as-non-root\.md/);
  });

  it('--policy root passes the same image', async () => {
    const r = await berth('certify', '--policy', 'root', layout.ref('root'));
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /PASSED \(policy root\)/);
    assert.ok(!r.stdout.includes('RunAsNonRoot'));
  });

  it('checks every platform of a multi-arch image, or the one --platform names; writes artifacts per architecture', async () => {
    const all = await berth('certify', '--format', 'json', '--artifacts', join(work, 'artifacts'), layout.ref('multi'));
    assert.equal(all.code, 1);
    const docs = JSON.parse(all.stdout) as Array<{ passed: boolean }>;
    assert.equal(docs.length, 2);
    for (const d of docs) assert.deepEqual(preflightShapeProblems(d), []);
    assert.deepEqual(docs.map((d) => d.passed), [true, false]);
    assert.deepEqual((await readdir(join(work, 'artifacts'))).sort(), ['amd64', 'arm64']);
    const files = (await readdir(join(work, 'artifacts', 'arm64'))).sort();
    assert.deepEqual(files, ['preflight.log', 'results-junit.xml', 'results.json', 'results.txt', 'rpm-manifest.json']);
    const manifest = await readFile(join(work, 'artifacts', 'amd64', 'rpm-manifest.json'), 'utf8');
    assert.deepEqual(JSON.parse(manifest), {
      rpms: [
        {
          architecture: 'noarch',
          name: 'rh-base',
          nvra: 'rh-base-1.0-1.el9.noarch',
          release: '1.el9',
          srpm_name: 'rh-base',
          srpm_nevra: 'rh-base-0:1.0-1.el9.src',
          summary: 'certification test package',
          version: '1.0',
        },
      ],
    });
    assert.match(manifest, /^\{\n {4}"rpms": \[\n {8}\{\n {12}"architecture"/);
    const arm = JSON.parse(await readFile(join(work, 'artifacts', 'arm64', 'results.json'), 'utf8')) as { passed: boolean };
    assert.deepEqual(preflightShapeProblems(arm), []);
    assert.equal(arm.passed, false);
    assert.match(await readFile(join(work, 'artifacts', 'arm64', 'preflight.log'), 'utf8'), /check=RunAsNonRoot result=FAILED[^\n]*\n {2}USER root is root/);

    const amd = await berth('certify', '--platform', 'amd64', layout.ref('multi'));
    assert.equal(amd.code, 0, amd.stdout);
    assert.match(amd.stdout, /^oci:.*:multi \(linux\/amd64\): PASSED/);
    const arm64 = await berth('certify', '--platform', 'linux/arm64', '--format', 'json', layout.ref('multi'));
    assert.equal(arm64.code, 1);
    assert.equal((JSON.parse(arm64.stdout) as { passed: boolean }).passed, false);
    const none = await berth('certify', '--platform', 's390x', layout.ref('multi'));
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no image for linux\/s390x in the index \(it has: linux\/amd64, linux\/arm64\)/);
  });

  it('refuses a bad --platform, an unknown --policy and a missing --ubi-layers file with a clear message', async () => {
    const p = await berth('certify', '--platform', 'linux//x', layout.ref('good'));
    assert.equal(p.code, 1);
    assert.match(p.stderr, /--platform "linux\/\/x": expected ARCH or OS\/ARCH\[\/VARIANT\]/);
    const pol = await berth('certify', '--policy', 'operator', layout.ref('good'));
    assert.equal(pol.code, 1);
    assert.match(pol.stderr, /unknown policy "operator" \(known: container, root, scratch-nonroot, scratch-root\)/);
    const u = await berth('certify', '--ubi-layers', join(work, 'missing.json'), layout.ref('good'));
    assert.equal(u.code, 1);
    assert.match(u.stderr, /missing\.json: cannot read/);
  });

  it('--help shows the flags and examples', async () => {
    const r = await berth('certify', '--help');
    assert.equal(r.code, 0);
    for (const s of ['--policy <policy>', 'container', 'scratch-nonroot', '--format <format>', '--artifacts <dir>', '--platform <arch>', '--ubi-layers <file>', 'Examples:', 'berth certify docker://']) assert.ok(r.stdout.includes(s), s);
  });
});
