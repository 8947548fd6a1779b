import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SnapshotExpiredError } from '../../../functions/adapters/dynamo/errors';
import { DynamoSnapshotStore } from '../../../functions/adapters/dynamo/snapshot-store';
import type { PrivilegedIdentity, SnapshotInfo } from '../../../functions/domain/model';
import { startDynalite, type DynaliteHandle } from '../../support/dynalite';
import { newSubjectHash } from './fixtures';

let db: DynaliteHandle;
let tableName: string;

beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db?.stop();
});
// The pointer item is one per table: each test gets a table of its own.
beforeEach(async () => {
  tableName = await db.createTable();
});

/** A clock the test moves by hand. */
function manualClock(start: string) {
  let now = Date.parse(start);
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

const info = (version: string, takenAt: string, identityCount = 2): SnapshotInfo => ({ version, takenAt, userCount: 10, identityCount });

function identity(overrides: Partial<PrivilegedIdentity> = {}): PrivilegedIdentity {
  return { subjectHash: newSubjectHash(), accountOwner: false, accountMember: true, ownedBotIds: [], coDeveloperBotIds: [], ...overrides };
}

const storeWith = (clock = manualClock('2026-03-11T12:00:00.000Z'), cacheTtlMs?: number) =>
  new DynamoSnapshotStore({ client: db.client, tableName, clock, cacheTtlMs });

describe('DynamoSnapshotStore', () => {
  it('has no current snapshot before the first refresh', async () => {
    expect(await storeWith().getCurrentSnapshot()).toBeUndefined();
  });

  it('writes a snapshot, makes it current and looks identities up in it', async () => {
    const owner = identity({ accountOwner: true, ownedBotIds: ['st-1', 'st-2'] });
    const developer = identity({ coDeveloperBotIds: ['st-3'] });
    const v1 = info('v1', '2026-03-11T11:00:00.000Z');
    const writer = storeWith();

    expect(await writer.writeSnapshot('v1', v1, [owner, developer])).toEqual({ written: 2, current: true });

    const reader = storeWith();
    const current = await reader.getCurrentSnapshot();
    expect(current).toEqual(v1);
    expect(await reader.lookup(current!, owner.subjectHash)).toEqual(owner);
    expect(await reader.lookup(current!, developer.subjectHash)).toEqual(developer);
    expect(await reader.lookup(current!, newSubjectHash())).toBeUndefined();
  });

  it('keeps the account’s bots with the snapshot and tells which of some ids are among them', async () => {
    const v1 = { ...info('v1', '2026-03-11T11:00:00.000Z'), botCount: 2 };
    const store = storeWith();
    expect(await store.writeSnapshot('v1', v1, [identity()], ['st-a', 'st-b'])).toEqual({ written: 3, current: true });

    const current = await storeWith().getCurrentSnapshot();
    expect(current).toEqual(v1);
    expect(await store.knownBots(current!, ['st-b', 'st-made-up', 'st-a', 'st-b'])).toEqual(new Set(['st-a', 'st-b']));
    // Another version knows its own bots only.
    await store.writeSnapshot('v2', { ...info('v2', '2026-03-11T11:30:00.000Z'), botCount: 1 }, [], ['st-c']);
    expect(await store.knownBots(current!, ['st-c'])).toEqual(new Set());
  });

  it('knows no bot in a snapshot written without a bot list, and refuses an expired one', async () => {
    const clock = manualClock('2026-03-11T12:00:00.000Z');
    const store = storeWith(clock);
    const old = info('v1', '2026-03-11T11:00:00.000Z');
    await store.writeSnapshot('v1', old, [identity()], ['st-a']);
    expect(await store.knownBots(old, ['st-a'])).toEqual(new Set());
    clock.advance(8 * 24 * 3600 * 1000);
    await expect(store.knownBots({ ...old, botCount: 1 }, ['st-a'])).rejects.toBeInstanceOf(SnapshotExpiredError);
  });

  it('looks up in the version asked for, not in any other', async () => {
    const former = identity({ ownedBotIds: ['st-old'] });
    const store = storeWith();
    await store.writeSnapshot('v1', info('v1', '2026-03-11T10:00:00.000Z'), [former]);
    await store.writeSnapshot('v2', info('v2', '2026-03-11T11:00:00.000Z'), [identity()]);

    const current = await storeWith().getCurrentSnapshot();

    expect(current?.version).toBe('v2');
    expect(await store.lookup(current!, former.subjectHash)).toBeUndefined();
    expect(await store.lookup(info('v1', '2026-03-11T10:00:00.000Z'), former.subjectHash)).toEqual(former);
  });

  it('keeps the newest snapshot current when an older refresh finishes last', async () => {
    const store = storeWith();
    await store.writeSnapshot('v2', info('v2', '2026-03-11T11:00:00.000Z'), [identity()]);

    const late = await store.writeSnapshot('v1', info('v1', '2026-03-11T10:00:00.000Z'), [identity()]);

    expect(late).toEqual({ written: 1, current: false });
    expect((await storeWith().getCurrentSnapshot())?.version).toBe('v2');
    expect((await store.getCurrentSnapshot())?.version).toBe('v2');
  });

  it('accepts the same version written again (a retried refresh)', async () => {
    const store = storeWith();
    const v1 = info('v1', '2026-03-11T11:00:00.000Z', 1);
    await store.writeSnapshot('v1', v1, [identity()]);

    expect(await store.writeSnapshot('v1', v1, [identity()])).toEqual({ written: 1, current: true });
  });

  it('serves the cached pointer until the cache expires', async () => {
    const clock = manualClock('2026-03-11T12:00:00.000Z');
    const reader = storeWith(clock, 30_000);
    await storeWith().writeSnapshot('v1', info('v1', '2026-03-11T10:00:00.000Z'), [identity()]);
    expect((await reader.getCurrentSnapshot())?.version).toBe('v1');
    await storeWith().writeSnapshot('v2', info('v2', '2026-03-11T11:00:00.000Z'), [identity()]);

    clock.advance(29_000);
    expect((await reader.getCurrentSnapshot())?.version).toBe('v1');
    clock.advance(1_000);
    expect((await reader.getCurrentSnapshot())?.version).toBe('v2');
  });

  it('refuses to vouch from a snapshot older than its retention', async () => {
    const clock = manualClock('2026-03-11T12:00:00.000Z');
    const store = new DynamoSnapshotStore({ client: db.client, tableName, clock, retentionSeconds: 3600 });
    const owner = identity({ accountOwner: true });
    const v1 = info('v1', '2026-03-11T11:30:00.000Z');
    await store.writeSnapshot('v1', v1, [owner]);
    expect(await store.lookup(v1, owner.subjectHash)).toEqual(owner);

    clock.advance(30 * 60 * 1000);

    await expect(store.lookup(v1, owner.subjectHash)).rejects.toBeInstanceOf(SnapshotExpiredError);
  });

  it.each([
    { name: 'a version that differs from its info', version: 'v1', snapshot: info('v2', '2026-03-11T11:00:00.000Z') },
    { name: 'a version with a separator', version: 'v#1', snapshot: info('v#1', '2026-03-11T11:00:00.000Z') },
    { name: 'a takenAt that is no date', version: 'v1', snapshot: info('v1', 'yesterday') },
  ])('refuses $name and writes nothing current', async ({ version, snapshot }) => {
    const store = storeWith();

    await expect(store.writeSnapshot(version, snapshot, [identity()])).rejects.toBeInstanceOf(RangeError);
    expect(await storeWith().getCurrentSnapshot()).toBeUndefined();
  });

  // 5,000 rather than the 50,000 of a large account: dynalite spends ~0.5–1 ms of CPU per item
  // (50,000 took 40–50 s here); the code path is the same at any size.
  it('writes a snapshot of 5,000 identities and finds any of them with one read', async () => {
    const count = 5_000;
    const hashOf = (i: number) => createHash('sha256').update(`user-${i}`).digest('hex');
    function* identities(): Generator<PrivilegedIdentity> {
      for (let i = 0; i < count; i++) {
        yield { subjectHash: hashOf(i), accountOwner: i === 0, accountMember: true, ownedBotIds: i % 1000 === 1 ? [`st-${i}`] : [], coDeveloperBotIds: i % 7 === 0 ? ['st-shared'] : [] };
      }
    }
    const big = info('big', '2026-03-11T11:00:00.000Z', count);
    const store = storeWith();

    const started = performance.now();
    const result = await store.writeSnapshot('big', big, identities());
    const seconds = (performance.now() - started) / 1000;
    console.info(`wrote ${count} snapshot identities in ${seconds.toFixed(1)} s`);

    expect(result).toEqual({ written: count, current: true });
    const current = await storeWith().getCurrentSnapshot();
    expect(current).toEqual(big);
    expect(await store.lookup(current!, hashOf(0))).toMatchObject({ accountOwner: true });
    expect(await store.lookup(current!, hashOf(1001))).toMatchObject({ ownedBotIds: ['st-1001'], coDeveloperBotIds: ['st-shared'] });
    expect(await store.lookup(current!, hashOf(4001))).toMatchObject({ ownedBotIds: ['st-4001'], coDeveloperBotIds: [] });
    expect(await store.lookup(current!, hashOf(count - 1))).toMatchObject({ accountOwner: false, ownedBotIds: [], coDeveloperBotIds: [] });
    expect(await store.lookup(current!, hashOf(count))).toBeUndefined();
  });
});
