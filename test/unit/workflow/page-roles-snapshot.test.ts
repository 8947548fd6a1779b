/**
 * The paced roles refresh with fakes: how a group of pages fetched side by side on one budget
 * call becomes the cursor and the snapshot — short pages, failures and refusals inside a group
 * lose no user and count no page twice. (Against dynalite and the simulator's limits:
 * test/integration/store/paced-roles-refresh.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import type { CallBudget, CallPriority } from '../../../functions/domain/call-budget';
import { KorePermanentError, KoreRetryableError, type KorePlatform, type KoreRoleUser, type KoreUserRolesPage } from '../../../functions/domain/kore';
import type { PrivilegedIdentity, SnapshotInfo } from '../../../functions/domain/model';
import type { RefreshCursor, RolePagingPolicy } from '../../../functions/domain/role-paging';
import { deriveKeys } from '../../../functions/domain/subject';
import { pageRolesSnapshot, type LeaseAnswer, type RefreshCursors, type RefreshLease, type RolePagingDeps } from '../../../functions/workflow/page-roles-snapshot';

const T0 = Date.parse('2026-03-10T09:00:00.000Z');
const policy: RolePagingPolicy = { baseIntervalMs: 3_600_000, hourlyShare: 0.25, hourlyAllowance: 1620, hourMs: 3_600_000, pageSize: 50, pagesPerTurn: 10 };

const user = (i: number): KoreRoleUser => ({ userId: `u-${i}`, emailId: `user${i}@example.com`, btRoles: [] });

/** An account of `users` users; `pageAt(offset)` may shorten or fail a page. */
class FakeAccount implements KorePlatform {
  readonly asked: number[] = [];
  constructor(
    readonly users: number,
    readonly pageAt: (offset: number, page: KoreUserRolesPage) => KoreUserRolesPage | Error = (_, page) => page,
  ) {}
  async getUserRoles(offset: number, limit: number): Promise<KoreUserRolesPage> {
    this.asked.push(offset);
    const users = Array.from({ length: Math.max(0, Math.min(limit, this.users - offset)) }, (_, i) => user(offset + i));
    const answer = this.pageAt(offset, { total: this.users, availableMore: offset + users.length < this.users, users });
    if (answer instanceof Error) throw answer;
    return answer;
  }
  eraseUsersData(): never {
    throw new Error('not used');
  }
  getEraseStatus(): never {
    throw new Error('not used');
  }
}

/** Grants from a script of group sizes (`0`: a wait), remembering what was asked. */
class FakeBudget implements CallBudget {
  readonly asked: number[] = [];
  refusals = 0;
  constructor(
    private readonly grants: number[] = [],
    private readonly afterwards: 'grant' | 'wait' = 'grant',
  ) {}
  async take(): Promise<{ granted: true }> {
    return { granted: true };
  }
  async takeUpTo(_priority: CallPriority, most: number) {
    this.asked.push(most);
    const next = this.grants.shift() ?? (this.afterwards === 'wait' ? 0 : undefined);
    if (next === 0) return { granted: false as const, waitMs: 1_000 };
    return { granted: true as const, calls: Math.min(most, next ?? most) };
  }
  async refused() {
    this.refusals++;
    return { waitMs: 1_000 };
  }
}

class FakeSnapshots {
  readonly users = new Set<string>();
  readonly written: string[] = [];
  current: SnapshotInfo | undefined;
  async writeSnapshot(version: string, info: SnapshotInfo, identities: Iterable<PrivilegedIdentity>, _bots?: Iterable<string>, options?: { publish?: boolean }) {
    for (const identity of identities) this.written.push(identity.subjectHash);
    if (options?.publish !== false) this.current = info;
    return { version };
  }
  async getCurrentSnapshot() {
    return this.current;
  }
}

