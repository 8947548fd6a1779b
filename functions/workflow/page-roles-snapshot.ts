/**
 * The roles snapshot refreshed at the pace of the Kore.ai call budget.
 *
 * A refresh walks the account's user roles page by page, each page a turn of the shared budget
 * at the lowest priority (erasures and status checks come first). It asks for a group of turns
 * in one budget call and fetches the group's pages side by side as soon as they are granted (a
 * turn is counted when taken, so its call must follow at once). It writes each group's
 * privileged identities and bots under the new version while it fetches the next group, and
 * keeps a cursor in DynamoDB, moved once a group, so a run that reaches its time (`runMs`, well inside the Lambda's 15 minutes) simply
 * stops, and the next run continues where it stopped. The new version becomes current only once
 * the last page is written; until then the last complete snapshot stays in use. Refreshes start
 * at the cadence of `domain/role-paging`, which stretches with the account's size so paging
 * takes at most its share of the hourly budget.
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

/** Where the cursor of a refresh under way is kept (DynamoDB: `SNAPSHOT` / `REFRESH`). */
export interface RefreshCursors {
  active(): Promise<RefreshCursor | undefined>;
  /** @returns false when a refresh is active already. */
  start(cursor: RefreshCursor): Promise<boolean>;
  /** @returns false when another run moved the cursor first. */
  advance(from: RefreshCursor, to: RefreshCursor, active?: boolean): Promise<boolean>;
}

export interface RolePagingDeps {
  kore: KorePlatform;
  snapshots: SnapshotWriter & { getCurrentSnapshot(): Promise<SnapshotInfo | undefined>; invalidateCache?(): void };
  cursors: RefreshCursors;
  budget?: CallBudget;
  subjectKeys: SubjectKeys;
  clock: Clock;
  policy: RolePagingPolicy;
  /** How long one run pages before it leaves the rest to the next run. */
  runMs: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface RolePagingReport {
  /** `published`: a new snapshot is current; `paging`: a refresh is under way; `idle`: none was due. */
  outcome: 'published' | 'paging' | 'idle';
  /** The current snapshot after this run (the new one when published). */
  current?: SnapshotInfo;
  /** The refresh under way, when one is. */
  cursor?: RefreshCursor;
  pagesThisRun: number;
  /** Why a run stopped early: a retryable Kore.ai error's name, or another run moving the cursor. */
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
    if (!(await deps.cursors.start(fresh))) return { outcome: 'paging', ...(current ? { current } : {}), pagesThisRun: 0, stoppedBy: 'RefreshStartedElsewhere' };
    cursor = fresh;
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
  const stop = async (stoppedBy?: string): Promise<RolePagingReport> => ((await committed()) ? paging(stoppedBy) : paging('CursorMovedElsewhere'));
  const timeLeft = () => started + deps.runMs - deps.clock.now().getTime();
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
      if (!(await committed())) return paging('CursorMovedElsewhere');
      cursor = ahead;
      const from = cursor;
      const to = next;
      const groupPages = to.pages - from.pages;
      commit = settle(
        (async () => {
          await deps.snapshots.writeSnapshot(from.version, infoOf(from, from.botIds.length), index.values(), index.botIds(), { publish: false });
          if (complete) return true;
          if (!(await deps.cursors.advance(from, to))) return false;
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
