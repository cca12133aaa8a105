import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Server-side request forgery: a subscription URL is the partner's to choose, so TRM must not
 * be made to POST into its own network. An attempt connects only to a public address: the name is
 * resolved once and the connection made to exactly the address checked (no second resolution, so
 * no DNS rebinding between the check and the connection). Refused: loopback, private (RFC 1918),
 * link-local (169.254/16, fe80::/10), carrier-grade NAT (100.64/10), unspecified, multicast and
 * reserved, IPv6 loopback and unique-local (fc00::/7), and IPv4-mapped IPv6 of any of these.
 * Hosts in TRM_WEBHOOK_ALLOWED_HOSTS (development only) are exempt.
 */
const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
  ['2001:db8::', 32],
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv6');
}

/** Whether an address is one TRM never posts to (unless its host is allowed). */
export function isBlockedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  // IPv4-mapped (::ffff:a.b.c.d, or in hex): a partner never needs one, and it would hide an IPv4 address.
  if (family === 6) return /^(0{0,4}:){0,5}:?ffff:/i.test(address) || address.toLowerCase().startsWith('::ffff:') || BLOCKED.check(address, 'ipv6');
  return true;
}

/** The hosts of TRM_WEBHOOK_ALLOWED_HOSTS (comma-separated), lower case. */
export function allowedHosts(env: NodeJS.ProcessEnv): Set<string> {
  return new Set((env.TRM_WEBHOOK_ALLOWED_HOSTS ?? '').split(',').map((h) => h.trim().toLowerCase().replace(/^\[|\]$/g, '')).filter(Boolean));
}

const hostOf = (url: URL) => url.hostname.toLowerCase().replace(/^\[|\]$/g, '');

/** At subscription: a literal address in a blocked range (a name is checked at each attempt). */
export function literalAddressRefusal(url: URL, allowed: ReadonlySet<string>): string | undefined {
  const host = hostOf(url);
  if (allowed.has(host)) return undefined;
  if (host === 'localhost' || host.endsWith('.localhost')) return 'a loopback host';
  if (isIP(host) && isBlockedAddress(host)) return 'an address in a private, loopback, link-local or reserved range';
  return undefined;
}

/**
 * The `lookup` an attempt connects with: resolves once, refuses a blocked address (unless the
 * host is allowed), and hands exactly that address to the socket.
 */
export function guardedLookup(url: URL, allowed: ReadonlySet<string>): LookupFunction | undefined {
  if (allowed.has(hostOf(url))) return undefined;
  // A literal address is connected to without any lookup: check it here.
  if (isIP(hostOf(url)) && isBlockedAddress(hostOf(url))) {
    return (_hostname, _options, callback) => callback(Object.assign(new Error(`refused to connect to ${hostOf(url)}: not a public address (SSRF guard; TRM_WEBHOOK_ALLOWED_HOSTS in development)`), { code: 'EWEBHOOKBLOCKED' }), '', 0);
  }
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: false }, (err, address, family) => {
      if (err) return callback(err, '', 0);
      const addr = String(address);
      if (isBlockedAddress(addr)) {
        const refused = Object.assign(new Error(`refused to connect to ${addr}: not a public address (SSRF guard; TRM_WEBHOOK_ALLOWED_HOSTS in development)`), { code: 'EWEBHOOKBLOCKED' });
        return callback(refused, '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: addr, family: family as number }]);
      return callback(null, addr, family as number);
    });
  };
}
