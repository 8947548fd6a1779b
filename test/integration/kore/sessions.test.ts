/**
 * The Sessions History API through the Kore.ai client against the simulator, as
 * docs/kore-platform.md (S1–S6 and its assumptions) describes it: what the verified erasure reads
 * back after the platform said SUCCESS.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { KoreAuthError, KoreScopeMissingError } from '../../../functions/domain/kore';
import { DEMO_BOT_IDS, DEMO_BOTS, DEMO_END_USERS, SCOPE_MISSING_MESSAGE } from '../../../infra/local/kore-sim';
import { caught, pollUntilSettled, startPair, type Pair } from './fixtures';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.sim.stop();
  pair = undefined;
});

const DAY = 86_400_000;
const window = (days = 7) => ({ dateFrom: new Date(Date.now() - days * DAY).toISOString(), dateTo: new Date().toISOString() });

describe('reading a user\'s sessions back', () => {
  it('finds a known end user\'s sessions in every bot, counted and by bot only', async () => {
    pair = await startPair();
    const page = await pair.client.getSessions({ userId: DEMO_END_USERS.bob, ...window(), skip: 0, limit: 100 });
    expect(page.sessions.map((s) => s.botId).sort()).toEqual([...DEMO_BOT_IDS].sort());
    expect(page.moreAvailable).toBe(false);
    expect(JSON.parse(page.rawBody)).toMatchObject({ total: 3 });
    const call = pair.sim.calls().at(-1)!;
    expect(call).toMatchObject({ method: 'POST', route: '/api/public/getSessions', outcome: 'ok', httpStatus: 200 });
  });

  it('pages with skip and limit, newest first, and says when more follow', async () => {
    pair = await startPair();
    for (let i = 0; i < 4; i++) pair.sim.sessions.add('paged@example.com', DEMO_BOTS.hr.botId, Date.now() - (i + 1) * 3_600_000);
    const first = await pair.client.getSessions({ userId: 'paged@example.com', ...window(), skip: 0, limit: 3 });
    const second = await pair.client.getSessions({ userId: 'paged@example.com', ...window(), skip: 3, limit: 3 });
    expect([first.sessions.length, first.moreAvailable, second.sessions.length, second.moreAvailable]).toEqual([3, true, 1, false]);
  });

  it('reads only the window asked for', async () => {
    pair = await startPair();
    pair.sim.sessions.add('old@example.com', DEMO_BOTS.hr.botId, Date.now() - 10 * DAY);
    expect((await pair.client.getSessions({ userId: 'old@example.com', ...window(7), skip: 0, limit: 100 })).sessions).toHaveLength(0);
    expect((await pair.client.getSessions({ userId: 'old@example.com', ...window(14), skip: 0, limit: 100 })).sessions).toHaveLength(1);
  });

  it('finds nothing in the erased bots once an erasure job has ended SUCCESS', async () => {
    pair = await startPair();
    const { client } = pair;
    const job = await client.eraseUsersData([DEMO_END_USERS.alice], [DEMO_BOTS.support.botId]);
    await pollUntilSettled(client, job.koreRequestId);
    const left = await client.getSessions({ userId: DEMO_END_USERS.alice, ...window(), skip: 0, limit: 100 });
    expect(left.sessions.map((s) => s.botId).sort()).toEqual([DEMO_BOTS.billing.botId, DEMO_BOTS.hr.botId].sort());
  });

  it('gives a user it never heard of sessions in the job\'s bots when an erase names them, and removes them when the job ends', async () => {
    pair = await startPair({ jobDurationMs: 1_000 });
    const { client } = pair;
    const job = await client.eraseUsersData(['newcomer@example.com'], []);
    const during = await client.getSessions({ userId: 'newcomer@example.com', ...window(), skip: 0, limit: 100 });
    expect(during.sessions).toHaveLength(DEMO_BOT_IDS.length);
    await pollUntilSettled(client, job.koreRequestId);
    expect((await client.getSessions({ userId: 'newcomer@example.com', ...window(), skip: 0, limit: 100 })).sessions).toHaveLength(0);
  });

  it('leaves the sessions behind under the sessionsLeftBehind fault though the job ends SUCCESS', async () => {
    pair = await startPair({ faults: { sessionsLeftBehind: true } });
    const { client } = pair;
    const job = await client.eraseUsersData([DEMO_END_USERS.carol], []);
    const settled = await pollUntilSettled(client, job.koreRequestId);
    expect(settled.users[0]!.status).toBe('SUCCESS');
    expect((await client.getSessions({ userId: DEMO_END_USERS.carol, ...window(), skip: 0, limit: 100 })).sessions).toHaveLength(3);
  });

  it('refuses with 403 under sessionsScopeMissing, which the client names KoreScopeMissingError', async () => {
    pair = await startPair({ faults: { sessionsScopeMissing: true } });
    const error = await caught(() => pair!.client.getSessions({ userId: DEMO_END_USERS.bob, ...window(), skip: 0, limit: 10 }));
    expect(error).toBeInstanceOf(KoreScopeMissingError);
    expect(error).toBeInstanceOf(KoreAuthError);
    expect((error as KoreScopeMissingError).httpStatus).toBe(403);
    expect(pair.sim.calls().at(-1)).toMatchObject({ outcome: 'scope-missing', httpStatus: 403 });
    expect(SCOPE_MISSING_MESSAGE).toMatch(/Bot Sessions/);
  });

  it('refuses a call without the auth token like every other call (D1)', async () => {
    pair = await startPair();
    const response = await fetch(`${pair.sim.url}/api/public/getSessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(401);
  });
});
