/**
 * Which client a submission counts against for the per-client limit.
 *
 * An IPv4 address is one client. An IPv6 client is its /64 network: a single home or phone
 * connection is routinely given a whole /64 and picks any address inside it (privacy
 * extensions rotate them), so keying by the full address would hand one person 2^64 fresh
 * allowances. IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, what a dual-stack socket reports
 * for an IPv4 peer) count as the IPv4 address they carry.
 *
 * Pure and total: anything that is not an IP address is returned trimmed, so every unknown
 * source shares one key rather than escaping the limit.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The 8 hextets of an IPv6 address (as numbers), or undefined when it is not one. */
export function ipv6Hextets(address: string): number[] | undefined {
  if (!isIPv6(address)) return undefined;
  let text = address.toLowerCase();
  // An embedded IPv4 tail (`::ffff:192.0.2.1`, `64:ff9b::192.0.2.1`) becomes two hextets.
  const tail = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - left.length - right.length;
  const groups = rest === undefined ? left : [...left, ...Array<string>(missing).fill('0'), ...right];
  return groups.length === 8 ? groups.map((g) => parseInt(g, 16)) : undefined;
}

/**
 * The rate-limit identity of a source address: the IPv4 address itself, or `<first four
 * hextets>::/64` for IPv6 (zone ids and brackets dropped).
 */
export function clientKeyOf(sourceIp: string): string {
  const address = sourceIp.trim().replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  if (isIPv4(address)) return address;
  const hextets = ipv6Hextets(address);
  if (!hextets) return sourceIp.trim();
  const mapped = hextets.slice(0, 5).every((h) => h === 0) && hextets[5] === 0xffff;
  if (mapped) return [hextets[6]! >> 8, hextets[6]! & 0xff, hextets[7]! >> 8, hextets[7]! & 0xff].join('.');
  return `${hextets
    .slice(0, 4)
    .map((h) => h.toString(16))
    .join(':')}::/64`;
}
