import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/**
 * The proxies whose `X-Forwarded-For` is believed (`trustedProxies`: addresses and CIDR ranges, comma-separated,
 * e.g. `127.0.0.1, 10.0.0.0/8`). Undefined for an empty setting. Throws an Error naming a bad entry.
 */
export function parseTrustedProxies(setting: string): BlockList | undefined {
  const entries = setting.split(',').map((s) => s.trim()).filter(Boolean);
  if (entries.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits, extra] = entry.split('/');
    const family = isIP(address);
    const prefix = bits === undefined ? undefined : Number(bits);
    const max = family === 6 ? 128 : 32;
    if (family === 0 || extra !== undefined || (prefix !== undefined && !(Number.isInteger(prefix) && prefix >= 0 && prefix <= max && bits !== ''))) {
      throw new Error(`trustedProxies: ${JSON.stringify(entry)} is not an IP address or CIDR range`);
    }
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, prefix, type);
  }
  return list;
}

/** An IPv4 client on a dual-stack socket shows as `::ffff:a.b.c.d`. */
function plain(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function isTrusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * Who sent the request: the socket's peer, or, when the peer is a trusted proxy, the nearest address in
 * `X-Forwarded-For` that is not a trusted proxy itself (walking from the right, as each proxy appends the
 * address it saw). Behind a load balancer every socket peer is the balancer, so without this every client
 * shares one address: one client's failed logins would throttle everyone's, and the audit log would name the
 * balancer. Entries from an untrusted peer are ignored, so a client cannot choose its own address.
 */
export function clientAddress(req: IncomingMessage, trusted: BlockList | undefined): string | undefined {
  const peer = req.socket.remoteAddress === undefined ? undefined : plain(req.socket.remoteAddress);
  if (!trusted || peer === undefined || !isTrusted(trusted, peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : header ?? '').split(',').map((s) => plain(s.trim())).filter(Boolean);
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) break; // garbage from further out: stop at the last address we could check
    client = hop;
    if (!isTrusted(trusted, hop)) break;
  }
  return client;
}
