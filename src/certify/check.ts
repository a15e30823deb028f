/**
 * One certification check, as preflight's `check.Check` (internal/check/check.go): a name, metadata
 * (description, level, knowledge-base and check URLs), help (message and suggestion) and a validate
 * function. Berth adds `policyPage`, the page of our own policy guide (docs/policy/) that explains the rule
 * and how to fix the Dockerfile.
 */
import type { Subject } from './subject.js';

/** preflight's levels: `optional` checks are not reported; a failed `warn` check is a warning, not a failure. */
export type CheckLevel = 'best' | 'better' | 'good' | 'warn' | 'optional';

/**
 * What validate decided. `details` say why, for people (the text report, the log): which labels are
 * missing, which evidence decided BasedOnUbi, which files were modified.
 */
export interface Verdict {
  passed: boolean;
  details: string[];
}

export interface Check {
  /** preflight's `Name()`: the key in results.json. */
  readonly name: string;
  readonly level: CheckLevel;
  readonly description: string;
  /** preflight's `Help().Message`. */
  readonly help: string;
  /** preflight's `Help().Suggestion`. */
  readonly suggestion: string;
  readonly knowledgebaseURL: string;
  readonly checkURL: string;
  /** Our policy guide page, relative to the repository root: `docs/policy/has-license.md`. */
  readonly policyPage: string;
  /**
   * Resolves to the verdict; throws when the check cannot decide (no RPM database, a registry that does not
   * answer, a digest reference with no tags). The engine files a throw under `errors`.
   */
  validate(subject: Subject): Promise<Verdict>;
}

/** Where preflight's checks point for both URLs (openshift-preflight internal/policy/container/defaults.go). */
export const CERT_DOCUMENTATION_URL =
  'https://access.redhat.com/documentation/en-us/red_hat_software_certification/2026/html-single/red_hat_openshift_software_certification_policy_guide/index#assembly-requirements-for-container-images_openshift-sw-cert-policy-introduction';

/** preflight's help message, the same for every check but the name. */
export function helpMessage(name: string): string {
  return `Check ${name} encountered an error. Please review the preflight.log file for more information.`;
}

export function verdict(passed: boolean, ...details: string[]): Verdict {
  return { passed, details };
}
