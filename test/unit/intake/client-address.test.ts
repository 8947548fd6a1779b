import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clientKeyOf, ipv6Hextets } from '../../../functions/intake/client-address';

describe('clientKeyOf', () => {
  it.each([
    ['an IPv4 address is its own client', '203.0.113.7', '203.0.113.7'],
    ['an IPv4-mapped IPv6 address counts as the IPv4 address', '::ffff:203.0.113.7', '203.0.113.7'],
    ['the hex form of a mapped address too', '::ffff:cb00:7107', '203.0.113.7'],
    ['a full IPv6 address counts as its /64', '2001:0db8:0001:0002:0003:0004:0005:0006', '2001:db8:1:2::/64'],
    ['a compressed one the same', '2001:DB8:1:2::1', '2001:db8:1:2::/64'],
    ['a bracketed one the same', '[2001:db8::1]', '2001:db8:0:0::/64'],
    ['a zone id is dropped', 'fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['loopback', '::1', '0:0:0:0::/64'],
    ['an embedded IPv4 tail of a translation prefix', '64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    ['anything else is kept, so unknown sources share one key', 'unknown', 'unknown'],
  ])('%s (%s)', (_rule, ip, key) => {
    expect(clientKeyOf(ip)).toBe(key);
  });

  const hextet = fc.integer({ min: 0, max: 0xffff });
  const address = fc.array(hextet, { minLength: 8, maxLength: 8 });
  const full = (h: number[]) => h.map((x) => x.toString(16).padStart(4, '0')).join(':');
  // The WHATWG URL parser writes IPv6 hosts in their canonical compressed form.
  const compressed = (h: number[]) => new URL(`http://[${full(h)}]/`).hostname.slice(1, -1);

  it('reads any written form of an IPv6 address back to its hextets', () => {
    fc.assert(
      fc.property(address, (h) => {
        expect(ipv6Hextets(full(h))).toEqual(h);
        expect(ipv6Hextets(compressed(h))).toEqual(h);
        expect(ipv6Hextets(compressed(h).toUpperCase())).toEqual(h);
      }),
    );
  });

  it('gives every address of one /64 the same key and addresses of different /64s different keys', () => {
    const notMapped = address.filter((h) => !(h.slice(0, 5).every((x) => x === 0) && h[5] === 0xffff));
    fc.assert(
      fc.property(notMapped, fc.array(hextet, { minLength: 4, maxLength: 4 }), notMapped, (a, otherHost, b) => {
        const sameNetwork = [...a.slice(0, 4), ...otherHost];
        fc.pre(!(sameNetwork.slice(0, 5).every((x) => x === 0) && sameNetwork[5] === 0xffff));
        expect(clientKeyOf(compressed(sameNetwork))).toBe(clientKeyOf(full(a)));
        expect(clientKeyOf(full(a)) === clientKeyOf(full(b))).toBe(a.slice(0, 4).join() === b.slice(0, 4).join());
      }),
    );
  });
});
