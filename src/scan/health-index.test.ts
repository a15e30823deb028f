// Every boundary of the grade table, for both counted severities, plus the next-drop date.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GRADE_RULES, gradeOf, healthIndex } from './health-index.js';
import type { Finding } from './match.js';

const DAY = 86_400_000;
const published = '2026-01-01T00:00:00Z';
const at = (days: number) => new Date(Date.parse(published) + days * DAY + 3_600_000); // an hour into that day
const f = (severity: Finding['severity'], extra: Partial<Finding> = {}): Finding => ({
  advisory: `RHSA-${severity}`,
  cves: [],
  severity,
  fixedVersion: '1.0-2',
  published,
  package: { name: 'p', version: '1.0-1', purl: 'pkg:rpm/redhat/p@1.0-1' },
  ecosystem: 'Red Hat:enterprise_linux:9',
  ...extra,
});

describe('Container Health Index', () => {
  it('grades at every boundary', () => {
    const cases: Array<[Finding['severity'], number, string]> = [
      ['Critical', 0, 'B'], ['Critical', 7, 'B'], ['Critical', 8, 'C'], ['Critical', 30, 'C'], ['Critical', 31, 'D'],
      ['Critical', 90, 'D'], ['Critical', 91, 'E'], ['Critical', 365, 'E'], ['Critical', 366, 'F'],
      ['Important', 0, 'B'], ['Important', 7, 'B'], ['Important', 8, 'B'], ['Important', 30, 'B'], ['Important', 31, 'C'],
      ['Important', 90, 'C'], ['Important', 91, 'D'], ['Important', 365, 'D'], ['Important', 366, 'F'],
    ];
    for (const [sev, days, grade] of cases) {
      assert.equal(gradeOf(sev as 'Critical', days), grade, `${sev} ${days} days`);
      assert.equal(healthIndex([f(sev)], at(days)).grade, grade, `${sev} ${days} days (healthIndex)`);
    }
    assert.equal(GRADE_RULES.length, 4, 'one table');
  });

  it('ignores Moderate, Low, unfixed and undated findings', () => {
    const now = at(1000);
    assert.equal(healthIndex([], now).grade, 'A');
    assert.equal(healthIndex([f('Moderate'), f('Low'), f('Unknown')], now).grade, 'A');
    const unfixed = f('Critical');
    delete unfixed.fixedVersion;
    assert.equal(healthIndex([unfixed], now).grade, 'A');
    const undated = f('Critical');
    delete undated.published;
    const h = healthIndex([undated], now);
    assert.equal(h.grade, 'A');
    assert.equal(h.undated, 1);
  });

  it('takes the worst finding and says why', () => {
    const h = healthIndex([f('Important', { advisory: 'RHSA-1' }), f('Critical', { advisory: 'RHSA-2', published: '2026-03-01T00:00:00Z' })], new Date('2026-03-20T12:00:00Z'));
    // Important, 78 days: C; Critical, 19 days: C. Both C: the older one is named.
    assert.equal(h.grade, 'C');
    assert.equal(h.worst?.advisory, 'RHSA-1');
    assert.match(h.reason, /Important fix RHSA-1 unapplied for 78 days/);
  });

  it('dates the next drop as the catalog shows it', () => {
    // Critical published 2026-01-01: B through day 7, C from day 8 (2026-01-09), D from day 31 (2026-02-01).
    assert.equal(healthIndex([f('Critical')], at(0)).nextDropDate, '2026-01-09');
    assert.equal(healthIndex([f('Critical')], at(8)).nextDropDate, '2026-02-01');
    assert.equal(healthIndex([f('Critical')], at(91)).nextDropDate, '2027-01-02');
    // Important skips E: from D (day 91..365) straight to F at day 366.
    assert.equal(healthIndex([f('Important')], at(100)).nextDropDate, '2027-01-02');
    assert.equal(healthIndex([f('Important')], at(400)).nextDropDate, undefined, 'F cannot drop');
    // Two findings: the earliest drop wins.
    assert.equal(healthIndex([f('Important'), f('Critical', { published: '2026-01-05T00:00:00Z' })], at(5)).nextDropDate, '2026-01-13');
  });
});
