/**
 * SubmitErasure and CheckStatus with batching on: requests of one scope gather, one member sends
 * the batch's DELETE for all, every member keeps its own intent and answer, a refusal of the batch
 * sends each member alone, a dead sender leaves every member's outcome unknown, and one status
 * check a round serves every member.
 */
import { describe, expect, it } from 'vitest';
import { batchPolicy } from '../../../functions/domain/erasure-batch';
import { KoreRefusedError, KoreRetryableError, type KoreEraseStatus, type KorePlatform } from '../../../functions/domain/kore';
import { checkErasureStatus } from '../../../functions/workflow/check-erasure-status';
import { submitErasure } from '../../../functions/workflow/submit-erasure';
import type { ErasureTaskDeps } from '../../../functions/workflow/task-deps';
import type { WorkflowState } from '../../../functions/workflow/workflow-state';
import { InMemoryBatches, InMemoryJobStatus } from '../../support/batch-fakes';
import { InMemoryAuditStore } from '../../support/in-memory-audit-store';
import { MutableClock } from '../../support/staff-fakes';
import { arrange, NOW, ScriptedBudget, taskDeps } from './task-fixtures';

const policy = batchPolicy({ size: 3, gatherSeconds: 2 });
const emails = ['ann@example.com', 'bob@example.com', 'cat@example.com', 'dan@example.com'];

/** Requests `req-1`… of one scope (all bots), QUEUED, one per email, and deps that batch them. */
async function queued(n: number, kore: Partial<KorePlatform>, budget?: ScriptedBudget) {
  const clock = new MutableClock(new Date(NOW));
  const store = new InMemoryAuditStore({ clock });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await arrange('QUEUED', { store, requestId: `req-${i + 1}`, subject: emails[i]! })).requestId);
  const batches = new InMemoryBatches(policy, clock);
  const jobStatus = new InMemoryJobStatus(policy, clock);
  const deps: ErasureTaskDeps = taskDeps(store, kore, { clock, batching: { policy, batches, jobStatus }, ...(budget ? { budget } : {}) });
  const types = async (id: string) => (await store.getTimeline(id)).filter((e) => e.seq > 4).map((e) => e.type);
  return { store, ids, deps, clock, batches, types };
}

const advance = (clock: MutableClock, ms: number) => clock.set(new Date(clock.now().getTime() + ms));
const start = (requestId: string): WorkflowState => ({ requestId, attempt: 1 });
/** The input of the next SubmitErasure after a WaitForBudget (the state machine passes the output on). */
const again = (state: WorkflowState): WorkflowState => state;

