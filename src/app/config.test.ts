// Configuration: defaults, YAML file, BERTH_* environment overrides, and clear errors.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG, envName, loadConfig, parseDuration, parseListen } from './config.js';

async function yamlFile(text: string): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'berth-config-')), 'config.yaml');
  await writeFile(file, text);
  return file;
}

describe('config', () => {
  it('defaults to 127.0.0.1:5000 and ./data', async () => {
    const c = await loadConfig({ env: {} });
    assert.deepEqual(c, DEFAULT_CONFIG);
    assert.equal(c.listen, '127.0.0.1:5000');
    assert.equal(c.data, './data');
  });

  it('reads YAML, and the environment overrides it', async () => {
    const file = await yamlFile('listen: 0.0.0.0:6000\ngc:\n  interval: 10m\n  deleteUntagged: false\nlimits:\n  maxManifestBytes: 1048576\n');
    const c = await loadConfig({ file, env: { BERTH_GC_INTERVAL: '5m', BERTH_LOG_REQUESTS: 'false', BERTH_DATA: '/srv/berth' } });
    assert.equal(c.listen, '0.0.0.0:6000');
    assert.equal(c.gc.interval, '5m');
    assert.equal(c.gc.deleteUntagged, false);
    assert.equal(c.limits.maxManifestBytes, 1048576);
    assert.equal(c.log.requests, false);
    assert.equal(c.data, '/srv/berth');
  });

  it('names every environment variable after its path', () => {
    assert.equal(envName('gc.uploadTtl'), 'BERTH_GC_UPLOAD_TTL');
    assert.equal(envName('storage.filesystem.root'), 'BERTH_STORAGE_FILESYSTEM_ROOT');
    assert.equal(envName('limits.maxManifestBytes'), 'BERTH_LIMITS_MAX_MANIFEST_BYTES');
  });

  it('refuses unknown settings, wrong types, bad YAML and bad values with a message that names them', async () => {
    await assert.rejects(loadConfig({ file: await yamlFile('listn: x\n'), env: {} }), /unknown setting listn/);
    await assert.rejects(loadConfig({ file: await yamlFile('gc: 5\n'), env: {} }), /gc must be a mapping/);
    await assert.rejects(loadConfig({ file: await yamlFile('limits:\n  maxManifestBytes: lots\n'), env: {} }), /limits.maxManifestBytes must be a number/);
    await assert.rejects(loadConfig({ file: await yamlFile('a: [\n'), env: {} }), /not valid YAML/);
    await assert.rejects(loadConfig({ file: '/nonexistent/berth.yaml', env: {} }), /cannot read config file/);
    await assert.rejects(loadConfig({ env: { BERTH_GC_GRACE: 'soon' } }), /gc.grace: "soon" is not a duration/);
    await assert.rejects(loadConfig({ env: { BERTH_LISTEN: 'nowhere' } }), /not HOST:PORT/);
    await assert.rejects(loadConfig({ env: { BERTH_TLS_CERT: '/a.pem' } }), /tls.cert and tls.key must be set together/);
    await assert.rejects(loadConfig({ env: { BERTH_LOG_REQUESTS: 'maybe' } }), /BERTH_LOG_REQUESTS: log.requests must be true or false/);
    await assert.rejects(loadConfig({ env: { BERTH_TRUSTED_PROXIES: '127.0.0.1, nginx' } }), /trustedProxies: "nginx" is not an IP address or CIDR range/);
  });

  it('parses durations and listen addresses', () => {
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('7d'), 604_800_000);
    assert.equal(parseDuration('0'), 0);
    assert.throws(() => parseDuration('1x'));
    assert.throws(() => parseDuration('h'));
    assert.deepEqual(parseListen(':5000'), { host: '0.0.0.0', port: 5000 });
    assert.deepEqual(parseListen('[::1]:5000'), { host: '::1', port: 5000 });
    assert.throws(() => parseListen('host:99999'));
  });
});
