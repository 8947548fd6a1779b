import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoAuditStore } from '../../../functions/adapters/dynamo/audit-store';
import { InvalidCursorError } from '../../../functions/adapters/dynamo/errors';
import type { ErasureRequest } from '../../../functions/domain/model';
import type { ListByStatusQuery } from '../../../functions/domain/ports';
import { startDynalite, type DynaliteHandle } from '../../support/dynalite';
import { newRequest, newSubjectHash, receivedEvent, transition } from './fixtures';

let db: DynaliteHandle;
let store: DynamoAuditStore;
/** The ids of the seeded RECEIVED requests, oldest first (the listing tests only read). */
let seededIds: string[];

beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db?.stop();
});

async function create(receivedAt: string, requestId?: string, subjectHash?: string): Promise<ErasureRequest> {
  const input = newRequest({ receivedAt, ...(requestId ? { requestId } : {}), ...(subjectHash ? { subjectHash } : {}) });
  return (await store.createRequest(input, receivedEvent(input))).request;
}

/** Ten RECEIVED requests over ten days (two sharing a timestamp), plus two that moved on. */
async function seed(): Promise<string[]> {
  const days = ['01', '02', '03', '04', '05', '05', '06', '07', '08', '09'];
  const ids = days.map((day, i) => `req-${day}-${String.fromCharCode(97 + i)}`);
  await Promise.all(days.map((day, i) => create(`2026-03-${day}T10:00:00.000Z`, ids[i])));
  for (const moved of [await create('2026-03-04T12:00:00.000Z'), await create('2026-03-20T12:00:00.000Z')]) {
    await store.appendEvent(moved.requestId, transition('AWAITING_VERIFICATION'));
  }
  return ids;
}

async function listAll(query: Omit<ListByStatusQuery, 'cursor'>): Promise<{ ids: string[]; pages: number[] }> {
  const ids: string[] = [];
  const pages: number[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listByStatus({ ...query, cursor });
    ids.push(...page.items.map((r) => r.requestId));
    pages.push(page.items.length);
    cursor = page.cursor;
  } while (cursor);
  return { ids, pages };
}

describe('DynamoAuditStore.listByStatus', () => {
  // One seeded table of its own: counts never depend on another test, and nothing here writes.
  beforeAll(async () => {
    store = new DynamoAuditStore({ client: db.client, tableName: await db.createTable() });
    seededIds = await seed();
  });

  it('pages through one status oldest first in a stable order, ties broken by id', async () => {
    const ids = seededIds;

    const { ids: listed, pages } = await listAll({ status: 'RECEIVED', limit: 3 });

    expect(listed).toEqual(ids);
    expect(pages).toEqual([3, 3, 3, 1]);
  });

  it('pages newest first when asked', async () => {
    const ids = seededIds;

    const { ids: listed } = await listAll({ status: 'RECEIVED', limit: 4, descending: true });

    expect(listed).toEqual([...ids].reverse());
  });

  it('issues no cursor when the last page is exactly full', async () => {
    const page = await store.listByStatus({ status: 'RECEIVED', limit: 10 });

    expect(page.items).toHaveLength(10);
    expect(page.cursor).toBeUndefined();
  });

  it.each([
    { name: 'inclusive timestamps', from: '2026-03-03T10:00:00.000Z', to: '2026-03-05T10:00:00.000Z', expected: ['req-03-c', 'req-04-d', 'req-05-e', 'req-05-f'] },
    { name: 'a date as upper bound covering the whole day', from: '2026-03-07', to: '2026-03-08', expected: ['req-07-h', 'req-08-i'] },
    { name: 'only a lower bound', from: '2026-03-08T10:00:00.000Z', to: undefined, expected: ['req-08-i', 'req-09-j'] },
    { name: 'only an upper bound', from: undefined, to: '2026-03-02T10:00:00.000Z', expected: ['req-01-a', 'req-02-b'] },
    { name: 'bounds the wrong way round', from: '2026-03-05', to: '2026-03-01', expected: [] },
  ])('filters on receivedAt with $name', async ({ from, to, expected }) => {
    const { ids } = await listAll({ status: 'RECEIVED', from, to, limit: 1 });

    expect(ids).toEqual(expected);
  });

  it('lists only requests currently in the status asked for', async () => {
    const page = await store.listByStatus({ status: 'AWAITING_VERIFICATION' });

    expect(page.items.map((r) => [r.status, r.receivedAt])).toEqual([
      ['AWAITING_VERIFICATION', '2026-03-04T12:00:00.000Z'],
      ['AWAITING_VERIFICATION', '2026-03-20T12:00:00.000Z'],
    ]);
    expect(page.items.every((r) => !('listKey' in r) && !('pk' in r))).toBe(true);
  });

  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  it.each([
    { name: 'not base64url', cursor: 'not a cursor!' },
    { name: 'empty', cursor: '' },
    { name: 'not JSON', cursor: Buffer.from('{nope').toString('base64url') },
    { name: 'an array', cursor: encode([1, 2]) },
    { name: 'an empty object', cursor: encode({}) },
    { name: 'another version', cursor: encode({ v: 2, s: 'RECEIVED', k: '2026-03-01T10:00:00.000Z#req-01-a', d: false }) },
    { name: 'another status', cursor: encode({ v: 1, s: 'FAILED', k: '2026-03-01T10:00:00.000Z#req-01-a', d: false }) },
    { name: 'another direction', cursor: encode({ v: 1, s: 'RECEIVED', k: '2026-03-01T10:00:00.000Z#req-01-a', d: true }) },
    { name: 'a malformed key', cursor: encode({ v: 1, s: 'RECEIVED', k: 'no-separator', d: false }) },
    { name: 'an extra field', cursor: encode({ v: 1, s: 'RECEIVED', k: '2026-03-01T10:00:00.000Z#req-01-a', d: false, x: 1 }) },
  ])('refuses a cursor that is $name with InvalidCursorError', async ({ cursor }) => {
    await expect(store.listByStatus({ status: 'RECEIVED', cursor })).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it('refuses a genuine cursor reused for another status or outside the bounds', async () => {
    const first = await store.listByStatus({ status: 'RECEIVED', limit: 2 });
    expect(first.cursor).toBeDefined();

    await expect(store.listByStatus({ status: 'FAILED', cursor: first.cursor })).rejects.toBeInstanceOf(InvalidCursorError);
    await expect(store.listByStatus({ status: 'RECEIVED', from: '2026-03-06', cursor: first.cursor })).rejects.toBeInstanceOf(InvalidCursorError);
  });
});

describe('DynamoAuditStore.findBySubjectHash', () => {
  beforeEach(async () => {
    store = new DynamoAuditStore({ client: db.client, tableName: await db.createTable() });
  });

  it('finds every request of one subject, newest first, and nobody else’s', async () => {
    const subject = newSubjectHash();
    const older = await create('2026-01-05T08:00:00.000Z', undefined, subject);
    const newest = await create('2026-03-05T08:00:00.000Z', undefined, subject);
    const middle = await create('2026-02-05T08:00:00.000Z', undefined, subject);
    await create('2026-02-06T08:00:00.000Z');
    await store.appendEvent(middle.requestId, transition('CANCELLED'));

    const found = await store.findBySubjectHash(subject);

    expect(found.map((r) => r.requestId)).toEqual([newest.requestId, middle.requestId, older.requestId]);
    expect(found[1]).toMatchObject({ status: 'CANCELLED', lastSeq: 2 });
    expect(await store.findBySubjectHash(newSubjectHash())).toEqual([]);
  });
});
