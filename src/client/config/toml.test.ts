// The TOML subset registries.conf needs, and the clear errors for what is outside it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseToml, TomlError } from './toml.js';

describe('parseToml', () => {
  it('reads the registries.conf man page example', () => {
    const doc = parseToml(`
# top comment
unqualified-search-registries = ["registry.fedoraproject.org", 'quay.io',
   "docker.io",   # trailing comma and comments inside arrays
]
short-name-mode = "enforcing"

[[registry]]
prefix = "example.com/foo"
insecure = false
blocked = false
location = "internal-registry-for-example.com/bar"

[[registry.mirror]]
location = "example-mirror-0.local/mirror-for-foo"

[[registry.mirror]]
location = "example-mirror-1.local/mirrors/foo"
insecure = true

[[registry]]
location = "second.example"

[aliases]
"fedora" = "registry.fedoraproject.org/fedora"
`);
    assert.deepEqual(JSON.parse(JSON.stringify(doc)), {
      'unqualified-search-registries': ['registry.fedoraproject.org', 'quay.io', 'docker.io'],
      'short-name-mode': 'enforcing',
      registry: [
        {
          prefix: 'example.com/foo',
          insecure: false,
          blocked: false,
          location: 'internal-registry-for-example.com/bar',
          mirror: [{ location: 'example-mirror-0.local/mirror-for-foo' }, { location: 'example-mirror-1.local/mirrors/foo', insecure: true }],
        },
        { location: 'second.example' },
      ],
      aliases: { fedora: 'registry.fedoraproject.org/fedora' },
    });
  });

  it('strings: escapes in basic strings, none in literal strings; integers; dotted keys; CRLF', () => {
    const doc = parseToml('a = "q\\"\\\\\\t\\u00e9"\r\nb = \'C:\\path\'\nc = 1_000\nd = -3\ne.f = true\n[x.y]\nz = []\n');
    assert.equal(doc['a'], 'q"\\\té');
    assert.equal(doc['b'], 'C:\\path');
    assert.equal(doc['c'], 1000);
    assert.equal(doc['d'], -3);
    assert.deepEqual(JSON.parse(JSON.stringify(doc['e'])), { f: true });
    assert.deepEqual(JSON.parse(JSON.stringify(doc['x'])), { y: { z: [] } });
  });

  it('errors name the line', () => {
    const cases: Array<[string, RegExp]> = [
      ['a = "open', /line 1: unterminated string/],
      ['\n\na = 1\na = 2', /line 4: key a is defined twice/],
      ['[t]\n[t]', /line 2: \[t\] is defined twice/],
      ['a = """x"""', /multi-line strings are not supported/],
      ['a = { b = 1 }', /inline tables are not supported/],
      ['a = 1.5', /unsupported or malformed value/],
      ['a = [1, 2', /unterminated array/],
      ['a = 1 b = 2', /expected the end of the line/],
      ['x = 1\n[[x]]', /already defined as something other than an array of tables/],
      ['= 1', /expected a key/],
      ['a = "\\q"', /invalid escape/],
    ];
    for (const [text, re] of cases) assert.throws(() => parseToml(text), (e) => e instanceof TomlError && re.test(e.message), text);
  });
});
