import type { ProgressEvent } from '../client/copy.js';
import { formatBytes } from './output.js';

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

/**
 * Progress of a copy on a terminal: one line per blob as it finishes, and a live bar for what is in
 * flight, redrawn at most 10 times a second. Off a terminal (CI logs) it prints only the finished lines,
 * like skopeo; `quiet` prints nothing.
 */
export function createProgress(stream: ProgressStream, opts: { quiet?: boolean } = {}): { onProgress: (e: ProgressEvent) => void; done(): void } {
  if (opts.quiet) return { onProgress: () => {}, done: () => {} };
  const active = new Map<string, { bytes: number; total: number }>();
  const tty = Boolean(stream.isTTY);
  let lastDraw = 0;
  let drawn = false;
  const clear = () => {
    if (tty && drawn) stream.write('\r\x1b[2K');
    drawn = false;
  };
  const draw = () => {
    if (!tty || active.size === 0) return;
    let bytes = 0;
    let total = 0;
    for (const a of active.values()) {
      bytes += a.bytes;
      // A blob of unknown size (schema 1 records none) counts as what has arrived so far.
      total += a.total >= 0 ? a.total : a.bytes;
    }
    const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 50));
    const fill = total > 0 ? Math.min(width, Math.max(0, Math.round((bytes / total) * width))) : 0;
    stream.write(`\r\x1b[2K${active.size} blob(s) [${'='.repeat(fill)}${' '.repeat(width - fill)}] ${formatBytes(bytes)} / ${formatBytes(total)}`);
    drawn = true;
  };
  const short = (d: string) => d.slice(0, 19);
  return {
    onProgress(e) {
      switch (e.kind) {
        case 'blob-start':
        case 'blob-progress':
          active.set(e.digest, { bytes: e.bytes, total: e.total });
          break;
        case 'blob-done':
          active.delete(e.digest);
          clear();
          stream.write(`Copying blob ${short(e.digest)} done${e.total >= 0 ? ` ${formatBytes(e.total)}` : ''}\n`);
          break;
        case 'blob-skipped':
          clear();
          stream.write(`Copying blob ${short(e.digest)} skipped: already exists\n`);
          break;
        case 'manifest':
          clear();
          stream.write(`Writing manifest ${short(e.digest)}\n`);
          break;
      }
      const now = Date.now();
      if (now - lastDraw > 100) {
        lastDraw = now;
        draw();
      }
    },
    done() {
      clear();
    },
  };
}
