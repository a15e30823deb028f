// Per-layer extracts must leave exactly the inventory the full layers leave: package databases replaced,
// whited out, hidden by opaque directories, reached through symlinked directories, or replaced by a file —
// while dropping everything else (a large unrelated file does not reach the extract).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { readInventory } from './inventory/index.js';
import { blobLayer, extractInventoryLayer, extractLayer, inventoryKey } from './layer-extract.js';
import { dir, file, layerTar, opaque, symlink, whiteout, type LayerEntry } from './testing/images.js';

const DEBIAN = 'ID=debian\nVERSION_ID="12"\n';
const status = (...pkgs: string[]) => pkgs.map((p) => `Package: ${p}\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0-1\nDescription: x\n`).join('\n');
const apk = 'P:musl\nV:1.2.4-r2\nA:x86_64\no:musl\n';

async function both(layers: LayerEntry[][]) {
  const gz = layers.map((l) => blobLayer(async () => Readable.from([gzipSync(layerTar(l))])));
  const full = await readInventory(gz);
  const extracts = await Promise.all(gz.map((l) => extractInventoryLayer(l)));
  const fromExtracts = await readInventory(extracts.filter((e) => e.tar.length > 0).map((e) => extractLayer(e.tar)));
  return { full, fromExtracts, extracts };
}

const CASES: Array<[string, LayerEntry[][]]> = [
  ['an upper layer rewrites the dpkg status', [[file('etc/os-release', DEBIAN), file('var/lib/dpkg/status', status('a', 'b'))], [file('var/lib/dpkg/status', status('a', 'b', 'c'))]]],
  ['a whiteout removes the database', [[file('etc/os-release', DEBIAN), file('var/lib/dpkg/status', status('a'))], [whiteout('var/lib/dpkg/status')]]],
  ['an opaque directory hides the lower database', [[file('etc/os-release', DEBIAN), file('var/lib/dpkg/status', status('a'))], [dir('var/lib/dpkg'), opaque('var/lib/dpkg'), file('var/lib/dpkg/status.d/extra', status('z'))]]],
  ['lib -> usr/lib, os-release through a symlink', [[dir('usr'), dir('usr/lib'), symlink('lib', 'usr/lib'), file('usr/lib/os-release', 'ID=alpine\nVERSION_ID=3.19.1\n'), symlink('etc/os-release', '../usr/lib/os-release')], [file('lib/apk/db/installed', apk)]]],
  ['a file replaces the directory holding the database', [[file('etc/os-release', DEBIAN), file('var/lib/dpkg/status', status('a'))], [whiteout('var/lib/dpkg'), file('var/lib/dpkg', 'not a directory')]]],
  ['a directory replaces a symlink on the path', [[file('etc/os-release', DEBIAN), symlink('var/lib/dpkg', '/opt/dpkg'), file('opt/dpkg/status', status('a'))], [whiteout('var/lib/dpkg'), dir('var/lib/dpkg'), file('var/lib/dpkg/status', status('b'))]]],
];

describe('extractInventoryLayer', () => {
  for (const [name, layers] of CASES) {
    it(`the same inventory as the full layers: ${name}`, async () => {
      const { full, fromExtracts } = await both(layers);
      assert.deepEqual(fromExtracts, full);
    });
  }

  it('reads gzip layers of many gunzip chunks, plain tars, and refuses zstd and truncated gzip', async () => {
    // Several MiB around the database, so the inflated stream spans many chunks and the status file straddles one.
    const layer = [file('etc/os-release', DEBIAN), file('usr/share/a.bin', randomBytes(3 * 1024 * 1024 + 100)), file('var/lib/dpkg/status', status('a', 'b')), file('usr/share/b.bin', randomBytes(2 * 1024 * 1024))];
    const tar = layerTar(layer);
    const gz = gzipSync(tar);
    const ofBytes = (bytes: Buffer) => blobLayer(async () => Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]));
    const fromGzip = await extractInventoryLayer(ofBytes(gz));
    const fromTar = await extractInventoryLayer(ofBytes(tar));
    assert.deepEqual(fromGzip.tar, fromTar.tar);
    assert.equal((await readInventory([extractLayer(fromGzip.tar)])).packages.length, 2);
    const zstd = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), randomBytes(100)]);
    await assert.rejects(extractInventoryLayer(ofBytes(zstd)), (err: Error & { code?: string }) => err.name === 'ScanError' && err.code === 'UNSUPPORTED_FORMAT');
    await assert.rejects(extractInventoryLayer(ofBytes(gz.subarray(0, gz.length >> 1))), /unexpected end|truncated/i, 'a truncated layer fails instead of hanging');
  });

  it('keeps databases and path entries, not other files; a layer without any is empty', async () => {
    const big = randomBytes(200_000);
    const { extracts, full } = await both([[file('etc/os-release', DEBIAN), file('var/lib/dpkg/status', status('a')), file('usr/share/big.bin', big)], [file('srv/app.bin', big)]]);
    assert.equal(full.packages.length, 1);
    assert.ok(extracts[0]!.tar.length < 8 * 1024, `${extracts[0]!.tar.length} bytes`);
    assert.match(extracts[0]!.digest, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual([extracts[1]!.tar.length, extracts[1]!.digest], [0, '']);
    assert.equal(inventoryKey([extracts[0]!.digest, '']), inventoryKey([extracts[0]!.digest]), 'empty extracts do not change the key');
  });
});
