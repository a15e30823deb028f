import { goJson as goMarshal } from '../content/go-json.js';
/**
 * Output helpers shared by the commands. JSON is printed the way skopeo's Go encoder prints it
 * (`json.MarshalIndent(v, "", "    ")` + newline, with `<`, `>`, `&` escaped), so scripts that parse skopeo's
 * output parse ours unchanged.
 */
export function goJson(value: unknown): string {
  return `${goMarshal(value, 4)}\n`;
}

export type OutputFormat = 'text' | 'json';

/** Human-readable byte counts: 1.5 MiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}
