import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAuditStore } from '../../../functions/adapters/dynamo/audit-store';
import { RequestAlreadyExistsError, StoreError } from '../../../functions/adapters/dynamo/errors';
import { GENESIS_HASH, chainEvent, verifyChain } from '../../../functions/domain/audit-chain';
import { ChainIntegrityError, IllegalTransitionError, RequestNotFoundError } from '../../../functions/domain/errors';
import type { AuditEvent } from '../../../functions/domain/model';
import { startDynalite, type DynaliteHandle } from '../../support/dynalite';
import { interceptingClient, isMetaUpdate, newRequest, note, receivedEvent, transition } from './fixtures';

let db: DynaliteHandle;
const fixedClock = { now: () => new Date('2026-03-11T12:00:00.000Z') };
const newStore = (client = db.client) => new DynamoAuditStore({ client, tableName: db.tableName, clock: fixedClock });

beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db?.stop();
});

const EVENT_KEYS = ['actor', 'at', 'attempt', 'details', 'hash', 'prevHash', 'requestId', 'seq', 'status', 'type'];

describe('DynamoAuditStore: creating and reading', () => {
  it('creates a request with its first event and reads both back', async () => {
    const store = newStore();
    const input = newRequest();

    const created = await store.createRequest(input, receivedEvent(input));

    expect(created.event).toMatchObject({ requestId: input.requestId, seq: 1, prevHash: GENESIS_HASH, type: 'REQUEST_RECEIVED' });
    expect(created.request).toEqual({ ...input, lastSeq: 1, lastHash: created.event.hash, updatedAt: '2026-03-11T12:00:00.000Z' });
    expect(await store.getRequest(input.requestId)).toEqual(created.request);
    const timeline = await store.getTimeline(input.requestId);
    expect(timeline).toEqual([created.event]);
    expect(verifyChain(input.requestId, timeline).ok).toBe(true);
  });

  it('refuses a second request with the same id and leaves the first untouched', async () => {
    const store = newStore();
    const first = newRequest();
    await store.createRequest(first, receivedEvent(first));
    const impostor = newRequest({ requestId: first.requestId, channel: 'ops' });

    await expect(store.createRequest(impostor, receivedEvent(impostor))).rejects.toBeInstanceOf(RequestAlreadyExistsError);

    expect(await store.getRequest(first.requestId)).toMatchObject({ channel: 'web', subjectHash: first.subjectHash, lastSeq: 1 });
    expect(await store.getTimeline(first.requestId)).toHaveLength(1);
  });

  it('knows nothing of an unknown request', async () => {
    const store = newStore();

    expect(await store.getRequest('req-unknown')).toBeUndefined();
    expect(await store.getTimeline('req-unknown')).toEqual([]);
    await expect(store.appendEvent('req-unknown', note({}))).rejects.toBeInstanceOf(RequestNotFoundError);
  });
});

