/**
 * The Container Health Index (shared/reference/tooling.md §5.1; issue 6): a grade from the age of the oldest
 * unapplied fix of Critical or Important severity. Moderate and Low never count; neither do flaws with no
 * published fix (there is nothing to apply). Age is whole days since the fix was published.
 */
import type { Finding } from './match.js';

export type Grade = 'A' | 'B' | 'C' | 'D' | 'E' | 'F';
type Counted = 'Critical' | 'Important';

/**
 * THE grade rules: a fix of a severity is at the first grade whose limit its age (days) does not exceed. A missing
 * limit means the severity never lands on that grade. Ages past every limit are F.
 */
export const GRADE_RULES: ReadonlyArray<{ grade: Exclude<Grade, 'A' | 'F'>; maxAgeDays: Partial<Record<Counted, number>> }> = [
  { grade: 'B', maxAgeDays: { Critical: 7, Important: 30 } },
  { grade: 'C', maxAgeDays: { Critical: 30, Important: 90 } },
  { grade: 'D', maxAgeDays: { Critical: 90, Important: 365 } },
  { grade: 'E', maxAgeDays: { Critical: 365 } },
];

const ORDER: Grade[] = ['A', 'B', 'C', 'D', 'E', 'F'];
const DAY = 86_400_000;

export interface HealthIndex {
  grade: Grade;
  /** Why: the finding that sets the grade, or that none counts. */
  reason: string;
  /** ISO date (YYYY-MM-DD) on which the grade gets worse if nothing is fixed; absent for A and F. */
  nextDropDate?: string;
  /** The finding that sets the grade. */
  worst?: { advisory: string; severity: Counted; published: string; ageDays: number };
  /** Critical/Important fixes without a publication date, which cannot be aged and are left out. */
  undated: number;
}

/** Whole days from `published` to `now` (negative ages, from clock skew, count as 0). */
export function ageInDays(published: Date, now: Date): number {
  return Math.max(0, Math.floor((now.getTime() - published.getTime()) / DAY));
}

/** The grade of one fix of `severity` that is `ageDays` old. */
export function gradeOf(severity: Counted, ageDays: number): Grade {
  for (const r of GRADE_RULES) {
    const max = r.maxAgeDays[severity];
    if (max !== undefined && ageDays <= max) return r.grade;
  }
  return 'F';
}

/** The age (days) at which a fix of `severity` becomes worse than `grade`, or undefined if it never does. */
function dropAge(severity: Counted, grade: Grade): number | undefined {
  if (grade === 'F') return undefined;
  let limit: number | undefined;
  for (const r of GRADE_RULES) {
    if (ORDER.indexOf(r.grade) > ORDER.indexOf(grade)) break;
    limit = r.maxAgeDays[severity] ?? limit;
  }
  return limit === undefined ? 0 : limit + 1;
}

const worse = (a: Grade, b: Grade): Grade => (ORDER.indexOf(a) >= ORDER.indexOf(b) ? a : b);

export function healthIndex(findings: readonly Finding[], now: Date = new Date()): HealthIndex {
  return healthIndexAt(findings, now).health;
}

/**
 * `healthIndex`, with the exact moment the grade next drops (`nextDropDate` is its day): a registry re-grades
 * stored images at that moment.
 */
export function healthIndexAt(findings: readonly Pick<Finding, 'severity' | 'fixedVersion' | 'published' | 'advisory'>[], now: Date = new Date()): { health: HealthIndex; nextDropAt?: Date } {
  const counted = findings.filter((f): f is typeof f & { severity: Counted; fixedVersion: string } => (f.severity === 'Critical' || f.severity === 'Important') && f.fixedVersion !== undefined);
  const dated = counted.filter((f) => f.published !== undefined && !Number.isNaN(Date.parse(f.published)));
  const undated = counted.length - dated.length;
  if (dated.length === 0) return { health: { grade: 'A', reason: undated ? `no dated unapplied Critical or Important fixes (${undated} undated)` : 'no unapplied Critical or Important fixes', undated } };
  let grade: Grade = 'A';
  let worst: NonNullable<HealthIndex['worst']> | undefined;
  for (const f of dated) {
    const age = ageInDays(new Date(f.published!), now);
    const g = gradeOf(f.severity, age);
    const rank = ORDER.indexOf(g) - ORDER.indexOf(grade);
    if (!worst || rank > 0 || (rank === 0 && age > worst.ageDays)) {
      grade = worse(g, grade);
      worst = { advisory: f.advisory, severity: f.severity, published: f.published!, ageDays: age };
    }
  }
  // The grade drops when the first fix reaches the age at which it is worse than the current grade.
  let next: number | undefined;
  for (const f of dated) {
    const at = dropAge(f.severity, grade);
    if (at === undefined) continue;
    const when = Date.parse(f.published!) + at * DAY;
    if (next === undefined || when < next) next = when;
  }
  const out: HealthIndex = {
    grade,
    reason: `${worst!.severity} fix ${worst!.advisory} unapplied for ${worst!.ageDays} day${worst!.ageDays === 1 ? '' : 's'}`,
    worst: worst!,
    undated,
  };
  if (next === undefined) return { health: out };
  out.nextDropDate = new Date(next).toISOString().slice(0, 10);
  return { health: out, nextDropAt: new Date(next) };
}
