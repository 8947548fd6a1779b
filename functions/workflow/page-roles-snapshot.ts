/**
 * The roles snapshot refreshed at the pace of the Kore.ai call budget.
 *
 * A refresh walks the account's user roles page by page, each page a turn of the shared budget
 * at the lowest priority (erasures and status checks come first). It asks for a group of turns
 * in one budget call and fetches the group's pages side by side as soon as they are granted (a
 * turn is counted when taken, so its call must follow at once). It writes each group's
 * privileged identities and bots under the new version while it fetches the next group, and
 * keeps a cursor in DynamoDB, moved once a group, so a run that reaches its time (`runMs`, well
 * inside the Lambda's 15 minutes) simply stops, and the next run continues where it stopped. The
 * new version becomes current only once the last page is written; until then the last complete
 * snapshot stays in use. Refreshes start at the cadence of `domain/role-paging`, which stretches
 * with the account's size so paging takes at most its share of the hourly budget.
 *
 * Runs overlap, one pages. A run lasts longer than the schedule between two runs, so while a
 * refresh is under way some run is always there to take a turn the moment the budget has one: a
 * run waits in-process for every turn that comes before its own end. Only the run holding the
 * cursor's lease pages; a run that finds the lease held waits for it (the holder gives it back
 * when it stops, or it runs out `leaseGraceMs` after the holder's end, should the holder die)
 * and then continues from the cursor. So no page is fetched twice and no turn is lost between
 * runs.
 *
 * An identity met on two pages (two users sharing an id, rare) keeps the later page's roles: it
 * stays privileged either way — everyone listed by user roles belongs to the account — only the
 * rule and bots a rejection names may be the other user's.
 */
import { UNLIMITED_BUDGET, type CallBudget } from '../domain/call-budget';
import { KoreRetryableError, type KorePlatform, type KoreUserRolesPage } from '../domain/kore';
import type { SnapshotInfo } from '../domain/model';
import type { Clock } from '../domain/ports';
import { PrivilegedIdentityIndex } from '../domain/privileged-identities';
import { pagesToAsk, shouldStartRefresh, type RefreshCursor, type RolePagingPolicy } from '../domain/role-paging';
import { hashSubject, type SubjectKeys } from '../domain/subject';
import { USER_ROLES_MAX_PAGE_SIZE } from '../domain/user-roles-pager';
import type { SnapshotWriter } from './refresh-roles-snapshot';

/** Who pages the refresh under way, until when (epoch ms). */
export interface RefreshLease {
  owner: string;
  until: number;
}

/** What asking for the lease found: the cursor to page from, the lease another run holds, or no refresh under way. */
export type LeaseAnswer = { held: true; cursor: RefreshCursor } | { held: false; until: number } | { held: false; ended: true };

/** Where the cursor of a refresh under way is kept (DynamoDB: `SNAPSHOT` / `REFRESH`), with its lease. */
export interface RefreshCursors {
  active(): Promise<RefreshCursor | undefined>;
  /** Starts a refresh, leased to the run starting it. @returns false when a refresh is active already. */
  start(cursor: RefreshCursor, lease: RefreshLease): Promise<boolean>;
  /** Moves the cursor on, keeping `lease`. @returns false when another run moved the cursor first. */
  advance(from: RefreshCursor, to: RefreshCursor, active?: boolean, lease?: RefreshLease): Promise<boolean>;
  /** Takes the lease of the refresh under way when nobody else holds it at `nowMs` (or it is the owner's already). */
  lease(lease: RefreshLease, nowMs: number): Promise<LeaseAnswer>;
  /** Gives the lease back, if `owner` still holds it. */
  release(owner: string): Promise<void>;
}

