// The Red Hat trademark rule of HasNoProhibitedLabels / HasProhibitedContainerName, case by case as
// preflight's trademark_validator.go decides them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { violatesRedHatTrademark } from './trademark.js';

const cases: Array<[string, boolean]> = [
  ['', false],
  ['Example, Inc.', false],
  ['Red Hat', true],
  ['Red Hat Widgets', true],
  ['redhat-widgets', true],
  ['RED_HAT', true],
  ['  red   hat', true],
  ['-redhat', true],
  ['Widgets Red Hat', true],
  ['widgets-redhat', true],
  ['Widgets for Red Hat', false],
  ['widgets-for-redhat', false],
  ['Widgets for Red Hat OpenShift', false],
  ['Widgets for Red Hat and Red Hat Tools', true],
  ['Red Hat Widgets for Red Hat', true],
  ['for red hat', false],
  ['reddish hat', false],
  ['red1hat', false],
  ['Fred Hatfield', true], // "red hat" inside other words counts too, as preflight's regexp does
  ['hat red', false],
];

describe('violatesRedHatTrademark', () => {
  for (const [s, want] of cases) {
    it(`${JSON.stringify(s)} → ${want ? 'violates' : 'allowed'}`, () => assert.equal(violatesRedHatTrademark(s), want));
  }
});
