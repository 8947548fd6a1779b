import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { KoreClient } from '../../../functions/adapters/kore/kore-client';
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

  it('signs HS256 with appId, sub, iat, exp (the configured lifetime) and a jti', async () => {
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
    expect(claims.sub).toBe('erasure-desk');
    expect(claims.iat).toBe(Math.floor(clock.nowMs() / 1000));
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('puts the configured subject in sub', async () => {
    pair = await startPair();
    let token = '';
    const client = pair.clientWith({
      subject: 'privacy-office',
      fetch: (input, init) => {
        token = new Headers(init?.headers).get('auth') ?? '';
        return fetch(input, init);
      },
    });

    await client.getUserRoles(0, 1);

    expect(decodeJwt(token).sub).toBe('privacy-office');
  });

  it('mints a new token, with a new jti, for every call', async () => {
    pair = await startPair({ jobDurationMs: 0 });
    const { client, sim } = pair;

    const { koreRequestId } = await client.eraseUsersData([DEMO_END_USERS.alice], []);
    await client.getEraseStatus(koreRequestId);
    await client.getUserRoles(0, 50);
    await client.getUserRoles(5, 5);

    const calls = sim.calls();
    expect(calls.map((c) => c.outcome)).toEqual(['accepted', 'ok', 'ok', 'ok']);
    const tokenIds = calls.map((c) => c.tokenId);
    expect(tokenIds.every((id) => typeof id === 'string')).toBe(true);
    expect(new Set(tokenIds).size).toBe(4);
  });

  it('is refused by the simulator when a token is replayed, and never replays one itself', async () => {
    pair = await startPair();
    const sent: string[] = [];
    const client = pair.clientWith({
      fetch: (input, init) => {
        sent.push(new Headers(init?.headers).get('auth') ?? '');
        return fetch(input, init);
      },
    });

    // The client, many calls in a row within the same second.
    for (let i = 0; i < 20; i++) await client.getUserRoles(0, 1);
    // Someone resending a token the client used (a proxy retrying, a captured request).
    const replay = await fetch(`${pair.sim.url}/api/public/alluserroles?limit=1`, { headers: { auth: sent[0]! } });

    expect(new Set(sent).size).toBe(20);
    expect(replay.status).toBe(401);
    const outcomes = pair.sim.calls().map((c) => c.outcome);
    expect(outcomes.slice(0, 20).every((o) => o === 'ok')).toBe(true);
    expect(outcomes[20]).toBe('replayed');
  });

  it('goes on with a new token after a 401 instead of resending the refused one', async () => {
    pair = await startPair();
    const sent: string[] = [];
    let answered401 = false;
    const client = pair.clientWith({
      fetch: (input, init) => {
        sent.push(new Headers(init?.headers).get('auth') ?? '');
        // The platform refuses the first token (e.g. the app's secret was rotated and back).
        if (!answered401) {
          answered401 = true;
          return Promise.resolve(new Response('{"errors":[{"msg":"Failed to authenticate token","code":401}]}', { status: 401 }));
        }
        return fetch(input, init);
      },
    });

    const first = await caught(() => client.getUserRoles(0, 1));
    await client.getUserRoles(0, 1);
    await client.getUserRoles(0, 1);

    expect(first).toBeInstanceOf(KoreAuthError);
    expect(new Set(sent).size).toBe(3);
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
