/**
 * The roles snapshot: refreshed in one go (refreshRolesSnapshot) and paged within the call budget
 * across runs (pageRolesSnapshot), with a fake Kore.ai account and in-memory cursors.
 */
import { describe, expect, it } from 'vitest';
import { KoreAuthError, KoreRetryableError, type KoreRoleUser, type KoreUserRolesPage } from '../../../functions/domain/kore';
import type { PrivilegedIdentity, SnapshotInfo } from '../../../functions/domain/model';
import type { RefreshCursor } from '../../../functions/domain/role-paging';
import { hashSubject } from '../../../functions/domain/subject';
import { pageRolesSnapshot, type RefreshCursors, type RolePagingDeps } from '../../../functions/workflow/page-roles-snapshot';
import { refreshRolesSnapshot, type SnapshotWriter } from '../../../functions/workflow/refresh-roles-snapshot';
import { MutableClock } from '../../support/staff-fakes';
import { keys, NOW, ScriptedBudget } from './task-fixtures';

/** An account of `n` users; every tenth co-develops bot st-<i>, the rest are plain members. */
function account(n: number): KoreRoleUser[] {
  return Array.from({ length: n }, (_, i) => ({
    userId: `u-${i}`,
    emailId: `user${i}@example.com`,
    ...(i % 10 === 0 ? { btRoles: [{ roleId: 'r', roleName: 'Bot Developer', botId: `st-${i}` }] } : {}),
  }));
}

/** Kore.ai's user roles in pages of at most 50; `fail` answers instead of the page at that offset. */
function kore(users: KoreRoleUser[], fail: Record<number, Error> = {}) {
  const offsets: number[] = [];
  return {
    offsets,
    getUserRoles: async (offset: number, limit: number): Promise<KoreUserRolesPage> => {
      offsets.push(offset);
      const error = fail[offset];
      if (error) {
        delete fail[offset];
        throw error;
      }
      const page = users.slice(offset, offset + Math.min(limit, 50));
      return { total: users.length, availableMore: offset + page.length < users.length, users: page };
    },
  };
}

class MemorySnapshots implements SnapshotWriter {
  current: SnapshotInfo | undefined;
  readonly identities = new Map<string, Map<string, PrivilegedIdentity>>();
  readonly bots = new Map<string, Set<string>>();
  async writeSnapshot(version: string, info: SnapshotInfo, identities: Iterable<PrivilegedIdentity>, botIds: Iterable<string> = [], options: { publish?: boolean } = {}) {
    const ids = this.identities.get(version) ?? new Map();
    for (const identity of identities) ids.set(identity.subjectHash, identity);
    this.identities.set(version, ids);
    this.bots.set(version, new Set([...(this.bots.get(version) ?? []), ...botIds]));
    if (options.publish !== false) this.current = info;
  }
  async getCurrentSnapshot() {
    return this.current;
  }
}

class MemoryCursors implements RefreshCursors {
  cursor: RefreshCursor | undefined;
  isActive = false;
  async active() {
    return this.isActive ? this.cursor : undefined;
  }
  async start(cursor: RefreshCursor) {
    if (this.isActive) return false;
    this.cursor = cursor;
    this.isActive = true;
    return true;
  }
  async advance(from: RefreshCursor, to: RefreshCursor, active = true) {
    if (this.cursor?.offset !== from.offset || this.cursor.version !== from.version) return false;
    this.cursor = to;
    this.isActive = active;
    return true;
  }
  // One run at a time in these tests: the lease is always free.
  async lease() {
    return this.isActive && this.cursor ? { held: true as const, cursor: this.cursor } : { held: false as const, ended: true as const };
  }
  async release() {}
}

const hashOf = (id: string) => hashSubject(id, keys.hmacKey);

describe('refreshRolesSnapshot', () => {
  it('pages the whole account and publishes every member with the rules and bots that make them privileged', async () => {
    const snapshots = new MemorySnapshots();

    const info = await refreshRolesSnapshot({ kore: kore(account(120)) as never, snapshots, subjectKeys: keys, clock: new MutableClock(new Date(NOW)) });

    expect(info).toMatchObject({ takenAt: NOW, userCount: 120, botCount: 12 });
    expect(snapshots.current).toEqual(info);
    const identities = snapshots.identities.get(info.version)!;
    expect(identities.get(hashOf('user10@example.com'))).toMatchObject({ accountMember: true, coDeveloperBotIds: ['st-10'] });
    expect(identities.get(hashOf('user11@example.com'))).toMatchObject({ accountMember: true, coDeveloperBotIds: [] });
    expect(snapshots.bots.get(info.version)).toEqual(new Set(Array.from({ length: 12 }, (_, i) => `st-${i * 10}`)));
  });

  it('publishes nothing when the platform fails midway', async () => {
    const snapshots = new MemorySnapshots();

    await expect(refreshRolesSnapshot({ kore: kore(account(120), { 50: new KoreAuthError('401', 401) }) as never, snapshots, subjectKeys: keys, clock: new MutableClock(new Date(NOW)) })).rejects.toBeInstanceOf(KoreAuthError);
    expect(snapshots.current).toBeUndefined();
  });
});

