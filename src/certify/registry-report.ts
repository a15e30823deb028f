/**
 * What the registry keeps of a certification run, per platform: preflight's results.json (so that an API
 * client gets exactly what `berth certify --format json` prints) and, for people, every check's outcome with
 * its reasons and the page of our policy guide that explains how to fix it. The registry stores these as JSON
 * (metadata `cert_results.platforms`) and its API serves them as they are.
 */
import { formatPlatform } from '../client/platform.js';
import { inRunOrder, type CheckStatus } from './engine.js';
import type { CertifyRun } from './certify.js';
import { userResponse, type UserResponse } from './report.js';

export type { CheckStatus };

export interface CheckReport {
  name: string;
  status: CheckStatus;
  /** Why it decided as it did (the verdict's details, or the error's message). */
  details: string[];
  /** A stable code when the check could not decide (CertifyError codes: RPMDB_MISSING, TAG_UNKNOWN, ...). */
  code?: string;
  /** Our policy guide page for the check, relative to the repository root (docs/policy/...). */
  policyPage: string;
}

export interface PlatformReport {
  /** `linux/amd64`; undefined for an image whose config names no platform. */
  platform?: string;
  digest: string;
  passed: boolean;
  /** preflight's results.json for this platform. */
  results: UserResponse;
  /** Every reported check, in the order they ran. */
  checks: CheckReport[];
  labels: Record<string, string>;
}

export function platformReports(run: CertifyRun): PlatformReport[] {
  return run.platforms.map((p) => {
    const r = p.results;
    const checks = inRunOrder(r).map(([status, o]): CheckReport => {
      const raw = (o.error as { code?: unknown } | undefined)?.code;
      const code = typeof raw === 'string' ? raw : undefined;
      return { name: o.check.name, status, details: o.details, ...(code ? { code } : {}), policyPage: o.check.policyPage };
    });
    return {
      ...(p.platform ? { platform: formatPlatform(p.platform) } : {}),
      digest: p.digest,
      passed: r.passed,
      results: userResponse(r, run.library),
      checks,
      labels: p.labels ?? {},
    };
  });
}
