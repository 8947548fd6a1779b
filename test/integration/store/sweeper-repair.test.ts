/**
 * The sweeper against the real store (dynalite): a process that died between appending an event
 * and updating the projection leaves the projection behind. The sweeper goes by the chain — it
 * repairs the projection, finishes a request that had in fact ended, and redrives nothing.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAuditStore } from '../../../functions/adapters/dynamo/audit-store';
import { DynamoOpenRequestClaims } from '../../../functions/adapters/dynamo/open-request-claims';
import type { ExecutionState, WorkflowStarter } from '../../../functions/domain/ports';
import { sweepRequests } from '../../../functions/workflow/sweep-requests';
import { startDynalite, type DynaliteHandle } from '../../support/dynalite';
import { interceptingClient, isEventPut, isMetaUpdate, newRequest, receivedEvent, transition } from './fixtures';

let db: DynaliteHandle;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => db?.stop());

/** A workflow whose executions all stopped (the process died); records what the sweeper asks of it. */
function stoppedWorkflow(): WorkflowStarter & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    startErasure: async (id, attempt) => (asked.push(`start ${id}-${attempt}`), { started: true, executionId: `${id}-${attempt}` }),
    isRunning: async () => false,
    executionState: async (): Promise<ExecutionState> => 'ABORTED',
    redrive: async (id, attempt) => void asked.push(`redrive ${id}-${attempt}`),
  };
}