export interface RolePagingDeps {
  kore: KorePlatform;
  snapshots: SnapshotWriter & { getCurrentSnapshot(): Promise<SnapshotInfo | undefined>; invalidateCache?(): void };
  cursors: RefreshCursors;
  budget?: CallBudget;
  subjectKeys: SubjectKeys;
  clock: Clock;
  policy: RolePagingPolicy;
  /** How long one run lasts (waiting for the lease and paging) before it leaves the rest to the next run. */
  runMs: number;
  /** How long past its holder's end a lease holds, for the group then in flight (default 30 s). */
  leaseGraceMs?: number;
  /** How often a run waiting for the lease looks whether it was given back early (default 1 s). */
  leasePollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_LEASE_GRACE_MS = 30_000;
export const DEFAULT_LEASE_POLL_MS = 1_000;

export interface RolePagingReport {
  /** `published`: a new snapshot is current; `paging`: a refresh is under way; `idle`: none was due. */
  outcome: 'published' | 'paging' | 'idle';
  /** The current snapshot after this run (the new one when published). */
  current?: SnapshotInfo;
  /** The refresh under way, when one is. */
  cursor?: RefreshCursor;
  pagesThisRun: number;
  /** Why a run stopped early: a retryable Kore.ai error's name, another run moving the cursor, or paging past this run's end. */
  stoppedBy?: string;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Continues the refresh under way, or starts one when due (`onDemand`: now), and pages until it
 * is complete or the run's time is up.
 * @throws KoreAuthError, KorePermanentError (the refresh is given up, the current snapshot stays);
 *   StoreUnavailableError and the store's other errors (the cursor stays: the next run continues).
 */
export async function pageRolesSnapshot(deps: RolePagingDeps, options: { onDemand?: boolean } = {}): Promise<RolePagingReport> {
  const started = deps.clock.now().getTime();
  const budget = deps.budget ?? UNLIMITED_BUDGET;
  const sleep = deps.sleep ?? defaultSleep;
  const end = started + deps.runMs;
  const lease: RefreshLease = { owner: `${started.toString(36)}-${Math.random().toString(36).slice(2, 10)}`, until: end + (deps.leaseGraceMs ?? DEFAULT_LEASE_GRACE_MS) };
  const current = await deps.snapshots.getCurrentSnapshot();
  let cursor = await deps.cursors.active();
  if (!cursor) {
    const now = deps.clock.now();
    const due = shouldStartRefresh({
      now,
      policy: deps.policy,
      inProgress: undefined,
      lastComplete: current && { startedAt: current.takenAt, userCount: current.userCount },
      onDemand: options.onDemand === true,
    });
    if (!due) return { outcome: 'idle', ...(current ? { current } : {}), pagesThisRun: 0 };
    const fresh: RefreshCursor = {
      version: `${now.toISOString().replace(/[-:.]/g, '')}-${Math.random().toString(36).slice(2, 8)}`,
      startedAt: now.toISOString(),
      offset: 0,
      total: 0,
      pages: 0,
      userCount: 0,
      identityCount: 0,
      botIds: [],
      reason: options.onDemand ? 'on-demand' : 'schedule',
    };
    if (!(await deps.cursors.start(fresh, lease))) return { outcome: 'paging', ...(current ? { current } : {}), pagesThisRun: 0, stoppedBy: 'RefreshStartedElsewhere' };
    cursor = fresh;
  } else {
    // Another run may be paging: wait for its lease while it would come back before this run's end.
    for (;;) {
      const answer = await deps.cursors.lease(lease, deps.clock.now().getTime());
      if (answer.held) {
        cursor = answer.cursor;
        break;
      }
      if ('ended' in answer) return { outcome: 'idle', ...(current ? { current } : {}), pagesThisRun: 0 };
      const now = deps.clock.now().getTime();
      if (answer.until >= end) return { outcome: 'paging', ...(current ? { current } : {}), cursor, pagesThisRun: 0, stoppedBy: 'RefreshPagedElsewhere' };
      await sleep(Math.max(1, Math.min(answer.until - now, deps.leasePollMs ?? DEFAULT_LEASE_POLL_MS)));
    }
  }

  let pagesThisRun = 0;
  // `cursor` is what DynamoDB holds; `ahead` what it will hold once the group being written is
  // committed. The writing of one group overlaps the budget turn and the fetching of the next.
  let ahead = cursor;
  let commit: Promise<Settled<boolean>> | undefined;
  // A platform that answered a short page before the last: offsets cannot be told ahead, one page a turn.
  let shortPages = false;
  /** Waits for the group being written; false when another run moved the cursor first. */
  const committed = async (): Promise<boolean> => {
    if (!commit) return true;
    const done = await commit;
    commit = undefined;
    if ('error' in done) throw done.error;
    return done.value;
  };
  const paging = (stoppedBy?: string): RolePagingReport => ({ outcome: 'paging', ...(current ? { current } : {}), cursor, pagesThisRun, ...(stoppedBy ? { stoppedBy } : {}) });
  /** Waits for the group being written and gives the lease back, so a run waiting for it goes on at once. */
  const stop = async (stoppedBy?: string): Promise<RolePagingReport> => {
    const moved = await committed();
    await deps.cursors.release(lease.owner);
    return moved ? paging(stoppedBy) : paging('CursorMovedElsewhere');
  };
  const timeLeft = () => end - deps.clock.now().getTime();
  while (timeLeft() > 0) {
    const turn = await budget.takeUpTo('roles', shortPages ? 1 : pagesToAsk(deps.policy, ahead));
    if (!turn.granted) {
      if (turn.waitMs >= timeLeft()) return stop();
      await sleep(turn.waitMs);
      continue;
    }
    // Every granted turn is spent at once: the group's pages are fetched side by side.
    const from = ahead.offset;
    const fetched = await Promise.all(
      Array.from({ length: turn.calls }, (_, i) =>
        deps.kore.getUserRoles(from + i * USER_ROLES_MAX_PAGE_SIZE, USER_ROLES_MAX_PAGE_SIZE).then(
          (page): Settled<KoreUserRolesPage> => ({ value: page }),
          (error: unknown): Settled<KoreUserRolesPage> => ({ error }),
        ),
      ),
    );
    // The pages in order up to the first failure, the last page, or a short page (the next
    // page's offset then differs from the one fetched: those fetched after it are dropped).
    const index = new PrivilegedIdentityIndex((id) => hashSubject(id, deps.subjectKeys.hmacKey));
    let next = ahead;
    let complete = false;
    let failure: unknown;
    for (const result of fetched) {
      if ('error' in result) {
        failure = result.error;
        break;
      }
      const page = result.value;
      index.add(page.users);
      const offset = next.offset + page.users.length;
      next = { ...next, offset, total: page.total, pages: next.pages + 1, userCount: next.userCount + page.users.length };
      complete = page.users.length === 0 || !page.availableMore || offset >= page.total;
      if (complete) break;
      if (page.users.length < USER_ROLES_MAX_PAGE_SIZE) {
        shortPages = true;
        break;
      }
    }
    if (next !== ahead) {
      next = { ...next, identityCount: ahead.identityCount + index.size, botIds: [...new Set([...ahead.botIds, ...index.botIds()])] };
      if (!(await committed())) {
        await deps.cursors.release(lease.owner);
        return paging('CursorMovedElsewhere');
      }
      cursor = ahead;
      const from = cursor;
      const to = next;
      const groupPages = to.pages - from.pages;
      commit = settle(
        (async () => {
          await deps.snapshots.writeSnapshot(from.version, infoOf(from, from.botIds.length), index.values(), index.botIds(), { publish: false });
          if (complete) return true;
          if (!(await deps.cursors.advance(from, to, true, lease))) return false;
          cursor = to;
          pagesThisRun += groupPages;
          return true;
        })(),
      );
      ahead = next;
      if (complete) {
        await committed();
        const info = infoOf(next, next.botIds.length);
        await deps.snapshots.writeSnapshot(next.version, info, [], [], { publish: true });
        deps.snapshots.invalidateCache?.();
        await deps.cursors.advance(cursor, next, false);
        return { outcome: 'published', current: info, pagesThisRun: pagesThisRun + (next.pages - cursor.pages) };
      }
    }
    if (failure === undefined) continue;
    if (failure instanceof KoreRetryableError) {
      if (!failure.rateLimited) return stop(failure.name);
      const { waitMs } = await budget.refused(failure.retryAfterMs);
      if (waitMs >= timeLeft()) return stop(failure.name);
      await sleep(waitMs);
      continue;
    }
    // Not worth repeating (credentials, scope, an answer of the wrong shape): give this refresh up.
    if (await committed().catch(() => false)) await deps.cursors.advance(cursor, cursor, false);
    throw failure;
  }
  return stop();
}

type Settled<T> = { value: T } | { error: unknown };

/** A promise that never rejects, so work left running while the loop goes on raises no unhandled rejection. */
function settle<T>(work: Promise<T>): Promise<Settled<T>> {
  return work.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

/** The snapshot's description from its cursor: taken when its paging started. */
function infoOf(cursor: RefreshCursor, botCount: number): SnapshotInfo {
  return { version: cursor.version, takenAt: cursor.startedAt, userCount: cursor.userCount, identityCount: cursor.identityCount, botCount };
}
