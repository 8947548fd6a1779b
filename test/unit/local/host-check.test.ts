import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostRefusal, isAllowedHost } from '../../../infra/local/host-check';

describe('the local Host check', () => {
  it.each(['127.0.0.1:3000', 'localhost:3000', 'LOCALHOST:3000', '[::1]:3000'])('accepts %s on port 3000', (host) => {
    expect(isAllowedHost(host, 3000)).toBe(true);
  });

  it.each([
    ['a rebinding name', 'evil.example:3000'],
    ['a rebinding name without port', 'evil.example'],
    ['another port', '127.0.0.1:3001'],
    ['no port on a port other than 80', 'localhost'],
    ['a trailing dot', 'localhost.:3000'],
    ['a subdomain of localhost', 'app.localhost:3000'],
    ['another loopback address', '127.0.0.2:3000'],
    ['a decimal IP', '2130706433:3000'],
    ['user info', 'user@127.0.0.1:3000'],
    ['a leading zero port', '127.0.0.1:03000'],
    ['two hosts', '127.0.0.1:3000,evil.example'],
    ['a space', '127.0.0.1:3000 '],
    ['an empty header', ''],
    ['no header', undefined],
    ['unbracketed IPv6', '::1:3000'],
    ['0.0.0.0', '0.0.0.0:3000'],
  ])('refuses %s', (_what, host) => {
    expect(isAllowedHost(host, 3000)).toBe(false);
  });

  it('accepts a name without port only when the server listens on 80', () => {
    expect(isAllowedHost('localhost', 80)).toBe(true);
    expect(isAllowedHost('127.0.0.1', 80)).toBe(true);
  });

  it('refuses any Host that is not one of the three loopback names on the port', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.integer({ min: 1, max: 65_535 }), (host, port) => {
        const allowed = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, ...(port === 80 ? ['127.0.0.1', 'localhost', '[::1]'] : [])];
        expect(isAllowedHost(host, port)).toBe(allowed.includes(host.toLowerCase()));
      }),
      { numRuns: 2000 },
    );
  });

  it('answers 421 to a foreign host, 400 to a request target that is not a path, and lets the rest through', () => {
    expect(hostRefusal({ url: '/dev/outbox.json', headers: { host: 'rebind.example:3000' } }, 3000)).toMatchObject({ status: 421 });
    expect(hostRefusal({ url: 'http://127.0.0.1:3000/dev/outbox', headers: { host: '127.0.0.1:3000' } }, 3000)).toMatchObject({ status: 400 });
    expect(hostRefusal({ url: '*', headers: { host: '127.0.0.1:3000' } }, 3000)).toMatchObject({ status: 400 });
    expect(hostRefusal({ url: '/dev/outbox', headers: { host: '127.0.0.1:3000' } }, 3000)).toBeUndefined();
  });
});