describe('DynamoAuditStore: appending', () => {
  it('builds a valid chain through a whole lifecycle and keeps the projection in step', async () => {
    const store = newStore();
    const input = newRequest();
    await store.createRequest(input, receivedEvent(input));

    await store.appendEvent(input.requestId, transition('AWAITING_VERIFICATION'));
    await store.appendEvent(input.requestId, transition('VERIFIED', { actor: 'subject' }));
    const queued = await store.appendEvent(input.requestId, transition('QUEUED'));
    await store.appendEvent(input.requestId, transition('SUBMITTED', { patch: { koreRequestId: 'eud-123' }, details: { koreRequestId: 'eud-123' } }));
    await store.appendEvent(input.requestId, transition('IN_PROGRESS', { details: { koreStatus: 'in-progress' } }));
    const done = await store.appendEvent(
      input.requestId,
      transition('COMPLETED', { patch: { completedAt: '2026-03-12T08:00:00.000Z', subjectCipher: null } }),
    );

    expect(queued.request).toMatchObject({ status: 'QUEUED', attempt: 1 });
    expect(queued.event).toMatchObject({ type: 'ERASURE_QUEUED', attempt: 1, seq: 4 });
    const stored = await store.getRequest(input.requestId);
    expect(stored).toEqual(done.request);
    expect(stored).toMatchObject({ status: 'COMPLETED', attempt: 1, koreRequestId: 'eud-123', completedAt: '2026-03-12T08:00:00.000Z', lastSeq: 7, lastHash: done.event.hash });
    const timeline = await store.getTimeline(input.requestId);
    expect(timeline.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(timeline.map((e) => e.status)).toEqual(['RECEIVED', 'AWAITING_VERIFICATION', 'VERIFIED', 'QUEUED', 'SUBMITTED', 'IN_PROGRESS', 'COMPLETED']);
    expect(verifyChain(input.requestId, timeline)).toMatchObject({ ok: true, checked: 7, headHash: done.event.hash });
  });

  it('returns events with exactly the fields of an audit event', async () => {
    const store = newStore();
    const input = newRequest();
    await store.createRequest(input, receivedEvent(input));
    await store.appendEvent(input.requestId, transition('AWAITING_VERIFICATION', { patch: { failureReason: 'none' } }));

    for (const event of await store.getTimeline(input.requestId)) expect(Object.keys(event).sort()).toEqual(EVENT_KEYS);
  });

  it('refuses an illegal transition from build and writes nothing', async () => {
    const store = newStore();
    const input = newRequest();
    await store.createRequest(input, receivedEvent(input));
    const before = await store.getRequest(input.requestId);

    await expect(store.appendEvent(input.requestId, transition('COMPLETED'))).rejects.toBeInstanceOf(IllegalTransitionError);

    expect(await store.getRequest(input.requestId)).toEqual(before);
    expect(await store.getTimeline(input.requestId)).toHaveLength(1);
  });

  it('keeps the encrypted subject id while open and removes it when a patch says null', async () => {
    const store = newStore();
    const input = newRequest({ subjectCipher: 'cipher:abc' });
    await store.createRequest(input, receivedEvent(input));
    expect(await store.getRequest(input.requestId)).toMatchObject({ subjectCipher: 'cipher:abc' });

    const dropped = await store.appendEvent(input.requestId, (current) => ({
      event: { type: 'SUBJECT_ID_DROPPED', at: '2026-03-11T10:00:00.000Z', actor: 'system:test', attempt: current.attempt, status: current.status, details: {} },
      patch: { subjectCipher: null },
    }));

    expect(dropped.request).not.toHaveProperty('subjectCipher');
    expect(await store.getRequest(input.requestId)).not.toHaveProperty('subjectCipher');
    const raw = await db.client.send(new GetCommand({ TableName: db.tableName, Key: { pk: `REQ#${input.requestId}`, sk: 'META' }, ConsistentRead: true }));
    expect(raw.Item).not.toHaveProperty('subjectCipher');
  });

  it('gives every item of a request one retention TTL, from receipt, and keeps it out of the model', async () => {
    const store = new DynamoAuditStore({ client: db.client, tableName: db.tableName, clock: fixedClock, retentionDays: 10 });
    const input = newRequest({ receivedAt: '2026-03-10T00:00:00.000Z' });
    await store.createRequest(input, receivedEvent(input));
    await store.appendEvent(input.requestId, note({ step: 1 }));
    const expected = Date.parse('2026-03-10T00:00:00.000Z') / 1000 + (10 + 92) * 86_400;

    const meta = await db.client.send(new GetCommand({ TableName: db.tableName, Key: { pk: `REQ#${input.requestId}`, sk: 'META' }, ConsistentRead: true }));
    const second = await db.client.send(new GetCommand({ TableName: db.tableName, Key: { pk: `REQ#${input.requestId}`, sk: 'EVT#00000002' }, ConsistentRead: true }));
    expect(meta.Item!.expiresAt).toBe(expected);
    expect(second.Item!.expiresAt).toBe(expected);
    expect(await store.getRequest(input.requestId)).not.toHaveProperty('expiresAt');
    const timeline = await store.getTimeline(input.requestId);
    expect(timeline.every((e) => !('expiresAt' in e))).toBe(true);
    expect(verifyChain(input.requestId, timeline).ok).toBe(true);
  });

  it('writes no TTL when no retention is configured', async () => {
    const store = newStore();
    const input = newRequest();
    await store.createRequest(input, receivedEvent(input));
    const meta = await db.client.send(new GetCommand({ TableName: db.tableName, Key: { pk: `REQ#${input.requestId}`, sk: 'META' }, ConsistentRead: true }));
    expect(meta.Item).not.toHaveProperty('expiresAt');
  });

  it('never copies a new encrypted subject id onto the permanent event item', async () => {
    const store = newStore();
    const input = newRequest();
    await store.createRequest(input, receivedEvent(input));

    const { event } = await store.appendEvent(input.requestId, note({ step: 'recipher' }));
    await store.appendEvent(input.requestId, (current) => ({
      event: { type: 'NOTICE_SENT', at: '2026-03-11T10:00:00.000Z', actor: 'system:test', attempt: current.attempt, status: current.status, details: {} },
      patch: { subjectCipher: 'cipher:rotated', failureReason: 'x' },
    }));

    const raw = await db.client.send(new GetCommand({ TableName: db.tableName, Key: { pk: `REQ#${input.requestId}`, sk: 'EVT#00000003' }, ConsistentRead: true }));
    expect(JSON.stringify(raw.Item)).not.toContain('cipher:rotated');
    expect(await store.getRequest(input.requestId)).toMatchObject({ subjectCipher: 'cipher:rotated', failureReason: 'x' });
    expect(event.seq).toBe(2);
  });
});

describe('DynamoAuditStore: appending on what the caller has just written', () => {
  it('skips the read when given the request createRequest returned: one Put and one Update', async () => {
    const sent: string[] = [];
    const store = newStore(interceptingClient(db.client, (command) => void sent.push(command.constructor.name)));
    const input = newRequest();
    const { request: created } = await store.createRequest(input, receivedEvent(input));
    sent.length = 0;
    const { request, event } = await store.appendEvent(input.requestId, transition('AWAITING_VERIFICATION'), { current: created });
    expect(sent).toEqual(['PutCommand', 'UpdateCommand']);
    expect(event).toMatchObject({ seq: 2, prevHash: created.lastHash });
    expect(request).toMatchObject({ status: 'AWAITING_VERIFICATION', lastSeq: 2 });
    expect(verifyChain(input.requestId, await store.getTimeline(input.requestId))).toMatchObject({ ok: true });
  });

  it('falls back to a fresh read when the chain moved on after the given request, and builds again on it', async () => {
    const store = newStore();
    const input = newRequest();
    const { request: created } = await store.createRequest(input, receivedEvent(input));
    await store.appendEvent(input.requestId, transition('AWAITING_VERIFICATION'));
    const seen: string[] = [];
    const { event } = await store.appendEvent(
      input.requestId,
      (current) => {
        seen.push(current.status);
        return { event: { type: 'NOTICE_SENT', at: '2026-03-11T11:00:00.000Z', actor: 'system:test', attempt: current.attempt, status: current.status, details: {} } };
      },
      { current: created },
    );
    expect(seen).toEqual(['RECEIVED', 'AWAITING_VERIFICATION']);
    expect(event).toMatchObject({ seq: 3, status: 'AWAITING_VERIFICATION' });
    const timeline = await store.getTimeline(input.requestId);
    expect(timeline.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(verifyChain(input.requestId, timeline)).toMatchObject({ ok: true });
  });
});

describe('DynamoAuditStore: projection repair', () => {
  it('replays an event whose writer died before updating the projection', async () => {
    const input = newRequest();
    await newStore().createRequest(input, receivedEvent(input));
    await newStore().appendEvent(input.requestId, transition('AWAITING_VERIFICATION'));
    await newStore().appendEvent(input.requestId, transition('VERIFIED'));
    const dying = newStore(
      interceptingClient(db.client, (command) => {
        if (isMetaUpdate(command)) throw new Error('container frozen');
      }),
    );

    await expect(dying.appendEvent(input.requestId, transition('QUEUED', { patch: { subjectCipher: null } }))).rejects.toBeInstanceOf(StoreError);
    const stale = await db.client.send(new GetCommand({ TableName: db.tableName, Key: { pk: `REQ#${input.requestId}`, sk: 'META' }, ConsistentRead: true }));
    expect(stale.Item).toMatchObject({ status: 'VERIFIED', lastSeq: 3, attempt: 0 });
    // Reads already tell the chain's truth, before any repair is written.
    expect(await newStore().getRequest(input.requestId)).toMatchObject({ status: 'QUEUED', lastSeq: 4, attempt: 1 });

    const repair = await newStore().repairProjection(input.requestId);

    expect(repair.repaired).toBe(true);
    const stored = await newStore().getRequest(input.requestId);
    expect(stored).toEqual(repair.request);
    expect(stored).toMatchObject({ status: 'QUEUED', lastSeq: 4, attempt: 1 });
    expect(stored).not.toHaveProperty('subjectCipher');
    expect(await newStore().repairProjection(input.requestId)).toMatchObject({ repaired: false });
  });

  it('lets the next writer build on the events the projection missed', async () => {
    const input = newRequest();
    await newStore().createRequest(input, receivedEvent(input));
    await newStore().appendEvent(input.requestId, transition('VERIFIED'));
    const dying = newStore(
      interceptingClient(db.client, (command) => {
        if (isMetaUpdate(command)) throw new Error('container frozen');
      }),
    );
    await expect(dying.appendEvent(input.requestId, transition('QUEUED'))).rejects.toThrow();
    let seen: string | undefined;

    const next = await newStore().appendEvent(input.requestId, (current) => {
      seen = current.status;
      return transition('SUBMITTED', { patch: { koreRequestId: 'eud-9' } })(current);
    });

    expect(seen).toBe('QUEUED');
    expect(next.event.seq).toBe(4);
    expect(await newStore().getRequest(input.requestId)).toMatchObject({ status: 'SUBMITTED', attempt: 1, koreRequestId: 'eud-9', lastSeq: 4 });
    expect(verifyChain(input.requestId, await newStore().getTimeline(input.requestId)).ok).toBe(true);
  });

  it('refuses to append after an event that does not chain onto the projection', async () => {
    const store = newStore();
    const input = newRequest();
    const { event } = await store.createRequest(input, receivedEvent(input));
    const forged: AuditEvent = { ...chainEvent(input.requestId, event, { type: 'NOTICE_SENT', at: '2026-03-11T10:00:00.000Z', actor: 'system:forger', attempt: 0, status: 'RECEIVED', details: {} }) };
    await db.client.send(new PutCommand({ TableName: db.tableName, Item: { ...forged, prevHash: 'f'.repeat(64), pk: `REQ#${input.requestId}`, sk: 'EVT#00000002' } }));

    await expect(store.appendEvent(input.requestId, note({}))).rejects.toBeInstanceOf(ChainIntegrityError);
    expect(await store.getTimeline(input.requestId)).toHaveLength(2);
  });
});