/** The cursor with its lease, as DynamoRefreshCursors keeps them. */
class FakeCursors implements RefreshCursors {
  cursor: (RefreshCursor & { active: boolean }) | undefined;
  lessee: RefreshLease | undefined;
  advances = 0;
  async active() {
    return this.cursor?.active ? { ...this.cursor } : undefined;
  }
  async start(cursor: RefreshCursor, lease: RefreshLease) {
    if (this.cursor?.active) return false;
    this.cursor = { ...cursor, active: true };
    this.lessee = { ...lease };
    return true;
  }
  async advance(from: RefreshCursor, to: RefreshCursor, active = true, lease?: RefreshLease) {
    if (!this.cursor?.active || this.cursor.version !== from.version || this.cursor.pages !== from.pages) return false;
    this.advances++;
    this.cursor = { ...to, active };
    if (lease) this.lessee = { ...lease };
    return true;
  }
  async lease(lease: RefreshLease, nowMs: number): Promise<LeaseAnswer> {
    if (!this.cursor?.active) return { held: false, ended: true };
    if (this.lessee && this.lessee.owner !== lease.owner && this.lessee.until > nowMs) return { held: false, until: this.lessee.until };
    this.lessee = { ...lease };
    return { held: true, cursor: { ...this.cursor } };
  }
  async release(owner: string) {
    if (this.lessee?.owner === owner) this.lessee = { owner, until: 0 };
  }
}

/** A clock that moves only when the refresh sleeps. */
function manualClock() {
  let at = T0;
  return { now: () => new Date(at), advance: (ms: number) => void (at += ms) };
}

function setup(kore: FakeAccount, budget = new FakeBudget()) {
  const clock = manualClock();
  const snapshots = new FakeSnapshots();
  const cursors = new FakeCursors();
  const deps: RolePagingDeps = {
    kore,
    snapshots,
    cursors,
    budget,
    subjectKeys: deriveKeys('k'.repeat(32)),
    clock,
    policy,
    runMs: 60_000,
    sleep: async (ms) => clock.advance(ms),
  };
  return { deps, snapshots, cursors, budget, clock };
}

/** Each of these users is indexed under one identity, the email (every user listed is an account member). */
const identitiesOf = (users: number) => users;