describe('pageRolesSnapshot', () => {
  const policy = { baseIntervalMs: 3_600_000, hourlyShare: 0.25, hourlyAllowance: 1620, hourMs: 3_600_000, pageSize: 50, pagesPerTurn: 1 };

  /** Deps whose clock moves `msPerCall` with every Kore.ai call. */
  function pagingDeps(users: KoreRoleUser[], options: { runMs?: number; fail?: Record<number, Error>; budget?: ScriptedBudget; snapshots?: MemorySnapshots; cursors?: MemoryCursors } = {}) {
    const clock = new MutableClock(new Date(NOW));
    const platform = kore(users, options.fail);
    const sleeps: number[] = [];
    const deps: RolePagingDeps = {
      kore: {
        getUserRoles: async (offset: number, limit: number) => {
          clock.set(new Date(clock.now().getTime() + 1000));
          return platform.getUserRoles(offset, limit);
        },
      } as never,
      snapshots: options.snapshots ?? new MemorySnapshots(),
      cursors: options.cursors ?? new MemoryCursors(),
      budget: options.budget ?? new ScriptedBudget(),
      subjectKeys: keys,
      clock,
      policy,
      runMs: options.runMs ?? 60_000,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock.set(new Date(clock.now().getTime() + ms));
      },
    };
    return { deps, platform, sleeps };
  }

  it('pages a due refresh to the end in one run and publishes it', async () => {
    const { deps, platform } = pagingDeps(account(120));

    const report = await pageRolesSnapshot(deps);

    expect(report).toMatchObject({ outcome: 'published', pagesThisRun: 3, current: { userCount: 120, botCount: 12, takenAt: NOW } });
    expect(platform.offsets).toEqual([0, 50, 100]);
    expect((deps.cursors as MemoryCursors).isActive).toBe(false);
  });

  it('stops when its run time is up and the next run continues where it stopped', async () => {
    const snapshots = new MemorySnapshots();
    const cursors = new MemoryCursors();
    const first = pagingDeps(account(120), { runMs: 1_500, snapshots, cursors });

    expect(await pageRolesSnapshot(first.deps)).toMatchObject({ outcome: 'paging', pagesThisRun: 2, cursor: { offset: 100 } });
    expect(snapshots.current).toBeUndefined();

    const second = pagingDeps(account(120), { snapshots, cursors });
    expect(await pageRolesSnapshot(second.deps)).toMatchObject({ outcome: 'published', pagesThisRun: 1, current: { userCount: 120 } });
    expect(second.platform.offsets).toEqual([100]);
  });

  it('is idle while the last snapshot is recent, unless asked on demand', async () => {
    const snapshots = new MemorySnapshots();
    snapshots.current = { version: 'v0', takenAt: NOW, userCount: 120, identityCount: 120 };

    expect(await pageRolesSnapshot(pagingDeps(account(120), { snapshots }).deps)).toMatchObject({ outcome: 'idle', pagesThisRun: 0, current: { version: 'v0' } });
    expect(await pageRolesSnapshot(pagingDeps(account(120), { snapshots }).deps, { onDemand: true })).toMatchObject({ outcome: 'published' });
  });

  it('waits for its turn in the budget at the lowest priority, and leaves the rest when the wait outlasts the run', async () => {
    const budget = new ScriptedBudget([500, 'grant', 90_000]);
    const { deps, sleeps } = pagingDeps(account(120), { budget });

    expect(await pageRolesSnapshot(deps)).toMatchObject({ outcome: 'paging', pagesThisRun: 1 });
    expect(sleeps).toEqual([500]);
    expect(new Set(budget.asked)).toEqual(new Set(['roles']));
  });

  it('waits out a rate-limit refusal, and stops on another retryable failure for the next run', async () => {
    const limited = pagingDeps(account(60), { fail: { 50: new KoreRetryableError('429', 429, 2_000, { rateLimited: true }) } });
    expect(await pageRolesSnapshot(limited.deps)).toMatchObject({ outcome: 'published' });
    expect(limited.sleeps).toEqual([2_000]);

    const broken = pagingDeps(account(60), { fail: { 50: new KoreRetryableError('503', 503, undefined) } });
    expect(await pageRolesSnapshot(broken.deps)).toMatchObject({ outcome: 'paging', pagesThisRun: 1, stoppedBy: 'KoreRetryableError' });
    expect((broken.deps.cursors as MemoryCursors).isActive).toBe(true);
  });

  it('gives the refresh up on a failure not worth repeating, keeping the current snapshot', async () => {
    const snapshots = new MemorySnapshots();
    const { deps } = pagingDeps(account(60), { snapshots, fail: { 50: new KoreAuthError('401', 401) } });

    await expect(pageRolesSnapshot(deps, { onDemand: true })).rejects.toBeInstanceOf(KoreAuthError);
    expect((deps.cursors as MemoryCursors).isActive).toBe(false);
    expect(snapshots.current).toBeUndefined();
  });

  it('starts nothing when another run started a refresh first, and stops when another run moved the cursor', async () => {
    const cursors = new MemoryCursors();
    cursors.start = async () => false;
    expect(await pageRolesSnapshot(pagingDeps(account(60), { cursors }).deps)).toMatchObject({ outcome: 'paging', pagesThisRun: 0, stoppedBy: 'RefreshStartedElsewhere' });

    const moved = new MemoryCursors();
    moved.advance = async () => false;
    // The cursor never moved for this run, so none of its pages count as done.
    expect(await pageRolesSnapshot(pagingDeps(account(120), { cursors: moved }).deps)).toMatchObject({ outcome: 'paging', pagesThisRun: 0, stoppedBy: 'CursorMovedElsewhere' });
  });
});
