/**
 * Go's `json.Marshal` / `json.MarshalIndent(v, "", indent)` for plain data whose keys are already in Go's order:
 * JSON.stringify's layout is the same, and Go additionally escapes `<`, `>`, `&`, U+2028 and U+2029. Those can only
 * occur inside strings, so replacing them in the output is safe. skopeo's, preflight's and libtrust's output are
 * all written this way, so ours matches theirs byte for byte.
 */
export function goJson(value: unknown, indent?: string | number): string {
  return JSON.stringify(value, null, indent).replace(/[<>&\u2028\u2029]/g, (c) => GO_HTML_ESCAPES[c] ?? c);
}

/** The characters Go's encoder escapes for HTML safety, and their escapes. */
export const GO_HTML_ESCAPES: Readonly<Record<string, string>> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};
