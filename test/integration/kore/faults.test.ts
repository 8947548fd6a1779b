import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { KoreClient, parseRetryAfter } from '../../../functions/adapters/kore/kore-client';
import { KoreAuthError, KoreOutcomeUnknownError, KorePermanentError, KoreRefusedError, KoreRetryableError } from '../../../functions/domain/kore';
import { DEMO_END_USERS, startKoreSimulator, type SimFaults } from '../../../infra/local/kore-sim';
import { caught, startPair, waitForCall, type Pair } from './fixtures';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.sim.stop();
  pair = undefined;
});

const erase = (client: KoreClient) => client.eraseUsersData([DEMO_END_USERS.alice], []);

describe('classifying Kore.ai failures as retryable', () => {
  it('turns a 429 into KoreRetryableError carrying Retry-After in ms, and creates no job', async () => {
    pair = await startPair({ faults: { rate429: 1, retryAfterSeconds: 7 } });

    const error = await caught(() => erase(pair!.client));

    expect(error).toBeInstanceOf(KoreRetryableError);
    expect(error.name).toBe('KoreRetryableError');
    expect((error as KoreRetryableError).httpStatus).toBe(429);
    expect((error as KoreRetryableError).retryAfterMs).toBe(7000);
    expect(pair.sim.calls()).toMatchObject([{ outcome: 'fault-429', httpStatus: 429 }]);
  });

  it('turns a 500 into KoreRetryableError on every call', async () => {
    pair = await startPair({ faults: { rate500: 1 } });
    const { client, sim } = pair;

    const errors = [await caught(() => erase(client)), await caught(() => client.getEraseStatus('eud-1')), await caught(() => client.getUserRoles(0, 50))];

    for (const error of errors) {
      expect(error).toBeInstanceOf(KoreRetryableError);
      expect((error as KoreRetryableError).httpStatus).toBe(500);
      expect((error as KoreRetryableError).retryAfterMs).toBeUndefined();
      expect(error.message).not.toContain(DEMO_END_USERS.alice);
    }
    expect(sim.calls().map((c) => c.outcome)).toEqual(['fault-500', 'fault-500', 'fault-500']);
  });

  it('turns a dropped connection into KoreOutcomeUnknownError for the DELETE (it may have been taken) and KoreRetryableError for the reads', async () => {
    pair = await startPair({ faults: { rateDrop: 1 } });
    const { client, sim } = pair;

    const [eraseError, statusError, rolesError] = [await caught(() => erase(client)), await caught(() => client.getEraseStatus('eud-1')), await caught(() => client.getUserRoles(0, 50))];

    expect(eraseError).toBeInstanceOf(KoreOutcomeUnknownError);
    expect(eraseError.name).toBe('KoreOutcomeUnknownError');
    expect(statusError).toBeInstanceOf(KoreRetryableError);
    expect(rolesError).toBeInstanceOf(KoreRetryableError);
    for (const error of [eraseError, statusError, rolesError]) expect(error.message).not.toContain(DEMO_END_USERS.alice);
    expect(sim.calls().map((c) => c.outcome)).toEqual(['dropped', 'dropped', 'dropped']);
  });

  it('gives up on a slow answer at the client timeout, and the simulator records the abandoned call as aborted without creating a job', async () => {
    pair = await startPair({ faults: { rateSlow: 1, slowMs: 600 } }, { timeoutMs: 150 });
    const { client, sim } = pair;

    const error = await caught(() => erase(client));
    const call = await waitForCall(sim, (c) => c.outcome !== undefined);

    // The client cannot know the platform dropped the call: a DELETE timed out is outcome unknown.
    expect(error).toBeInstanceOf(KoreOutcomeUnknownError);
    expect(error.message).toMatch(/timed out/);
    expect(call).toMatchObject({ method: 'DELETE', outcome: 'aborted', userIds: [DEMO_END_USERS.alice] });
    expect(call.jobId).toBeUndefined();
    const health = (await (await fetch(`${sim.url}/__sim/health`)).json()) as { jobs: number };
    expect(health.jobs).toBe(0);
  });

  it('still processes a slow call whose client waited for it', async () => {
    pair = await startPair({ faults: { rateSlow: 1, slowMs: 50 } }, { timeoutMs: 5000 });

    const accepted = await erase(pair.client);

    expect(accepted.status).toBe('in-progress');
    expect(pair.sim.calls()).toMatchObject([{ outcome: 'accepted', jobId: accepted.koreRequestId }]);
  });

  it('turns a refused connection (nobody listening) into KoreRetryableError', async () => {
    const sim = await startKoreSimulator();
    const client = new KoreClient({ baseUrl: sim.url, clientId: sim.config.clientId, clientSecret: sim.config.clientSecret });
    await sim.stop();

    const error = await caught(() => client.getUserRoles(0, 1));

    expect(error).toBeInstanceOf(KoreRetryableError);
    expect(error.message).toMatch(/ECONNREFUSED/);
  });

  it('applies faults set at runtime over HTTP, and lifts them again', async () => {
    pair = await startPair();
    const { client, sim } = pair;
    const post = (body: Partial<SimFaults>) =>
      fetch(`${sim.url}/__sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    expect((await post({ rate500: 1 })).status).toBe(200);
    const during = await caught(() => client.getUserRoles(0, 1));
    await post({ rate500: 0 });
    const after = await client.getUserRoles(0, 1);
    const refused = await post({ rate500: 0.8, rate429: 0.5 });

    expect(during).toBeInstanceOf(KoreRetryableError);
    expect(after.users).toHaveLength(1);
    expect(refused.status).toBe(400);
    expect(sim.config.faults.rate500).toBe(0);
  });

  it('draws faults from the seed: the same seed and rates give the same sequence of outcomes', async () => {
    const outcomesFor = async () => {
      const p = await startPair({ faults: { rate429: 0.3, rate500: 0.3, seed: 42 } });
      try {
        for (let i = 0; i < 30; i++) await p.client.getUserRoles(0, 1).catch(() => undefined);
        return p.sim.calls().map((c) => c.outcome);
      } finally {
        await p.sim.stop();
      }
    };

    const first = await outcomesFor();
    const second = await outcomesFor();

    expect(second).toEqual(first);
    expect(new Set(first)).toEqual(new Set(['ok', 'fault-429', 'fault-500']));
  });
});

describe('classifying answers by status and body', () => {
  const fixedNow = new Date('2026-03-01T12:00:00Z');
  const clientAnswering = (status: number, body: string, headers: Record<string, string> = {}) =>
    new KoreClient({
      baseUrl: 'http://127.0.0.1:9',
      clientId: 'cs-test',
      clientSecret: 'test-secret',
      clock: { now: () => fixedNow },
      fetch: () => Promise.resolve(new Response(body, { status, headers })),
    });

  it.each([
    [429, '', KoreRetryableError],
    [408, '', KoreRetryableError],
    [500, 'oops', KoreRetryableError],
    [502, '<html>bad gateway</html>', KoreRetryableError],
    [503, '', KoreRetryableError],
    [401, '{"errors":[{"msg":"Failed to authenticate token"}]}', KoreAuthError],
    [403, '{"errors":[{"msg":"scope missing"}]}', KoreAuthError],
    [400, '{"errors":[{"msg":"The user is an account owner","code":400}]}', KoreRefusedError],
    [400, '{"errors":[{"msg":"User belongs to one or more accounts"}]}', KoreRefusedError],
    [409, '{"errors":[{"msg":"bot owner or co-developer for one or more bots"}]}', KoreRefusedError],
    [422, '{"errors":[{"msg":"user is a codeveloper"}]}', KoreRefusedError],
    [400, '{"errors":[{"msg":"Invalid botId"}]}', KorePermanentError],
    [404, '{"errors":[{"msg":"Not found"}]}', KorePermanentError],
    [200, 'not json', KorePermanentError],
    [200, '{"status":"in-progress"}', KorePermanentError],
    [200, '[]', KorePermanentError],
  ])('maps an erase answered %i %s to the right error', async (status, body, type) => {
    const error = await caught(() => clientAnswering(status, body).eraseUsersData([DEMO_END_USERS.alice], []));

    expect(error).toBeInstanceOf(type);
    expect(error.name).toBe(type.name);
    expect(error.message).not.toContain(body.length > 3 ? body : '\u0000');
  });

  it('only reads a refusal into the erase call: the same 400 on user roles is permanent', async () => {
    const error = await caught(() => clientAnswering(400, '{"errors":[{"msg":"owner"}]}').getUserRoles(0, 10));
    expect(error).toBeInstanceOf(KorePermanentError);
  });

  it('reads Retry-After given as an HTTP-date relative to the clock', async () => {
    const error = await caught(() => clientAnswering(503, '', { 'retry-after': 'Sun, 01 Mar 2026 12:00:30 GMT' }).getUserRoles(0, 1));
    expect((error as KoreRetryableError).retryAfterMs).toBe(30_000);
    expect((error as KoreRetryableError).httpStatus).toBe(503);
  });

  it('rejects a status answer about another job, and user-roles pages of the wrong shape', async () => {
    const other = await caught(() => clientAnswering(200, '{"_id":"eud-2","response":[]}').getEraseStatus('eud-1'));
    const shape = await caught(() => clientAnswering(200, '{"total":"ten","users":[]}').getUserRoles(0, 1));
    const user = await caught(() => clientAnswering(200, '{"total":1,"users":[{"username":"x@example.com"}]}').getUserRoles(0, 1));

    expect(other).toBeInstanceOf(KorePermanentError);
    expect(shape).toBeInstanceOf(KorePermanentError);
    expect(user).toBeInstanceOf(KorePermanentError);
    expect(user.message).toContain('users.0.userId');
    expect(user.message).not.toContain('x@example.com');
  });

  it('accepts a job still without per-user results and derives availableMore from total when absent', async () => {
    const status = await clientAnswering(200, '{"_id":"eud-1"}').getEraseStatus('eud-1');
    const page = await clientAnswering(200, '{"total":3,"users":[{"userId":"u-1"}]}').getUserRoles(1, 1);
    const last = await clientAnswering(200, '{"total":3,"users":[{"userId":"u-3"}]}').getUserRoles(2, 1);

    expect(status.users).toEqual([]);
    expect(page.availableMore).toBe(true);
    expect(last.availableMore).toBe(false);
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2026-03-01T12:00:00Z');

  it('reads delta-seconds as milliseconds for any non-negative integer', () => {
    fc.assert(fc.property(fc.nat({ max: 10_000_000 }), (seconds) => parseRetryAfter(` ${seconds} `, now) === seconds * 1000));
  });

  it('reads an HTTP-date as the time left, never negative', () => {
    fc.assert(
      fc.property(fc.integer({ min: -86_400, max: 86_400 }), (offsetSeconds) => {
        const date = new Date(now.getTime() + offsetSeconds * 1000).toUTCString();
        return parseRetryAfter(date, now) === Math.max(0, offsetSeconds * 1000);
      }),
    );
  });

  it.each([[null], [undefined], [''], ['soon'], ['-5'], ['1.5']])('ignores %j', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});

/** A second origin that records whatever reaches it (the place a redirect points at). */
async function startRecorder(): Promise<{ url: string; received: { method: string; url: string; auth?: string; body: string }[]; stop(): Promise<void> }> {
  const { createServer } = await import('node:http');
  const received: { method: string; url: string; auth?: string; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.auth as string | undefined, body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ requestId: 'eud-stolen', status: 'in-progress', _id: 'eud-1', total: 0, users: [] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, received, stop: () => new Promise((r) => server.close(() => r())) };
}

describe('redirects', () => {
  it('never follows a 307 to another origin: the DELETE, the auth token and the user ids stay home, and the error is a named permanent one', async () => {
    const elsewhere = await startRecorder();
    try {
      pair = await startPair({ faults: { rate307: 1, redirectTo: elsewhere.url } });
      const { client, sim } = pair;

      const errors = [await caught(() => erase(client)), await caught(() => client.getEraseStatus('eud-1')), await caught(() => client.getUserRoles(0, 50))];

      for (const error of errors) {
        expect(error.name).toBe('KoreRedirectError');
        expect(error).toBeInstanceOf(KorePermanentError);
        expect(error).not.toBeInstanceOf(KoreRetryableError);
        expect((error as KorePermanentError).httpStatus).toBe(307);
        expect(error.message).not.toContain(elsewhere.url);
        expect(error.message).not.toContain(DEMO_END_USERS.alice);
      }
      expect(sim.calls().map((c) => c.outcome)).toEqual(['fault-307', 'fault-307', 'fault-307']);
      expect(elsewhere.received).toEqual([]);
    } finally {
      await elsewhere.stop();
    }
  });

  it.each([301, 302, 303, 307, 308])('turns a %i into KoreRedirectError without a second request', async (status) => {
    const seen: { url: string; redirect?: RequestInit['redirect'] }[] = [];
    const client = new KoreClient({
      baseUrl: 'https://tenant.example',
      clientId: 'cs-1',
      clientSecret: 'secret',
      fetch: async (url, init) => {
        seen.push({ url: String(url), redirect: init?.redirect });
        return new Response(null, { status, headers: { location: 'https://evil.example/steal' } });
      },
    });
    const error = await caught(() => erase(client));
    expect(error.name).toBe('KoreRedirectError');
    expect(seen).toEqual([{ url: 'https://tenant.example/api/public/bot/eraseUsersData', redirect: 'manual' }]);
  });

  it('refuses a 307 fault without a target, and the simulator keeps its other faults working', async () => {
    await expect(startKoreSimulator({ faults: { rate307: 1 } })).rejects.toThrow(/redirectTo/);
  });
});