describe('SubmitErasure in a batch', () => {
  it('gathers the requests of one scope and sends them in one DELETE, each with its own intent and answer', async () => {
    const sent: string[][] = [];
    const { ids, deps, clock, types } = await queued(2, { eraseUsersData: async (userIds) => (sent.push(userIds), { koreRequestId: 'eud-1', status: 'in-progress' }) });

    const first = await submitErasure(deps, start(ids[0]!));
    const second = await submitErasure(deps, start(ids[1]!));
    expect(first).toMatchObject({ budgetWait: { reason: 'gathering', waitSeconds: 2 }, batch: { id: expect.any(String) } });
    expect(second.batch?.id).toBe(first.batch?.id);
    expect(sent).toEqual([]);

    advance(clock, 2000);
    const sender = await submitErasure(deps, again(first));
    expect(sent).toEqual([[emails[0], emails[1]]]);
    expect(sender).toMatchObject({ koreRequestId: 'eud-1', batch: { size: 2 }, poll: { count: 0 } });
    expect(sender.budgetWait).toBeUndefined();

    // The other member finds its answer recorded and goes on polling, sending nothing.
    const reader = await submitErasure(deps, again(second));
    expect(reader).toMatchObject({ koreRequestId: 'eud-1', batch: { size: 2 } });
    expect(sent).toHaveLength(1);
    for (const id of ids) expect(await types(id)).toEqual(['ERASURE_SUBMITTING', 'ERASURE_SUBMITTED']);
  });

  it('sends a full batch at once, without waiting for its window to end', async () => {
    const sent: string[][] = [];
    const { ids, deps } = await queued(3, { eraseUsersData: async (userIds) => (sent.push(userIds), { koreRequestId: 'eud-1', status: 'in-progress' }) });

    await submitErasure(deps, start(ids[0]!));
    await submitErasure(deps, start(ids[1]!));
    const filler = await submitErasure(deps, start(ids[2]!));

    expect(filler).toMatchObject({ koreRequestId: 'eud-1', batch: { size: 3 } });
    expect(sent).toEqual([emails.slice(0, 3)]);
  });

  it('waits for a budget turn before it claims the batch, so another member may send it meanwhile', async () => {
    const sent: string[][] = [];
    const budget = new ScriptedBudget([4000]);
    const { ids, deps, clock, batches } = await queued(2, { eraseUsersData: async (userIds) => (sent.push(userIds), { koreRequestId: 'eud-1', status: 'in-progress' }) }, budget);
    const first = await submitErasure(deps, start(ids[0]!));
    const second = await submitErasure(deps, start(ids[1]!));
    advance(clock, 2000);

    expect(await submitErasure(deps, again(first))).toMatchObject({ budgetWait: { reason: 'budget', waitSeconds: 4 }, batch: { id: first.batch!.id } });
    expect((await batches.get(first.batch!.id!))!.state).toBe('open');
    expect(await submitErasure(deps, again(second))).toMatchObject({ koreRequestId: 'eud-1' });
    expect(sent).toHaveLength(1);
  });

  it('sends each member alone after the platform refused the batch, so only the refused request is rejected', async () => {
    const sent: string[][] = [];
    const { ids, deps, clock, types } = await queued(3, {
      eraseUsersData: async (userIds) => {
        sent.push(userIds);
        if (userIds.includes(emails[1]!)) throw new KoreRefusedError('refused', 400);
        return { koreRequestId: `eud-${sent.length}`, status: 'in-progress' };
      },
    });
    const states = [await submitErasure(deps, start(ids[0]!)), await submitErasure(deps, start(ids[1]!))];
    advance(clock, 2000);

    const claimer = await submitErasure(deps, again(states[0]!));
    const refused = await submitErasure(deps, again(states[1]!));

    expect(sent).toEqual([[emails[0], emails[1]], [emails[0]], [emails[1]]]);
    expect(claimer).toMatchObject({ koreRequestId: 'eud-2' });
    expect(refused).toMatchObject({ rejection: { rule: 'PLATFORM_RULES', source: 'platform' } });
    expect(await types(ids[0]!)).toEqual(['ERASURE_SUBMITTING', 'ERASURE_CALL_FAILED', 'ERASURE_SUBMITTING', 'ERASURE_SUBMITTED']);
    expect(await types(ids[1]!)).toEqual(['ERASURE_SUBMITTING', 'ERASURE_CALL_FAILED', 'ERASURE_SUBMITTING', 'ERASURE_CALL_FAILED']);
  });

  it('records a rate-limit refusal of the batch for every member and sends the batch again on a later turn, once', async () => {
    const sent: string[][] = [];
    const { ids, deps, clock, store } = await queued(2, {
      eraseUsersData: async (userIds) => {
        sent.push(userIds);
        if (sent.length === 1) throw new KoreRetryableError('Rate limit for this API has been reached', 429, undefined, { rateLimited: true });
        return { koreRequestId: 'eud-9', status: 'in-progress' };
      },
    });
    const states = [await submitErasure(deps, start(ids[0]!)), await submitErasure(deps, start(ids[1]!))];
    advance(clock, 2000);

    const waited = await submitErasure(deps, again(states[0]!));
    expect(waited).toMatchObject({ budgetWait: { reason: 'rate-limited' }, batch: { id: states[0]!.batch!.id } });
    advance(clock, 10_000);
    expect(await submitErasure(deps, again(states[1]!))).toMatchObject({ koreRequestId: 'eud-9' });
    expect(await submitErasure(deps, again(waited))).toMatchObject({ koreRequestId: 'eud-9' });

    expect(sent).toHaveLength(2);
    for (const id of ids) {
      const timeline = (await store.getTimeline(id)).filter((e) => e.type.startsWith('ERASURE_'));
      expect(timeline.map((e) => [e.type, e.details.try])).toEqual([
        ['ERASURE_QUEUED', undefined],
        ['ERASURE_SUBMITTING', 1],
        ['ERASURE_CALL_FAILED', 1],
        ['ERASURE_SUBMITTING', 2],
        ['ERASURE_SUBMITTED', 2],
      ]);
    }
  });

  it('never sends a batch twice when its sender died after the DELETE: every member ends with its outcome unknown', async () => {
    let deletes = 0;
    const { ids, deps, clock, types } = await queued(2, { eraseUsersData: () => (deletes++, new Promise(() => undefined)) });
    const states = [await submitErasure(deps, start(ids[0]!)), await submitErasure(deps, start(ids[1]!))];
    advance(clock, 2000);
    void submitErasure(deps, again(states[0]!));
    await expect.poll(() => deletes).toBe(1);

    // While the sender may still be alive, the other member waits; once its claim is dead, the batch is lost.
    expect(await submitErasure(deps, again(states[1]!))).toMatchObject({ budgetWait: { reason: 'gathering', waitSeconds: 2 } });
    advance(clock, 90_000);
    await expect(submitErasure(deps, again(states[1]!))).rejects.toMatchObject({ name: 'SubmissionOutcomeUnknownError' });
    // The sender's own retry (its Lambda timed out) finds the batch lost too.
    await expect(submitErasure(deps, again(states[0]!))).rejects.toMatchObject({ name: 'SubmissionOutcomeUnknownError' });
    expect(deletes).toBe(1);
    expect(await types(ids[1]!)).toEqual(['ERASURE_SUBMITTING', 'ERASURE_CALL_FAILED']);
  });

  it('goes on polling when the sender records its answer while the member records it too, without failing', async () => {
    const { ids, deps, clock, store } = await queued(2, { eraseUsersData: async () => ({ koreRequestId: 'eud-1', status: 'in-progress' }) });
    const states = [await submitErasure(deps, start(ids[0]!)), await submitErasure(deps, start(ids[1]!))];
    advance(clock, 2000);
    // The sender cannot record the second member's answer (its own is recorded).
    const append = store.appendEvent.bind(store);
    let writes = 0;
    store.appendEvent = async (requestId, build, options) => {
      // The intent goes through; the answer after it does not.
      if (requestId === ids[1] && ++writes === 2) throw new Error('store hiccup');
      return append(requestId, build, options);
    };
    await submitErasure(deps, again(states[0]!));
    store.appendEvent = append;
    // The member reads its timeline (intent last), and the sender's late answer lands before the member's own.
    const read = store.getTimeline.bind(store);
    let reads = 0;
    store.getTimeline = async (requestId) => {
      const timeline = await read(requestId);
      if (requestId === ids[1] && ++reads === 2) {
        await append(requestId, () => ({ event: { type: 'ERASURE_SUBMITTED', at: NOW, actor: 'system:workflow', attempt: 1, status: 'SUBMITTED', details: { koreRequestId: 'eud-1' } }, patch: { koreRequestId: 'eud-1' } }));
      }
      return timeline;
    };

    expect(await submitErasure(deps, again(states[1]!))).toMatchObject({ koreRequestId: 'eud-1', batch: { size: 2 } });
    expect((await read(ids[1]!)).filter((e) => e.type === 'ERASURE_SUBMITTED')).toHaveLength(1);
  });

  it('sends a batch asked for again in a new round: a member still pending in the earlier round gets its answer first, and that round\'s late answer never lands on the new intent', async () => {
    const sent: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let lateWritten!: () => void;
    const lateDone = new Promise<void>((resolve) => (lateWritten = resolve));
    const { ids, deps, clock, store } = await queued(2, {
      eraseUsersData: async (userIds) => {
        sent.push(userIds);
        if (sent.length === 1) throw new KoreRetryableError('Service unavailable', 503, undefined);
        // The first round's claimer writes its late answer while this round's DELETE is under way.
        release();
        await lateDone;
        return { koreRequestId: 'eud-2', status: 'in-progress' };
      },
    });
    const states = [await submitErasure(deps, start(ids[0]!)), await submitErasure(deps, start(ids[1]!))];
    advance(clock, 2000);
    const append = store.appendEvent.bind(store);
    let writes = 0;
    store.appendEvent = async (requestId, build, options) => {
      // The second member's intent goes through; the first round's answer to it is held back.
      if (requestId !== ids[1] || ++writes !== 2) return append(requestId, build, options);
      await gate;
      try {
        return await append(requestId, build, options);
      } finally {
        lateWritten();
      }
    };

    const firstRound = submitErasure(deps, again(states[0]!)).catch((error: unknown) => error);
    await expect.poll(() => writes).toBe(2);
    expect(await submitErasure(deps, again(states[1]!))).toMatchObject({ koreRequestId: 'eud-2', batch: { size: 2 } });
    expect(await firstRound).toMatchObject({ name: 'KoreRetryableError' });

    expect(sent).toEqual([[emails[0], emails[1]], [emails[0], emails[1]]]);
    const submissions = async (id: string) =>
      (await store.getTimeline(id)).filter((e) => e.type.startsWith('ERASURE_') && e.type !== 'ERASURE_QUEUED').map((e) => [e.type, e.details.try, e.details.batchRound ?? (e.details.batch as { round?: number } | undefined)?.round]);
    expect(await submissions(ids[1]!)).toEqual([
      ['ERASURE_SUBMITTING', 1, 1],
      ['ERASURE_CALL_FAILED', 1, 1],
      ['ERASURE_SUBMITTING', 2, 2],
      ['ERASURE_SUBMITTED', 2, 2],
    ]);
    expect((await submissions(ids[0]!)).map(([type, tryNumber]) => [type, tryNumber])).toEqual([
      ['ERASURE_SUBMITTING', 1],
      ['ERASURE_CALL_FAILED', 1],
      ['ERASURE_SUBMITTING', 2],
      ['ERASURE_SUBMITTED', 2],
    ]);
  });

  it('takes over a claim that died before anything was sent, and sends the batch once', async () => {
    const sent: string[][] = [];
    const { ids, deps, clock, batches } = await queued(2, { eraseUsersData: async (userIds) => (sent.push(userIds), { koreRequestId: 'eud-1', status: 'in-progress' }) });
    const states = [await submitErasure(deps, start(ids[0]!)), await submitErasure(deps, start(ids[1]!))];
    advance(clock, 2000);
    // The first member claimed and died before recording any intent.
    await batches.claim(states[0]!.batch!.id!, 'req-1#1');
    expect(await submitErasure(deps, again(states[1]!))).toMatchObject({ budgetWait: { reason: 'gathering' } });

    advance(clock, 90_000);
    expect(await submitErasure(deps, again(states[1]!))).toMatchObject({ koreRequestId: 'eud-1', batch: { size: 2 } });
    expect(sent).toEqual([[emails[0], emails[1]]]);
  });
});

