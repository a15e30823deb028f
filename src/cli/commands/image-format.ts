/** Output formatting for `berth image info`, as `oc image info` prints it (Go text/tabwriter, go-units, k8s durations). */
import type { ImageInfo } from '../../client/info.js';

/**
 * Go's text/tabwriter with minwidth 0, tabwidth 4, padding 1, padchar ' ', flags 0: tab-terminated cells
 * are aligned in columns per block of consecutive lines that have that column; the last cell of a line is not.
 */
export function tabwrite(text: string, padding = 1): string {
  const lines = text.split('\n');
  const trailing = lines.pop();
  const cells = lines.map((l) => l.split('\t'));
  const out: string[] = [];
  const widths: number[] = [];
  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const line = cells[i]!;
      out.push(line.map((c, j) => (j < widths.length && j < line.length - 1 ? c.padEnd(widths[j]!) : c)).join(''));
    }
  };
  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let i = line0; i < line1; i++) {
      if (column >= cells[i]!.length - 1) continue;
      writeLines(line0, i);
      line0 = i;
      let width = 0;
      for (; i < line1; i++) {
        const line = cells[i]!;
        if (column >= line.length - 1) break;
        width = Math.max(width, [...line[column]!].length + padding);
      }
      widths.push(width);
      format(line0, i);
      widths.pop();
      line0 = i;
      i--;
    }
    writeLines(line0, line1);
  };
  format(0, cells.length);
  return out.map((l) => `${l}\n`).join('') + (trailing ?? '');
}

/** docker/go-units HumanSize: decimal units, 4 significant digits (`2.048kB`, `1.5MB`). */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

/** k8s.io/apimachinery duration.ShortHumanDuration. */
export function shortHumanDuration(ms: number): string {
  const s = Math.trunc(ms / 1000);
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 60) return `${s}s`;
  const m = Math.trunc(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.trunc(m / 60);
  if (h < 24) return `${h}h`;
  if (h < 24 * 365) return `${Math.trunc(h / 24)}d`;
  return `${Math.trunc(h / 24 / 365)}y`;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

/** The text block `oc image info` prints for one image (describeImage), ending with an empty line. */
export function describeImage(info: ImageInfo, now = Date.now()): string {
  const c = info.config;
  const cfg = (c.config ?? {}) as Record<string, unknown>;
  let s = `Name:\t${info.name}\n`;
  if (info.requestedDigest !== info.digest) s += `Digest:\t${info.digest}\n`;
  if (info.listDigest) s += `Manifest List:\t${info.listDigest}\n`;
  s += `Media Type:\t${info.mediaType}\n`;
  const created = typeof c.created === 'string' ? Date.parse(c.created) : NaN;
  s += Number.isNaN(created) || created <= 0 ? `Created:\t<unknown>\n` : `Created:\t${shortHumanDuration(now - created)} ago\n`;
  if (info.layers.length === 0) s += `Layer Size:\t${humanSize(info.size)}\n`;
  else {
    s += `Image Size:\t${info.size === 0 ? `${info.layers.length} layers (size unavailable)` : `${humanSize(info.size)} in ${info.layers.length} layers`}\n`;
    info.layers.forEach((l, i) => {
      s += `${i === 0 ? 'Layers:' : ''}\t${l.size === 0 ? '--' : humanSize(l.size)}\t${l.digest}\n`;
    });
  }
  s += `OS:\t${c.os ?? ''}\n`;
  s += `Arch:\t${c.architecture ?? ''}\n`;
  if (typeof c.author === 'string' && c.author) s += `Author:\t${c.author}\n`;
  const entrypoint = strings(cfg.Entrypoint);
  const cmd = strings(cfg.Cmd);
  if (entrypoint.length > 0) s += `Entrypoint:\t${entrypoint.join(' ')}\n`;
  if (cmd.length > 0) s += `Command:\t${cmd.join(' ')}\n`;
  if (entrypoint.length === 0 && cmd.length === 0) s += `Command:\t<none>\n`;
  if (typeof cfg.WorkingDir === 'string' && cfg.WorkingDir) s += `Working Dir:\t${cfg.WorkingDir}\n`;
  if (typeof cfg.User === 'string' && cfg.User) s += `User:\t${cfg.User}\n`;
  const ports = Object.keys((cfg.ExposedPorts ?? {}) as object).sort();
  if (ports.length > 0) s += `Exposes Ports:\t${ports.join(', ')}\n`;
  strings(cfg.Env).forEach((e, i) => {
    s += `${i === 0 ? 'Environment:' : ''}\t${e}\n`;
  });
  const labels = (cfg.Labels ?? {}) as Record<string, string>;
  Object.keys(labels)
    .sort()
    .forEach((k, i) => {
      s += `${i === 0 ? 'Labels:' : ''}\t${k}=${labels[k]}\n`;
    });
  Object.keys((cfg.Volumes ?? {}) as object)
    .sort()
    .forEach((v, i) => {
      s += `${i === 0 ? 'Volumes:' : ''}\t${v}\n`;
    });
  return `${tabwrite(s)}\n`;
}

/** The JSON `oc image info -o json` prints (json.MarshalIndent with two spaces). */
export function infoJson(info: ImageInfo): object {
  return {
    name: info.name,
    digest: info.digest,
    contentDigest: info.digest,
    listDigest: info.listDigest ?? '',
    mediaType: info.mediaType,
    layers: info.layers,
    config: { ...info.config, size: info.size },
  };
}
