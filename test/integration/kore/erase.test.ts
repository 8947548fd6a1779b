import { afterEach, describe, expect, it } from 'vitest';
import { KorePermanentError, KoreRefusedError } from '../../../functions/domain/kore';
import {
  DEMO_ACCOUNT_OWNER,
  DEMO_BOT_OWNERS,
  DEMO_BOTS,
  DEMO_CO_DEVELOPERS,
  DEMO_END_USERS,
  DEMO_MEMBERS,
} from '../../../infra/local/kore-sim';
import { caught, pollUntilSettled, startPair, type Pair } from './fixtures';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.sim.stop();
  pair = undefined;
});

describe('erasing users through the Kore.ai client', () => {
  it('accepts an end user, reports the job in progress, then SUCCESS once the job has run', async () => {
    // Prepare
    // Long enough that the first status check comes before the job ends, even on a busy machine.
    pair = await startPair({ jobDurationMs: 1_500 });
    const { client, sim } = pair;

    // Act
    const accepted = await client.eraseUsersData([DEMO_END_USERS.alice], [DEMO_BOTS.support.botId]);
    const early = await client.getEraseStatus(accepted.koreRequestId);
    const settled = await pollUntilSettled(client, accepted.koreRequestId);

    // Assess
    expect(accepted.koreRequestId).toMatch(/^eud-\d+$/);
    expect(accepted.status).toBe('in-progress');
    expect(early.users).toEqual([{ userId: DEMO_END_USERS.alice, status: 'in-progress' }]);
    expect(settled.koreRequestId).toBe(accepted.koreRequestId);
    expect(settled.users).toEqual([{ userId: DEMO_END_USERS.alice, status: 'SUCCESS' }]);
    expect(settled.createdOn).toBeDefined();
    expect(settled.lastUpdatedOn).toBeDefined();
    expect(JSON.parse(settled.rawBody)).toMatchObject({ _id: accepted.koreRequestId, response: [{ userId: DEMO_END_USERS.alice, status: 'SUCCESS' }] });
    expect(sim.calls().filter((c) => c.outcome === 'accepted')).toHaveLength(1);
  });

  it('keeps the status body verbatim as rawBody', async () => {
    pair = await startPair({ jobDurationMs: 0 });
    const { client, sim } = pair;
    const { koreRequestId } = await client.eraseUsersData([DEMO_END_USERS.bob], []);

    const status = await client.getEraseStatus(koreRequestId);
    const direct = await fetch(`${sim.url}/__sim/calls`).then((r) => r.json() as Promise<{ calls: unknown[] }>);

    expect(status.rawBody).toMatch(/^\{"_id":"eud-\d+","createdOn":"[^"]+","lastUpdatedOn":"[^"]+","RemoveDataFromAllBots":true,"response":\[\{"userId":"bob@example.com","status":"SUCCESS"\}\]\}$/);
    expect(direct.calls).toHaveLength(2);
  });

  it('sends botIds [] with RemoveDataFromAllBots when no bot is named, and the bots alone otherwise', async () => {
    pair = await startPair();
    const { client, sim } = pair;

    const all = await client.eraseUsersData([DEMO_END_USERS.enterpriseId], []);
    const scoped = await client.eraseUsersData([DEMO_END_USERS.enterpriseId2], [DEMO_BOTS.hr.botId, DEMO_BOTS.billing.botId]);

    const allStatus = JSON.parse((await client.getEraseStatus(all.koreRequestId)).rawBody) as { RemoveDataFromAllBots: boolean };
    const scopedStatus = JSON.parse((await client.getEraseStatus(scoped.koreRequestId)).rawBody) as { RemoveDataFromAllBots: boolean };
    expect(allStatus.RemoveDataFromAllBots).toBe(true);
    expect(scopedStatus.RemoveDataFromAllBots).toBe(false);
    const accepted = sim.calls().filter((c) => c.outcome === 'accepted');
    expect(accepted.map((c) => c.botIds)).toEqual([[], [DEMO_BOTS.hr.botId, DEMO_BOTS.billing.botId]]);
  });

  it('reports FAILED for a user the platform could not erase and SUCCESS for the others of the job', async () => {
    pair = await startPair({ failUsers: [DEMO_END_USERS.carol] });
    const { client } = pair;

    const { koreRequestId } = await client.eraseUsersData(['Carol@Example.com', DEMO_END_USERS.alice], []);
    const settled = await pollUntilSettled(client, koreRequestId);

    expect(settled.users).toEqual([
      { userId: 'Carol@Example.com', status: 'FAILED' },
      { userId: DEMO_END_USERS.alice, status: 'SUCCESS' },
    ]);
  });

  it.each([
    ['an account owner', DEMO_ACCOUNT_OWNER.email],
    ['an account owner named by enterprise id', DEMO_ACCOUNT_OWNER.orgUserId!],
    ['a bot owner (email in another case)', DEMO_BOT_OWNERS[0]!.email.toUpperCase()],
    ['a bot owner named by Kore user id', DEMO_BOT_OWNERS[1]!.userId],
    ['a co-developer', DEMO_CO_DEVELOPERS[1]!.email],
    ['a plain account member', DEMO_MEMBERS[2]!.email],
  ])('refuses %s with KoreRefusedError, creating no job', async (_who, userId) => {
    pair = await startPair();
    const { client, sim } = pair;

    const error = await caught(() => client.eraseUsersData([DEMO_END_USERS.alice, userId], []));

    expect(error).toBeInstanceOf(KoreRefusedError);
    expect(error.name).toBe('KoreRefusedError');
    expect((error as KoreRefusedError).httpStatus).toBe(400);
    expect(error.message.toLowerCase()).not.toContain(userId.toLowerCase());
    expect(sim.calls().map((c) => c.outcome)).toEqual(['refused']);
  });

  it('turns an unknown job id into KorePermanentError 404 and escapes the id in the path', async () => {
    pair = await startPair();
    const { client, sim } = pair;

    const error = await caught(() => client.getEraseStatus('eud-999/../x y'));

    expect(error).toBeInstanceOf(KorePermanentError);
    expect((error as KorePermanentError).httpStatus).toBe(404);
    expect(sim.calls()).toMatchObject([{ route: '/api/public/bot/eraseUsersData/status/:reqId', jobId: 'eud-999/../x y', outcome: 'not-found' }]);
  });

  it('turns a platform 400 that is not a refusal (unknown bot) into KorePermanentError', async () => {
    pair = await startPair();

    const error = await caught(() => pair!.client.eraseUsersData([DEMO_END_USERS.alice], ['st-00000000-0000-4000-8000-000000000000']));

    expect(error).toBeInstanceOf(KorePermanentError);
    expect((error as KorePermanentError).httpStatus).toBe(400);
  });

  it('shows exactly one accepted DELETE per erasure in the calls route, whatever else was called', async () => {
    pair = await startPair({ jobDurationMs: 0 });
    const { client, sim } = pair;
    const users = [DEMO_END_USERS.alice, DEMO_END_USERS.bob, DEMO_END_USERS.enterpriseId];

    const jobIds: string[] = [];
    for (const user of users) {
      const { koreRequestId } = await client.eraseUsersData([user], []);
      jobIds.push(koreRequestId);
      await pollUntilSettled(client, koreRequestId);
    }
    await caught(() => client.eraseUsersData([DEMO_ACCOUNT_OWNER.email], []));
    const { calls } = (await (await fetch(`${sim.url}/__sim/calls`)).json()) as { calls: { outcome: string; method: string; userIds?: string[]; jobId?: string }[] };

    const accepted = calls.filter((c) => c.method === 'DELETE' && c.outcome === 'accepted');
    expect(accepted.map((c) => c.userIds)).toEqual(users.map((u) => [u]));
    expect(new Set(accepted.map((c) => c.jobId))).toEqual(new Set(jobIds));
    expect(calls.filter((c) => c.outcome === 'refused')).toHaveLength(1);
  });
});
