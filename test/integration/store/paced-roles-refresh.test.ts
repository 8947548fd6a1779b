/**
 * The paced roles refresh against dynalite and the Kore.ai simulator enforcing the documented
 * limits, on one manual clock: pages within the call budget, a cursor that carries a refresh
 * across runs, and a new snapshot that becomes current only once complete.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DynamoCallBudget } from '../../../functions/adapters/dynamo/call-budget-store';
import { DynamoRefreshCursors } from '../../../functions/adapters/dynamo/refresh-cursor-store';
import { DynamoSnapshotStore } from '../../../functions/adapters/dynamo/snapshot-store';
import { readRolePaging } from '../../../functions/adapters/kore/role-paging-settings';
import { ceilingOf, defaultCallBudgetPolicy } from '../../../functions/domain/call-budget';
import { deriveKeys, hashSubject, normaliseSubjectId } from '../../../functions/domain/subject';
import { pageRolesSnapshot, type RolePagingDeps } from '../../../functions/workflow/page-roles-snapshot';
import { DEMO_BOT_OWNERS } from '../../../infra/local/kore-sim';
import { startDynalite, type DynaliteHandle } from '../../support/dynalite';
import { manualClock, startPair, type Pair } from '../kore/fixtures';

let db: DynaliteHandle;
let pair: Pair | undefined;
beforeAll(async () => {
  db = await startDynalite();
});
afterEach(async () => {
  await pair?.sim.stop();
  pair = undefined;
});
afterAll(async () => db?.stop());

const keys = deriveKeys('s'.repeat(32));
const policy = defaultCallBudgetPolicy();
const MINUTE = 60_000;

async function setup(users: number, clientSecret?: string) {
  const clock = manualClock(Date.parse('2026-03-10T09:00:00.000Z'));
  pair = await startPair({ account: { generatedUsers: users, seed: 3 }, now: clock.nowMs }, { clock, ...(clientSecret ? { clientSecret } : {}) });
  const tableName = await db.createTable();
  const snapshots = new DynamoSnapshotStore({ client: db.client, tableName, clock, cacheTtlMs: 0 });
  const deps: RolePagingDeps = {
    kore: pair.client,
    snapshots,
    cursors: new DynamoRefreshCursors({ client: db.client, tableName }),
    budget: new DynamoCallBudget({ client: db.client, tableName, policy, clock }),
    subjectKeys: keys,
    clock,
    ...readRolePaging(policy, { ROLES_REFRESH_RUN_SECONDS: '30' }),
    // Waiting for a turn moves the shared clock, as the time would pass.
    sleep: async (ms) => clock.advance(ms),
  };
  // A complete snapshot from two hours ago is in use.
  const old = { version: 'old-v1', takenAt: new Date(clock.nowMs() - 2 * 3_600_000).toISOString(), userCount: 8, identityCount: 0, botCount: 0 };
  await snapshots.writeSnapshot(old.version, old, [], []);
  return { clock, deps, snapshots, old };
}

describe('the paced roles refresh', () => {
  it('pages a 3,000-user account within the budget over several runs, publishing the new snapshot only when complete', async () => {
    const { clock, deps, snapshots, old } = await setup(3000);
    const rolesPerMinute = ceilingOf(policy.windows[0]!, policy, 'roles');

    const first = await pageRolesSnapshot(deps);
    expect(first).toMatchObject({ outcome: 'paging', pagesThisRun: rolesPerMinute, cursor: { offset: rolesPerMinute * 50, total: 3000 } });
    expect(await snapshots.getCurrentSnapshot()).toMatchObject({ version: old.version });

    const runs = [first];
    for (let i = 0; i < 10 && runs.at(-1)!.outcome !== 'published'; i++) {
      clock.advance(5 * MINUTE); // the next scheduled run
      runs.push(await pageRolesSnapshot(deps));
    }
    const last = runs.at(-1)!;
    expect(last.outcome).toBe('published');
    expect(runs.reduce((n, r) => n + r.pagesThisRun, 0)).toBe(60);
    expect(await snapshots.getCurrentSnapshot()).toMatchObject({ version: last.current!.version, userCount: 3000, takenAt: new Date(Date.parse('2026-03-10T09:00:00.000Z')).toISOString() });
    // A bot owner is found in the new snapshot.
    const owner = hashSubject(normaliseSubjectId(DEMO_BOT_OWNERS[0]!.email, 'email')!, keys.hmacKey);
    expect(await snapshots.lookup(last.current!, owner)).toMatchObject({ ownedBotIds: expect.arrayContaining([...DEMO_BOT_OWNERS[0]!.botIds]) });
    // The account never refused a page: the refresh stayed within the budget's share.
    const calls = pair!.sim.calls();
    expect(calls.filter((c) => c.outcome === 'rate-limited')).toEqual([]);
    expect(calls).toHaveLength(60);
  });

  it('starts no new refresh before its interval, and one on demand', async () => {
    const { clock, deps } = await setup(40);
    expect((await pageRolesSnapshot(deps)).outcome).toBe('published');

    clock.advance(30 * MINUTE);
    expect((await pageRolesSnapshot(deps)).outcome).toBe('idle');
    expect((await pageRolesSnapshot(deps, { onDemand: true })).outcome).toBe('published');
    clock.advance(61 * MINUTE);
    expect((await pageRolesSnapshot(deps)).outcome).toBe('published');
  });

  it('gives a refresh up on a permanent error, keeping the last complete snapshot current', async () => {
    const { deps, snapshots, old } = await setup(40, 'x'.repeat(40));

    await expect(pageRolesSnapshot(deps)).rejects.toMatchObject({ name: 'KoreAuthError' });
    expect(await snapshots.getCurrentSnapshot()).toMatchObject({ version: old.version });
    expect(await deps.cursors.active()).toBeUndefined();
  });

  it('lets one of two runs at once page; the other gives way without fetching a page', async () => {
    const { clock, deps } = await setup(3000);
    const first = await pageRolesSnapshot(deps);
    clock.advance(5 * MINUTE);

    const runs = await Promise.all([pageRolesSnapshot(deps), pageRolesSnapshot(deps)]);

    // The run holding the lease pages until the budget has no turn before its end; the other
    // finds the lease held past its own end and leaves the rest to the next run.
    const gaveWay = runs.filter((r) => r.stoppedBy === 'RefreshPagedElsewhere');
    expect(gaveWay).toHaveLength(1);
    expect(gaveWay[0]!.pagesThisRun).toBe(0);
    const winner = runs.find((r) => r !== gaveWay[0])!;
    expect((await deps.cursors.active())?.pages).toBe(first.pagesThisRun + winner.pagesThisRun);
    // Every call the account saw is a page of the cursor: none fetched twice.
    expect(pair!.sim.calls()).toHaveLength(first.pagesThisRun + winner.pagesThisRun);
  });
});

describe('the lease on the refresh cursor', () => {
  const cursor = { version: 'v1', startedAt: '2026-03-10T09:00:00.000Z', offset: 0, total: 0, pages: 0, userCount: 0, identityCount: 0, botIds: [], reason: 'schedule' as const };

  it('is held by one run until it runs out or is given back, and kept when the cursor moves', async () => {
    const cursors = new DynamoRefreshCursors({ client: db.client, tableName: await db.createTable() });
    expect(await cursors.start(cursor, { owner: 'a', until: 2_000 })).toBe(true);

    expect(await cursors.lease({ owner: 'b', until: 5_000 }, 1_000)).toEqual({ held: false, until: 2_000 });
    const moved = { ...cursor, offset: 50, pages: 1, total: 100 };
    expect(await cursors.advance(cursor, moved, true, { owner: 'a', until: 2_000 })).toBe(true);
    expect(await cursors.lease({ owner: 'b', until: 5_000 }, 1_999)).toEqual({ held: false, until: 2_000 });
    // Run out: the next run takes it, with the cursor as the last holder left it.
    expect(await cursors.lease({ owner: 'b', until: 5_000 }, 2_000)).toEqual({ held: true, cursor: moved });
    expect(await cursors.lease({ owner: 'a', until: 9_000 }, 2_500)).toEqual({ held: false, until: 5_000 });
    // Given back: at once.
    await cursors.release('a');
    expect(await cursors.lease({ owner: 'c', until: 9_000 }, 2_500)).toEqual({ held: false, until: 5_000 });
    await cursors.release('b');
    expect(await cursors.lease({ owner: 'c', until: 9_000 }, 2_500)).toEqual({ held: true, cursor: moved });
    // Ended: nothing to lease.
    expect(await cursors.advance(moved, moved, false)).toBe(true);
    expect(await cursors.lease({ owner: 'd', until: 9_000 }, 2_500)).toEqual({ held: false, ended: true });
  });

  it('goes to one of several runs asking at once', async () => {
    const cursors = new DynamoRefreshCursors({ client: db.client, tableName: await db.createTable() });
    await cursors.start(cursor, { owner: 'a', until: 1_000 });

    const answers = await Promise.all(['b', 'c', 'd', 'e'].map((owner) => cursors.lease({ owner, until: 9_000 }, 2_000)));

    expect(answers.filter((a) => a.held)).toHaveLength(1);
    for (const a of answers) if (!a.held) expect(a).toEqual({ held: false, until: 9_000 });
  });
});
