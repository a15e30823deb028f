// Who the client is behind proxies: X-Forwarded-For counts only when the socket's peer is a trusted proxy, and
// then only up to the first address that is not one.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { clientAddress, parseTrustedProxies } from './client-address.js';

const req = (peer: string, xff?: string) => ({ socket: { remoteAddress: peer }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as unknown as IncomingMessage;

describe('client address', () => {
  const trusted = parseTrustedProxies('10.0.0.0/8, 127.0.0.1, fd00::/8');

  it('is the peer when no proxy is trusted, or the peer is not one, whatever the header says', () => {
    assert.equal(clientAddress(req('203.0.113.5', '1.2.3.4'), undefined), '203.0.113.5');
    assert.equal(clientAddress(req('203.0.113.5', '1.2.3.4'), trusted), '203.0.113.5');
    assert.equal(clientAddress(req('::ffff:203.0.113.5'), trusted), '203.0.113.5', 'IPv4 on a dual-stack socket');
  });

  it('behind trusted proxies, is the last forwarded address that is not a trusted proxy', () => {
    assert.equal(clientAddress(req('127.0.0.1', '198.51.100.7'), trusted), '198.51.100.7');
    assert.equal(clientAddress(req('10.1.2.3', '6.6.6.6, 198.51.100.7, 10.9.9.9'), trusted), '198.51.100.7', 'a spoofed entry further left is not believed');
    assert.equal(clientAddress(req('::ffff:127.0.0.1', '2001:db8::1'), trusted), '2001:db8::1');
    assert.equal(clientAddress(req('127.0.0.1', '10.0.0.1'), trusted), '10.0.0.1', 'only proxies: the furthest one');
    assert.equal(clientAddress(req('127.0.0.1'), trusted), '127.0.0.1', 'no header: the proxy itself');
    assert.equal(clientAddress(req('127.0.0.1', 'garbage, 198.51.100.7'), trusted), '198.51.100.7');
    assert.equal(clientAddress(req('127.0.0.1', 'garbage'), trusted), '127.0.0.1');
  });

  it('reads the setting: empty is none, a bad entry is named', () => {
    assert.equal(parseTrustedProxies(' '), undefined);
    for (const bad of ['10.0.0.0/33', 'nginx', '10.0.0.1/', '::1/129', '1.2.3.4/8/1']) {
      assert.throws(() => parseTrustedProxies(`127.0.0.1, ${bad}`), { message: `trustedProxies: ${JSON.stringify(bad)} is not an IP address or CIDR range` });
    }
  });
});
