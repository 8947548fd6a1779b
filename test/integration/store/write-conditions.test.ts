/**
 * Every write the DynamoDB adapters really send, recorded on the way to dynalite while a request
 * is created, moved through its lifecycle and ended, its claim taken and released, a link token
 * consumed, a rate window counted and a snapshot written: no PutItem without a condition, no
 * update of an event item, no delete. (test/unit/adapters/dynamo/conditional-writes.test.ts checks the source.)
 */
import { randomUUID } from 'node:crypto';
import { BatchWriteCommand, DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoAdapters } from '../../../functions/adapters/dynamo/adapters';
import { startDynalite, type DynaliteHandle } from '../../support/dynalite';
import { interceptingClient, newRequest, newSubjectHash, note, receivedEvent, transition, type SentCommand } from './fixtures';

let db: DynaliteHandle;
const sent: SentCommand[] = [];

beforeAll(async () => {
  db = await startDynalite();
  const tableName = await db.createTable();
  const client = interceptingClient(db.client, (command) => void sent.push(command));
  const clock = { now: () => new Date('2026-03-11T12:00:00.000Z') };
  const { store, claims, tokens, rateLimiter, snapshots } = createDynamoAdapters({ client, tableName, clock, retentionDays: 30 });

  const request = newRequest();
  await claims.claimOpenRequest(request.subjectHash, request.scopeKey, request.requestId);
  await store.createRequest(request, receivedEvent(request));
  await rateLimiter.hit('ip:203.0.113.9', 3600, 10, clock.now());
  await store.appendEvent(request.requestId, transition('AWAITING_VERIFICATION'));
  await tokens.consumeToken(randomUUID(), new Date('2026-03-11T12:30:00.000Z'));
  await store.appendEvent(request.requestId, transition('VERIFIED'));
  await store.appendEvent(request.requestId, note({ kind: 'confirmation' }));
  await store.appendEvent(request.requestId, transition('CANCELLED', { patch: { subjectCipher: null } }));
  await claims.releaseOpenRequest(request.subjectHash, request.scopeKey, request.requestId);
  await snapshots.writeSnapshot('20260311T120000Z-abc', { version: '20260311T120000Z-abc', takenAt: '2026-03-11T12:00:00.000Z', userCount: 1, identityCount: 1 }, [
    { subjectHash: newSubjectHash(), accountOwner: true, accountMember: true, ownedBotIds: [], coDeveloperBotIds: [] },
  ]);
});

afterAll(async () => {
  await db?.stop();
});

const key = (c: SentCommand) => (c.input.Key ?? c.input.Item) as { pk: string; sk: string };

describe('writes the adapters send', () => {
  it('covers events, META, claims, tokens, rate windows and the snapshot', () => {
    const kinds = new Set(sent.filter((c) => c instanceof PutCommand || c instanceof UpdateCommand).map((c) => `${key(c).pk.replace(/#.*/, '#')} ${key(c).sk.replace(/#.*/, '#')}`));
    expect([...kinds].sort()).toEqual(['RATE# W#', 'REQ# EVT#', 'REQ# META', 'SNAPSHOT CURRENT', 'SUBJECT# OPEN#', 'TOKEN# USED']);
  });

  it('puts every item on a condition, and an event item only where none exists', () => {
    for (const put of sent.filter((c) => c instanceof PutCommand)) {
      expect({ key: key(put), condition: put.input.ConditionExpression }).toEqual({ key: key(put), condition: expect.any(String) });
      if (key(put).sk.startsWith('EVT#')) expect(put.input.ConditionExpression).toBe('attribute_not_exists(#pk)');
    }
  });

  it('never updates an event item, and updates META only on a condition', () => {
    const updates = sent.filter((c) => c instanceof UpdateCommand);
    expect(updates.some((u) => key(u).sk.startsWith('EVT#'))).toBe(false);
    for (const update of updates.filter((u) => key(u).sk === 'META')) expect(update.input.ConditionExpression).toBe('attribute_exists(#pk) AND #lastSeq < :seq');
  });

  it('deletes nothing: a released claim is marked, not deleted', () => {
    expect(sent.filter((c) => c instanceof DeleteCommand)).toEqual([]);
    expect(sent.filter((c) => c instanceof UpdateCommand && key(c).pk.startsWith('SUBJECT#'))).toHaveLength(1);
  });

  it('batch-writes only privileged identities of the snapshot', () => {
    const batches = sent.filter((c) => c instanceof BatchWriteCommand);
    expect(batches).toHaveLength(1);
    const requests = Object.values(batches[0]!.input.RequestItems as Record<string, Array<{ PutRequest?: { Item: { pk: string } } }>>).flat();
    expect(requests.every((r) => r.PutRequest?.Item.pk.startsWith('PRIV#'))).toBe(true);
  });
});