describe('sweeper and lagging projections', () => {
  it('finishes a request whose completion was appended but never projected, without redriving it', async () => {
    const clock = { now: () => new Date('2026-03-11T12:00:00.000Z') };
    const store = new DynamoAuditStore({ client: db.client, tableName: db.tableName, clock });
    const claims = new DynamoOpenRequestClaims({ client: db.client, tableName: db.tableName, clock });
    const input = newRequest({ subjectCipher: 'v1.cipher.of-the-address' });
    await store.createRequest(input, receivedEvent(input));
    await claims.claimOpenRequest(input.subjectHash, input.scopeKey, input.requestId);
    for (const to of ['AWAITING_VERIFICATION', 'VERIFIED', 'QUEUED', 'SUBMITTED', 'IN_PROGRESS'] as const) {
      await store.appendEvent(input.requestId, transition(to));
    }
    // The container dies between the ERASURE_COMPLETED event and its projection update.
    const dying = new DynamoAuditStore({
      client: interceptingClient(db.client, (command) => {
        if (isMetaUpdate(command)) throw new Error('container frozen');
      }),
      tableName: db.tableName,
      clock,
    });
    await expect(dying.appendEvent(input.requestId, transition('COMPLETED'))).rejects.toThrow();
    const stale = await db.client.send(new GetCommand({ TableName: db.tableName, Key: { pk: `REQ#${input.requestId}`, sk: 'META' }, ConsistentRead: true }));
    expect(stale.Item).toMatchObject({ status: 'IN_PROGRESS' });

    const workflow = stoppedWorkflow();
    const report = await sweepRequests({
      store,
      workflow,
      claims,
      clock,
      continueVerified: async () => undefined,
      stuckAfterSeconds: 0,
      verificationTtlSeconds: 1800,
      receivedStaleSeconds: 900,
    });

    expect(report).toMatchObject({ repaired: 1, redriven: 0, started: 0, errors: 0 });
    expect(workflow.asked).toEqual([]);
    const request = await store.getRequest(input.requestId);
    expect(request).toMatchObject({ status: 'COMPLETED' });
    expect(request).not.toHaveProperty('subjectCipher');
    const types = (await store.getTimeline(input.requestId)).map((e) => e.type);
    expect(types.slice(-2)).toEqual(['ERASURE_COMPLETED', 'SUBJECT_ID_DROPPED']);
    // The subject is free to ask again.
    expect(await claims.claimOpenRequest(input.subjectHash, input.scopeKey, 'another-request')).toEqual({ claimed: true });
  });

  it('redrives a request that is really still in progress, after repairing nothing', async () => {
    const clock = { now: () => new Date('2026-03-11T12:00:00.000Z') };
    const store = new DynamoAuditStore({ client: db.client, tableName: await db.createTable(), clock });
    const input = newRequest();
    await store.createRequest(input, receivedEvent(input));
    for (const to of ['VERIFIED', 'QUEUED', 'SUBMITTED'] as const) await store.appendEvent(input.requestId, transition(to));
    const workflow = stoppedWorkflow();
    const report = await sweepRequests({
      store,
      workflow,
      claims: new DynamoOpenRequestClaims({ client: db.client, tableName: db.tableName }),
      clock,
      continueVerified: async () => undefined,
      stuckAfterSeconds: 0,
      verificationTtlSeconds: 1800,
      receivedStaleSeconds: 900,
    });
    expect(report).toMatchObject({ repaired: 0, redriven: 1 });
    expect(workflow.asked).toEqual([`redrive ${input.requestId}-1`]);
  });

  it('discards a creation that died before its first event, with its claim, and keeps a finished one', async () => {
    const createdAt = new Date('2026-03-11T12:00:00.000Z');
    const tableName = await db.createTable();
    const claims = new DynamoOpenRequestClaims({ client: db.client, tableName });
    // The intake dies between the META put and event 1 (a crash found by the crash soak).
    const dying = new DynamoAuditStore({
      client: interceptingClient(db.client, (command) => {
        if (isEventPut(command)) throw new Error('process killed');
      }),
      tableName,
      clock: { now: () => createdAt },
    });
    const orphan = newRequest();
    await claims.claimOpenRequest(orphan.subjectHash, orphan.scopeKey, orphan.requestId);
    await expect(dying.createRequest(orphan, receivedEvent(orphan))).rejects.toThrow();
    const finished = newRequest();
    const store = new DynamoAuditStore({ client: db.client, tableName, clock: { now: () => createdAt } });
    await store.createRequest(finished, receivedEvent(finished));
    expect((await store.listByStatus({ status: 'RECEIVED' })).items.map((r) => r.requestId).sort()).toEqual([orphan.requestId, finished.requestId].sort());

    const sweep = (at: Date) =>
      sweepRequests({
        store: new DynamoAuditStore({ client: db.client, tableName, clock: { now: () => at } }),
        workflow: stoppedWorkflow(),
        claims,
        clock: { now: () => at },
        continueVerified: async () => undefined,
        stuckAfterSeconds: 0,
        verificationTtlSeconds: 1800,
        receivedStaleSeconds: 900,
      });
    // Too young: a creation might still be finishing.
    expect(await sweep(new Date(createdAt.getTime() + 60_000))).toMatchObject({ discarded: 0, cancelled: 0, errors: 0 });
    expect(await store.getRequest(orphan.requestId)).toBeDefined();

    const report = await sweep(new Date(createdAt.getTime() + 901_000));
    expect(report).toMatchObject({ discarded: 1, cancelled: 1, errors: 0 });
    expect(await store.getRequest(orphan.requestId)).toBeUndefined();
    const left = await db.client.send(new GetCommand({ TableName: tableName, Key: { pk: `REQ#${orphan.requestId}`, sk: 'META' }, ConsistentRead: true }));
    expect(left.Item).toBeUndefined();
    expect(await claims.claimOpenRequest(orphan.subjectHash, orphan.scopeKey, 'the-next-request')).toEqual({ claimed: true });
    // The finished one keeps its trail: cancelled as an interrupted intake, never deleted.
    expect(await store.getRequest(finished.requestId)).toMatchObject({ status: 'CANCELLED' });
    // The next pass has nothing left to do and no error to repeat.
    expect(await sweep(new Date(createdAt.getTime() + 902_000))).toMatchObject({ discarded: 0, errors: 0 });
  });

  it('refuses to discard a request that has its first event', async () => {
    const tableName = await db.createTable();
    const store = new DynamoAuditStore({ client: db.client, tableName });
    const input = newRequest();
    await store.createRequest(input, receivedEvent(input));
    expect(await store.discardUnfinishedRequest(input.requestId)).toBe(false);
    expect(await store.getRequest(input.requestId)).toMatchObject({ status: 'RECEIVED', lastSeq: 1 });
    expect(await store.discardUnfinishedRequest('req-unknown')).toBe(false);
  });
});