describe('pageRolesSnapshot', () => {
  it('asks one page first, then groups of pages, each page once, and one cursor write a group', async () => {
    const kore = new FakeAccount(1_230);
    const { deps, snapshots, cursors, budget } = setup(kore);

    const report = await pageRolesSnapshot(deps, { onDemand: true });

    expect(report).toMatchObject({ outcome: 'published', pagesThisRun: 25, current: { userCount: 1_230 } });
    expect(budget.asked).toEqual([1, 10, 10, 4]);
    expect(kore.asked).toEqual(Array.from({ length: 25 }, (_, i) => i * 50));
    expect(new Set(snapshots.written).size).toBe(identitiesOf(1_230));
    // One cursor write a group: three moved it on, the last group's ended the refresh.
    expect(cursors.advances).toBe(4);
    expect(cursors.cursor).toMatchObject({ active: false, pages: 25, offset: 1_230 });
  });

  it('takes fewer pages when the budget grants fewer, and waits when it grants none', async () => {
    const kore = new FakeAccount(600);
    const { deps, clock, budget } = setup(kore, new FakeBudget([1, 3, 0, 2]));

    const report = await pageRolesSnapshot(deps, { onDemand: true });

    expect(report).toMatchObject({ outcome: 'published', pagesThisRun: 12 });
    expect(budget.asked).toEqual([1, 10, 8, 8, 6]);
    expect(kore.asked).toEqual(Array.from({ length: 12 }, (_, i) => i * 50));
    expect(clock.now().getTime()).toBe(T0 + 1_000);
  });

  it('goes on from a short page without losing the users after it, and then asks one page a turn', async () => {
    // The page at offset 100 holds 30 users although more follow: the pages fetched beside it
    // (offsets 150, 200, …) are dropped and the walk resumes at offset 130.
    const kore = new FakeAccount(400, (offset, page) => (offset === 100 ? { ...page, users: page.users.slice(0, 30) } : page));
    const { deps, snapshots, budget } = setup(kore);

    const report = await pageRolesSnapshot(deps, { onDemand: true });

    expect(report).toMatchObject({ outcome: 'published', current: { userCount: 400 } });
    expect(new Set(snapshots.written).size).toBe(identitiesOf(400));
    expect(budget.asked.slice(0, 3)).toEqual([1, 7, 1]);
    expect(kore.asked.slice(8)).toEqual([130, 180, 230, 280, 330, 380]);
  });

  it('keeps the pages before a failed one, and the next run starts at the failed page', async () => {
    let failing = true;
    const kore = new FakeAccount(1_000, (offset, page) => (failing && offset === 300 ? new KoreRetryableError('bad gateway', 502, undefined) : page));
    const { deps, snapshots, cursors } = setup(kore);

    const first = await pageRolesSnapshot(deps, { onDemand: true });

    expect(first).toMatchObject({ outcome: 'paging', stoppedBy: 'KoreRetryableError', pagesThisRun: 6, cursor: { offset: 300, pages: 6 } });
    expect(cursors.cursor).toMatchObject({ active: true, offset: 300, pages: 6 });
    expect(snapshots.current).toBeUndefined();
    failing = false;
    const second = await pageRolesSnapshot(deps);
    expect(second).toMatchObject({ outcome: 'published', pagesThisRun: 14, current: { userCount: 1_000 } });
    expect(new Set(snapshots.written).size).toBe(identitiesOf(1_000));
  });

  it('tells the budget about a rate-limit refusal inside a group once, waits, and goes on from the refused page', async () => {
    let refusals = 2;
    const kore = new FakeAccount(1_000, (offset, page) => (offset >= 200 && offset < 300 && refusals-- > 0 ? new KoreRetryableError('Rate limit for this API has been reached', 429, undefined, { rateLimited: true }) : page));
    const { deps, snapshots, budget, clock } = setup(kore);

    const report = await pageRolesSnapshot(deps, { onDemand: true });

    expect(report).toMatchObject({ outcome: 'published', current: { userCount: 1_000 } });
    expect(budget.refusals).toBe(1);
    expect(clock.now().getTime()).toBe(T0 + 1_000);
    expect(new Set(snapshots.written).size).toBe(identitiesOf(1_000));
  });

  it('gives the refresh up on a permanent error inside a group, keeping the current snapshot', async () => {
    const kore = new FakeAccount(1_000, (offset, page) => (offset === 250 ? new KorePermanentError('bad shape', 400) : page));
    const { deps, snapshots, cursors } = setup(kore);

    await expect(pageRolesSnapshot(deps, { onDemand: true })).rejects.toMatchObject({ name: 'KorePermanentError' });

    expect(snapshots.current).toBeUndefined();
    expect(cursors.cursor).toMatchObject({ active: false, offset: 250 });
  });

  it('stops at its run time with the cursor at the last group written', async () => {
    const kore = new FakeAccount(5_000);
    // After 23 pages the budget has no more turns for longer than the run has left.
    const { deps, cursors } = setup(kore, new FakeBudget([1, 10, 10, 2], 'wait'));

    const report = await pageRolesSnapshot(deps, { onDemand: true });

    expect(report).toMatchObject({ outcome: 'paging', pagesThisRun: 23, cursor: { offset: 1_150, pages: 23 } });
    expect(cursors.cursor).toMatchObject({ active: true, offset: 1_150, pages: 23 });
  });
});

