/**
 * Runs checks in order and files each outcome as preflight's engine does (openshift-preflight
 * internal/engine/engine.go `ExecuteChecks`): a thrown error goes to `errors`; a failed check of level `warn`
 * to `warned`; any other failed check to `failed`; a passing check to `passed`. Checks of level `optional`
 * run but are not reported. The image passes iff nothing errored and nothing failed.
 */
import type { Check, Verdict } from './check.js';
import type { Subject } from './subject.js';

export interface CheckOutcome {
  check: Check;
  /** Position of the check in the policy: reports list outcomes in the order the checks ran. */
  index: number;
  /** Milliseconds, whole (preflight reports `float64(ElapsedTime.Milliseconds())`). */
  elapsedMs: number;
  /** Why: the verdict's details, or the error's message. */
  details: string[];
  error?: Error;
}

export interface Results {
  /** The image as the report names it (preflight's `TestedImage`). */
  image: string;
  passed: boolean;
  passedChecks: CheckOutcome[];
  failed: CheckOutcome[];
  errors: CheckOutcome[];
  warned: CheckOutcome[];
}

export type CheckStatus = 'passed' | 'failed' | 'error' | 'warning';

/** Every outcome with its status, in the order the checks ran (the reports list them so). */
export function inRunOrder(r: Results): Array<[CheckStatus, CheckOutcome]> {
  const all: Array<[CheckStatus, CheckOutcome]> = [
    ...r.passedChecks.map((o): [CheckStatus, CheckOutcome] => ['passed', o]),
    ...r.failed.map((o): [CheckStatus, CheckOutcome] => ['failed', o]),
    ...r.errors.map((o): [CheckStatus, CheckOutcome] => ['error', o]),
    ...r.warned.map((o): [CheckStatus, CheckOutcome] => ['warning', o]),
  ];
  return all.sort((a, b) => a[1].index - b[1].index);
}

export async function runChecks(checks: readonly Check[], subject: Subject, image: string): Promise<Results> {
  const r: Results = { image, passed: false, passedChecks: [], failed: [], errors: [], warned: [] };
  for (const [index, check] of checks.entries()) {
    const start = process.hrtime.bigint();
    let v: Verdict | undefined;
    let error: Error | undefined;
    try {
      v = await check.validate(subject);
    } catch (err) {
      // An abort is not a check outcome: the whole run stops.
      if (subject.signal?.aborted) throw err;
      error = err instanceof Error ? err : new Error(String(err));
    }
    const elapsedMs = Number((process.hrtime.bigint() - start) / 1_000_000n);
    if (check.level === 'optional') continue;
    if (error) r.errors.push({ check, index, elapsedMs, details: [error.message], error });
    else if (!v!.passed) (check.level === 'warn' ? r.warned : r.failed).push({ check, index, elapsedMs, details: v!.details });
    else r.passedChecks.push({ check, index, elapsedMs, details: v!.details });
  }
  r.passed = r.errors.length === 0 && r.failed.length === 0;
  return r;
}
