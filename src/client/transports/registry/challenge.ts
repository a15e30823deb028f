/**
 * `WWW-Authenticate` challenges (RFC 9110 §11.6.1), e.g.
 * `Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"`.
 * Quoted values may hold commas and escaped quotes; one header may carry several challenges
 * (`Bearer realm="a", Basic realm="b"`), and a response may carry several headers.
 */

export interface Challenge {
  /** Lower-cased: `bearer`, `basic`. */
  scheme: string;
  /** Parameter names lower-cased; values unquoted. */
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const out: Challenge[] = [];
  for (const h of Array.isArray(header) ? header : [header]) out.push(...parseOne(h));
  return out;
}

function parseOne(s: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const skipWs = () => {
    while (s[i] === ' ' || s[i] === '\t') i++;
  };
  const token = (): string => {
    const start = i;
    while (i < s.length && TOKEN.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < s.length) {
    skipWs();
    if (s[i] === ',') {
      i++;
      continue;
    }
    const start = i;
    const name = token();
    if (name === '') {
      i++; // garbage: skip a character and go on
      continue;
    }
    skipWs();
    if (s[i] === '=' && current) {
      i++;
      skipWs();
      let value: string;
      if (s[i] === '"') {
        i++;
        value = '';
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i++];
        }
        i++; // the closing quote
      } else {
        value = token();
      }
      current.params[name.toLowerCase()] = value;
      continue;
    }
    // A new challenge: `scheme` followed by parameters (or a token68, which registries do not use).
    i = start + name.length;
    current = { scheme: name.toLowerCase(), params: {} };
    out.push(current);
  }
  return out;
}