describe('pageRolesSnapshot, one run paging at a time', () => {
  /** A refresh under way at page 6, leased to another run until `until`. */
  function underWay(kore: FakeAccount, until: number, budget = new FakeBudget()) {
    const s = setup(kore, budget);
    s.cursors.cursor = { version: 'v-under-way', startedAt: new Date(T0 - 600_000).toISOString(), offset: 300, total: kore.users, pages: 6, userCount: 300, identityCount: 300, botIds: [], reason: 'schedule', active: true };
    s.cursors.lessee = { owner: 'the-run-before', until };
    return s;
  }

  it('leases a refresh it starts for its run and the grace after it', async () => {
    const kore = new FakeAccount(5_000);
    const { deps, cursors } = setup(kore, new FakeBudget([1, 10], 'wait'));
    const seen: Array<number | undefined> = [];
    deps.kore = { getUserRoles: (offset: number, limit: number) => (seen.push(cursors.lessee?.until), kore.getUserRoles(offset, limit)) } as unknown as KorePlatform;

    await pageRolesSnapshot({ ...deps, leaseGraceMs: 7_000 }, { onDemand: true });

    expect(new Set(seen)).toEqual(new Set([T0 + 60_000 + 7_000]));
    // Stopped (no turn before its end): the lease is given back.
    expect(cursors.lessee?.until).toBe(0);
  });

  it('waits for the run paging before it, then goes on from the cursor that run left', async () => {
    const kore = new FakeAccount(1_000);
    const { deps, clock, snapshots } = underWay(kore, T0 + 5_000);

    const report = await pageRolesSnapshot({ ...deps, leasePollMs: 1_000 });

    expect(report).toMatchObject({ outcome: 'published', current: { userCount: 1_000 } });
    expect(kore.asked[0]).toBe(300);
    expect(new Set(kore.asked).size).toBe(kore.asked.length);
    expect(clock.now().getTime()).toBe(T0 + 5_000);
    expect(snapshots.current?.version).toBe('v-under-way');
  });

  it('goes on within one poll when the run before it gives the lease back early', async () => {
    const kore = new FakeAccount(1_000);
    const { deps, clock, cursors } = underWay(kore, T0 + 40_000);
    let firstPageAt: number | undefined;
    deps.kore = { getUserRoles: (offset: number, limit: number) => ((firstPageAt ??= clock.now().getTime()), kore.getUserRoles(offset, limit)) } as unknown as KorePlatform;
    const sleep = deps.sleep!;
    deps.sleep = async (ms) => {
      await sleep(ms);
      if (clock.now().getTime() >= T0 + 2_500) await cursors.release('the-run-before');
    };

    await pageRolesSnapshot({ ...deps, leasePollMs: 1_000 });

    expect(firstPageAt).toBe(T0 + 3_000);
  });

  it('gives way at once to a run whose lease outlasts its own end', async () => {
    const kore = new FakeAccount(1_000);
    const { deps, clock, cursors } = underWay(kore, T0 + 61_000);

    const report = await pageRolesSnapshot(deps);

    expect(report).toMatchObject({ outcome: 'paging', stoppedBy: 'RefreshPagedElsewhere', pagesThisRun: 0 });
    expect(kore.asked).toEqual([]);
    expect(clock.now().getTime()).toBe(T0);
    expect(cursors.lessee).toEqual({ owner: 'the-run-before', until: T0 + 61_000 });
  });

  it('takes over the lease of a run that died once it has run out', async () => {
    const kore = new FakeAccount(1_000);
    const { deps, cursors } = underWay(kore, T0);

    const report = await pageRolesSnapshot(deps);

    expect(report).toMatchObject({ outcome: 'published', pagesThisRun: 14 });
    expect(kore.asked[0]).toBe(300);
    expect(cursors.lessee?.owner).not.toBe('the-run-before');
  });

  it('finds nothing to do when the refresh it waited for was published meanwhile', async () => {
    const kore = new FakeAccount(1_000);
    const { deps, cursors } = underWay(kore, T0 + 2_000);
    const sleep = deps.sleep!;
    deps.sleep = async (ms) => {
      await sleep(ms);
      cursors.cursor = { ...cursors.cursor!, active: false };
    };

    const report = await pageRolesSnapshot(deps);

    expect(report).toMatchObject({ outcome: 'idle', pagesThisRun: 0 });
    expect(kore.asked).toEqual([]);
  });
});
