/**
 * When the user-roles snapshot is refreshed, and how a refresh walks its pages: the pure rules.
 *
 * A refresh pages through the account's users 50 at a time, one Kore.ai call a page, out of the
 * same budget as the erasures (docs/kore-platform.md D13: 1,800 calls an hour per account). A
 * 50,000-user account is 1,000 pages: paged hourly it would take more than half the hourly limit
 * for ever. So the cadence adapts to the account's size: a refresh starts no sooner than the
 * time its pages take at `hourlyShare` of the hourly allowance, and never sooner than the base
 * interval. The walk keeps a cursor between invocations, so no run has to finish it.
 */

export interface RolePagingPolicy {
  /** The shortest time between the starts of two refreshes (default one hour). */
  baseIntervalMs: number;
  /** Share of the hourly allowance paging may take on average, 0 < share ≤ 1 (default 0.25). */
  hourlyShare: number;
  /** Calls the desk allows itself an hour (the budget's hourly allowance). */
  hourlyAllowance: number;
  /** Length of the budget's hourly window (3,600,000 ms, less under a compressed clock). */
  hourMs: number;
  /** Users a page holds (the platform's maximum, 50). */
  pageSize: number;
  /** Most pages fetched side by side on the turns of one budget call (`ROLE_PAGES_PER_TURN`). */
  pagesPerTurn: number;
}

/**
 * Most pages a refresh asks turns for at once and fetches side by side. Ten keeps a refresh to
 * about three budget calls per minute window (role paging may take 27 of the documented 60) and
 * to ten requests in flight at the platform, while the writing of one group overlaps the
 * fetching of the next: a group's turns are all spent the moment they are granted, so each call
 * reaches the platform within the budget slot it was counted in.
 */
export const ROLE_PAGES_PER_TURN = 10;

/** Pages a refresh of `userCount` users takes (one more to learn there is nothing after the last). */
export function pagesFor(userCount: number, pageSize: number): number {
  return Math.max(1, Math.ceil(Math.max(0, userCount) / pageSize));
}

/**
 * The time between the starts of two refreshes for an account of `userCount` users: the base
 * interval, or longer when the account's pages at `hourlyShare` of the hourly allowance take
 * longer. Paging then takes at most that share of the hourly budget on average.
 */
export function refreshIntervalMs(policy: RolePagingPolicy, userCount: number): number {
  const pagesPerHour = Math.max(1, policy.hourlyShare * policy.hourlyAllowance);
  const pagingMs = (pagesFor(userCount, policy.pageSize) / pagesPerHour) * policy.hourMs;
  return Math.max(policy.baseIntervalMs, Math.ceil(pagingMs));
}

/**
 * How many turns a refresh asks for next: one while the platform has not said how many users it
 * holds (the first page), then as many pages as remain by the last `total`, at most
 * `pagesPerTurn` and at least one (a page past the announced total ends the walk).
 */
export function pagesToAsk(policy: Pick<RolePagingPolicy, 'pageSize' | 'pagesPerTurn'>, cursor: Pick<RefreshCursor, 'pages' | 'offset' | 'total'>): number {
  if (cursor.pages === 0) return 1;
  const left = Math.ceil(Math.max(0, cursor.total - cursor.offset) / policy.pageSize);
  return Math.max(1, Math.min(policy.pagesPerTurn, left));
}

/** A refresh under way, as kept between invocations. */
export interface RefreshCursor {
  /** The snapshot version being written (not yet current). */
  version: string;
  startedAt: string;
  /** Users read so far: the `offset` of the next page. */
  offset: number;
  /** What the platform last said the account holds. */
  total: number;
  pages: number;
  userCount: number;
  identityCount: number;
  /** The account's bots met so far (every bot in anyone's bot roles). */
  botIds: string[];
  /** Why the refresh was started. */
  reason: 'schedule' | 'on-demand';
}

/**
 * Whether a new refresh should start now: on demand always (unless one is under way), otherwise
 * when there is no complete snapshot yet or the last one started an interval ago.
 */
export function shouldStartRefresh(input: {
  now: Date;
  policy: RolePagingPolicy;
  inProgress: RefreshCursor | undefined;
  lastComplete: { startedAt: string; userCount: number } | undefined;
  onDemand: boolean;
}): boolean {
  if (input.inProgress) return false;
  if (input.onDemand || !input.lastComplete) return true;
  const started = Date.parse(input.lastComplete.startedAt);
  if (Number.isNaN(started)) return true;
  return input.now.getTime() - started >= refreshIntervalMs(input.policy, input.lastComplete.userCount);
}
