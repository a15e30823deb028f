// The engine files outcomes as preflight's engine.go: a throw is an error, a failed `warn` check a warning,
// a failed check of any other level a failure; `optional` checks run but are not reported; the image passes
// only without errors and failures.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openImage } from '../client/image.js';
import { openSource } from '../client/open.js';
import type { ImageSource } from '../client/transport.js';
import { verdict, type Check, type CheckLevel } from './check.js';
import { runChecks } from './engine.js';
import { UmociLayout } from './fixtures.js';
import { namingOf } from './naming.js';
import { Subject } from './subject.js';
import { loadBaseImageData } from './ubi-layers.js';

const skip = spawnSync('umoci', ['--version'], { stdio: 'ignore' }).status === 0 || process.env.CI ? false : 'needs umoci';

function check(name: string, level: CheckLevel, result: boolean | Error, ran: string[] = []): Check {
  return {
    name,
    level,
    description: `${name} description`,
    help: `help ${name}`,
    suggestion: `fix ${name}`,
    knowledgebaseURL: 'https://kb',
    checkURL: 'https://check',
    policyPage: `docs/policy/${name}.md`,
    async validate() {
      ran.push(name);
      if (result instanceof Error) throw result;
      return verdict(result, `${name} says ${result}`);
    },
  };
}

let work: string;
let source: ImageSource;
let subject: Subject;

describe('runChecks', { skip }, () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-certify-engine-'));
    const layout = await UmociLayout.create(join(work, 'img'));
    source = await openSource(layout.ref('base'));
    subject = new Subject({ image: await openImage(source), naming: namingOf(source.reference), baseData: await loadBaseImageData() });
  });
  after(async () => {
    await subject.close();
    await source.close();
    await rm(work, { recursive: true, force: true });
  });

  it('classifies each outcome and runs every check, optional ones included, in order', async () => {
    const ran: string[] = [];
    const r = await runChecks(
      [
        check('A', 'best', true, ran),
        check('B', 'better', false, ran),
        check('C', 'good', new Error('cannot tell'), ran),
        check('D', 'warn', false, ran),
        check('E', 'warn', true, ran),
        check('F', 'optional', false, ran),
        check('G', 'optional', new Error('ignored'), ran),
      ],
      subject,
      'img',
    );
    assert.deepEqual(ran, ['A', 'B', 'C', 'D', 'E', 'F', 'G']);
    assert.deepEqual(r.passedChecks.map((o) => o.check.name), ['A', 'E']);
    assert.deepEqual(r.failed.map((o) => o.check.name), ['B']);
    assert.deepEqual(r.errors.map((o) => [o.check.name, o.details]), [['C', ['cannot tell']]]);
    assert.deepEqual(r.warned.map((o) => o.check.name), ['D']);
    assert.equal(r.passed, false);
    assert.deepEqual([...r.passedChecks, ...r.failed, ...r.errors, ...r.warned].map((o) => o.index).sort(), [0, 1, 2, 3, 4]);
  });

  it('passes with warnings, fails on an error alone', async () => {
    assert.equal((await runChecks([check('A', 'best', true), check('D', 'warn', false)], subject, 'img')).passed, true);
    assert.equal((await runChecks([check('A', 'best', true), check('C', 'good', new Error('x'))], subject, 'img')).passed, false);
    assert.equal((await runChecks([], subject, 'img')).passed, true);
  });
});