describe('CheckStatus of a batch', () => {
  const answer = (statuses: Record<string, string>): KoreEraseStatus => {
    const response = Object.entries(statuses).map(([userId, status]) => ({ userId, status }));
    return { koreRequestId: 'eud-1', users: response, rawBody: JSON.stringify({ _id: 'eud-1', response }) };
  };

  it('checks the job once a round for all members, each reading its own user', async () => {
    let checks = 0;
    const { ids, deps, clock } = await queued(3, {
      eraseUsersData: async () => ({ koreRequestId: 'eud-1', status: 'in-progress' }),
      getEraseStatus: async () => (checks++, answer({ [emails[0]!]: 'SUCCESS', [emails[1]!.toUpperCase()]: 'FAILED', [emails[2]!]: 'in-progress' })),
    });
    const polling = [await submitErasure(deps, start(ids[0]!)), await submitErasure(deps, start(ids[1]!)), await submitErasure(deps, start(ids[2]!))];
    const submitted = await Promise.all(polling.map((s) => (s.koreRequestId ? s : submitErasure(deps, again(s)))));
    advance(clock, 10_000);

    const rounds: WorkflowState[] = [];
    for (const s of submitted) rounds.push(await checkErasureStatus(deps, s));

    expect(checks).toBe(1);
    expect(rounds.map((r) => r.poll?.outcome)).toEqual(['SUCCESS', 'FAILED', 'RUNNING']);
    // The next round of the member still running asks again: the answer it saw is no news.
    advance(clock, 10_000);
    await checkErasureStatus(deps, rounds[2]!);
    expect(checks).toBe(2);
  });

  it('waits a moment when another member holds the check, recording nothing', async () => {
    const { ids, deps, clock, store } = await queued(3, {
      eraseUsersData: async () => ({ koreRequestId: 'eud-1', status: 'in-progress' }),
      getEraseStatus: async () => answer({}),
    });
    const polling = [await submitErasure(deps, start(ids[0]!)), await submitErasure(deps, start(ids[1]!)), await submitErasure(deps, start(ids[2]!))];
    const submitted = await Promise.all(polling.map((s) => (s.koreRequestId ? s : submitErasure(deps, again(s)))));
    advance(clock, 10_000);
    await deps.batching!.jobStatus.claimCheck('eud-1', 'someone#1');
    const before = (await store.getTimeline(ids[1]!)).length;

    expect(await checkErasureStatus(deps, submitted[1]!)).toMatchObject({ poll: { outcome: 'RUNNING', waitSeconds: 2 } });
    expect((await store.getTimeline(ids[1]!)).length).toBe(before);
  });
});
