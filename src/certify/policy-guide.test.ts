// Every check links a page of our policy guide: the page must exist, be titled with the check's name, and be
// listed in the guide's index, so no failed check points at nothing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { POLICIES } from './policy.js';

const root = new URL('../../', import.meta.url);

describe('docs/policy', () => {
  const checks = [...new Set(Object.values(POLICIES).flat())];
  const index = readFileSync(new URL('docs/policy/README.md', root), 'utf8');
  for (const c of checks) {
    it(`${c.name} → ${c.policyPage}`, () => {
      const page = readFileSync(new URL(c.policyPage, root), 'utf8');
      assert.equal(page.split('\n')[0], `# ${c.name}`);
      assert.ok(index.includes(`| ${c.name} |`) && index.includes(`(${c.policyPage.replace('docs/policy/', '')})`), `index lists ${c.name}`);
    });
  }
  it('covers the ten container checks', () => assert.equal(checks.length, 10));
});
