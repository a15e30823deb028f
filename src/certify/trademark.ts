/**
 * The Red Hat trademark rule of preflight's HasNoProhibitedLabels and HasProhibitedContainerName
 * (openshift-preflight internal/policy/container/trademark_validator.go), on the lower-cased string:
 *
 * - it may not start with "red hat" (any non-alphanumerics before and between the two words);
 * - every other "red…hat" counts against it, except one "for red…hat" ("X for Red Hat" is allowed).
 *
 * So "Red Hat X" and "X Red Hat" violate, "X for Red Hat" does not, "X for Red Hat and Red Hat Y" does.
 */
const STARTS_WITH = /^[^a-z0-9]*red[^a-z0-9]*hat/;
const CONTAINS = /red[^a-z0-9]*hat/g;
const FOR_RED_HAT = /for[^a-z0-9]*red[^a-z0-9]*hat/;

export function violatesRedHatTrademark(s: string): boolean {
  const lower = s.toLowerCase();
  const startsWith = STARTS_WITH.test(lower);
  let count = lower.match(CONTAINS)?.length ?? 0;
  // The leading one fails on its own; don't count it twice.
  if (startsWith) count -= 1;
  // "for Red Hat" is acceptable once.
  if (FOR_RED_HAT.test(lower)) count -= 1;
  return startsWith || count > 0;
}
