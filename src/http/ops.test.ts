// Operability: /v2/ support check, health and readiness, metrics, request ids, structured request logs,
// unknown endpoints and methods.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startServer, type RunningServer } from './server.js';
import { startTestRegistry, type TestRegistry } from '../testing/registry.js';
import { errorOf, pushImage, randomImage } from '../testing/fixtures.js';

let reg: TestRegistry;
let logged: Array<Record<string, unknown>>;
let server: RunningServer;
before(async () => {
  reg = await startTestRegistry();
  logged = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logged.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  server = await startServer({ deps: reg.deps, log: pino({ level: 'info' }, sink), host: '127.0.0.1', port: 0 });
});
after(async () => {
  await server.close(100);
  await reg.close();
});

describe('operations', () => {
  it('answers /v2/ with 200 and the API version header (end-1)', async () => {
    const res = await fetch(`${server.url}/v2/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.deepEqual(await res.json(), {});
  });

  it('serves /healthz, /readyz and Prometheus /metrics', async () => {
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    await pushImage(server.url, 'metrics/app', randomImage({ size: 1000 }), 'v1');
    await fetch(`${server.url}/v2/metrics/app/manifests/v1`);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /berth_http_requests_total\{route="manifest",method="GET",status="200"\} [1-9]/);
    assert.match(text, /berth_http_request_duration_seconds_bucket\{le="0.005",route="manifest",method="GET"\}/);
    assert.match(text, /berth_http_received_bytes_total\{route="uploads"\} [1-9]/);
    assert.match(text, /berth_http_sent_bytes_total\{route="manifest"\} [1-9]/);
    assert.match(text, /berth_stored_bytes [1-9]/);
    assert.match(text, /berth_blob_upload_duration_seconds_count/);
  });

  it('logs one JSON line per request with its request id, and echoes X-Request-Id', async () => {
    const res = await fetch(`${server.url}/v2/nope/manifests/latest`, { headers: { 'X-Request-Id': 'trace-123' } });
    assert.equal(res.headers.get('x-request-id'), 'trace-123');
    await res.body?.cancel();
    await new Promise((r) => setTimeout(r, 20));
    const line = logged.find((l) => l.reqId === 'trace-123');
    assert.ok(line, 'request logged');
    assert.equal(line.msg, 'request');
    assert.equal(line.route, 'manifest');
    assert.equal(line.status, 404);
    assert.equal(line.method, 'GET');
    assert.equal(typeof line.ms, 'number');
    const generated = await fetch(`${server.url}/v2/`, { headers: { 'X-Request-Id': 'bad id with spaces' } });
    assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  it('answers unknown endpoints with 404 and unsupported methods with 405 and Allow', async () => {
    assert.deepEqual(await errorOf(await fetch(`${server.url}/nothing`)), { status: 404, code: 'UNSUPPORTED' });
    const res = await fetch(`${server.url}/v2/x/tags/list`, { method: 'DELETE' });
    assert.equal(res.headers.get('allow'), 'GET');
    assert.deepEqual(await errorOf(res), { status: 405, code: 'UNSUPPORTED' });
  });
});
