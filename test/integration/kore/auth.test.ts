import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { KoreClient } from '../../../functions/commons/kore/kore-client';
import { KoreAuthError } from '../../../functions/domain/kore';
import { DEMO_END_USERS } from '../../../infra/local/kore-sim';
import { caught, manualClock, startPair, type Pair } from './fixtures';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.sim.stop();
  pair = undefined;
});

describe('authenticating to Kore.ai with a self-minted JWT', () => {
  it.each([
    ['a wrong client secret', { clientSecret: 'not-the-secret-of-this-app' }],
    ['a wrong appId (client id)', { clientId: 'cs-11111111-1111-4111-8111-111111111111' }],
    ['an expired token (client clock two hours behind)', { clock: { now: () => new Date(Date.now() - 2 * 3600_000) } }],
  ])('rejects %s with KoreAuthError 401 and never leaks the token', async (_what, overrides) => {
    pair = await startPair();
    const seen: string[] = [];
    const client = pair.clientWith({
      ...overrides,
      fetch: (input, init) => {
        seen.push(new Headers(init?.headers).get('auth') ?? '');
        return fetch(input, init);
      },
    });

    const errors = [
      await caught(() => client.eraseUsersData([DEMO_END_USERS.alice], [])),
      await caught(() => client.getEraseStatus('eud-1')),
      await caught(() => client.getUserRoles(0, 10)),
    ];

    for (const error of errors) {
      expect(error).toBeInstanceOf(KoreAuthError);
      expect((error as KoreAuthError).httpStatus).toBe(401);
      for (const token of seen) expect(error.message).not.toContain(token);
      expect(error.message).not.toContain(DEMO_END_USERS.alice);
    }
    expect(pair.sim.calls().map((c) => c.outcome)).toEqual(['unauthorized', 'unauthorized', 'unauthorized']);
  });

  it('signs HS256 with appId, iat, exp (the configured lifetime) and a jti', async () => {
    pair = await startPair();
    const clock = manualClock();
    let token = '';
    const client = pair.clientWith({
      clock,
      tokenTtlSeconds: 900,
      fetch: (input, init) => {
        token = new Headers(init?.headers).get('auth') ?? '';
        return fetch(input, init);
      },
    });

    await client.getUserRoles(0, 1);

    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'HS256', typ: 'JWT' });
    const claims = decodeJwt(token);
    expect(claims.appId).toBe(pair.sim.config.clientId);
    expect(claims.iat).toBe(Math.floor(clock.nowMs() / 1000));
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('mints one token for several calls', async () => {
    pair = await startPair({ jobDurationMs: 0 });
    const { client, sim } = pair;

    const { koreRequestId } = await client.eraseUsersData([DEMO_END_USERS.alice], []);
    await client.getEraseStatus(koreRequestId);
    await client.getUserRoles(0, 50);
    await client.getUserRoles(5, 5);

    const tokenIds = sim.calls().map((c) => c.tokenId);
    expect(tokenIds).toHaveLength(4);
    expect(tokenIds[0]).toBeDefined();
    expect(new Set(tokenIds).size).toBe(1);
  });

  it('reuses the token until 60 s before it expires, then mints a new one', async () => {
    // Both sides share a clock that the test moves, so expiry is checked on the same timeline.
    const clock = manualClock();
    pair = await startPair({ now: clock.nowMs }, { clock, tokenTtlSeconds: 300 });
    const { client, sim } = pair;

    await client.getUserRoles(0, 1);
    clock.advance(239_000); // 61 s left: still reused
    await client.getUserRoles(0, 1);
    clock.advance(2_000); // 59 s left: re-minted
    await client.getUserRoles(0, 1);
    clock.advance(100_000);
    await client.getUserRoles(0, 1);

    const [a, b, c, d] = sim.calls().map((call) => call.tokenId);
    expect(sim.calls().every((call) => call.outcome === 'ok')).toBe(true);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect(d).toBe(c);
  });

  it('mints anew after a 401 instead of resending the refused token', async () => {
    pair = await startPair();
    const sent: string[] = [];
    let answered401 = false;
    const client = pair.clientWith({
      fetch: (input, init) => {
        sent.push(new Headers(init?.headers).get('auth') ?? '');
        // The platform revokes the first token (e.g. the app's secret was rotated and back).
        if (!answered401) {
          answered401 = true;
          return Promise.resolve(new Response('{"errors":[{"msg":"Failed to authenticate token","code":401}]}', { status: 401 }));
        }
        return fetch(input, init);
      },
    });

    await caught(() => client.getUserRoles(0, 1));
    await client.getUserRoles(0, 1);
    await client.getUserRoles(0, 1);

    expect(sent).toHaveLength(3);
    expect(sent[1]).not.toBe(sent[0]);
    expect(sent[2]).toBe(sent[1]);
    expect(pair.sim.calls().map((c) => c.outcome)).toEqual(['ok', 'ok']);
  });

  it('refuses invalid options without echoing the secret', () => {
    const secret = 'super-secret-value';
    expect(() => new KoreClient({ baseUrl: 'ftp://example.com', clientId: 'cs-1', clientSecret: secret })).toThrow(/baseUrl/);
    expect(() => new KoreClient({ baseUrl: 'https://bots.kore.ai', clientId: 'cs-1', clientSecret: secret, tokenTtlSeconds: 7200 })).toThrow(/tokenTtlSeconds/);
    let message = '';
    try {
      new KoreClient({ baseUrl: 'https://bots.kore.ai', clientId: '', clientSecret: secret, timeoutMs: -1 });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/clientId.*timeoutMs|timeoutMs.*clientId/);
    expect(message).not.toContain(secret);
  });
});
