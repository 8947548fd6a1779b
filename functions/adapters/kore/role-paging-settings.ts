/**
 * The paced roles refresh's settings, read once from the environment and validated.
 */
import { allowance, type CallBudgetPolicy } from '../../domain/call-budget';
import { ROLE_PAGES_PER_TURN, type RolePagingPolicy } from '../../domain/role-paging';
import { getNumberFromEnv } from '../env/settings';
import { USER_ROLES_MAX_PAGE_SIZE } from '../../domain/user-roles-pager';
import { ENV } from '../env/variables';

type Env = Record<string, string | undefined>;

/** How often the refresh function is started (its EventBridge schedule, infra/constructs/schedules.ts). */
export const ROLES_REFRESH_SCHEDULE_SECONDS = 300;

export const ROLE_PAGING_DEFAULTS = {
  /** Share of the hourly call allowance paging takes on average. */
  ROLES_REFRESH_SHARE: 0.25,
  /** Shortest time between the starts of two refreshes. */
  ROLES_REFRESH_INTERVAL_SECONDS: 3600,
  /**
   * How long one run of the refresh function lasts: 30 s longer than its schedule, so runs
   * overlap and, while a refresh is under way, a run is always there to take a turn; the lease on
   * the cursor lets one page at a time. A run, the last group it finishes (the lease's grace) and
   * the Lambda's start stay far inside its 15 minutes.
   */
  ROLES_REFRESH_RUN_SECONDS: ROLES_REFRESH_SCHEDULE_SECONDS + 30,
} as const;

/** How long a lease holds past its run's end (the group then in flight), and how often a waiting run looks (documented clock). */
export const ROLE_PAGING_LEASE = { graceMs: 30_000, pollMs: 1_000 } as const;

/**
 * The cadence, run length and lease timing of the paced refresh, over the budget's hourly window
 * (the lease's times compressed with it when the budget's clock is).
 * @throws ConfigurationError when a value is set but out of range.
 */
export function readRolePaging(budget: CallBudgetPolicy, env: Env = process.env): { policy: RolePagingPolicy; runMs: number; leaseGraceMs: number; leasePollMs: number } {
  const hour = budget.windows.reduce((longest, w) => (w.lengthMs > longest.lengthMs ? w : longest));
  const scale = Math.min(1, hour.lengthMs / 3_600_000);
  return {
    leaseGraceMs: Math.max(1, Math.round(ROLE_PAGING_LEASE.graceMs * scale)),
    leasePollMs: Math.max(1, Math.round(ROLE_PAGING_LEASE.pollMs * scale)),
    policy: {
      baseIntervalMs: 1000 * getNumberFromEnv(ENV.ROLES_REFRESH_INTERVAL_SECONDS, ROLE_PAGING_DEFAULTS.ROLES_REFRESH_INTERVAL_SECONDS, env, { min: 1, max: 7 * 86_400 }),
      hourlyShare: getNumberFromEnv(ENV.ROLES_REFRESH_SHARE, ROLE_PAGING_DEFAULTS.ROLES_REFRESH_SHARE, env, { min: 0.01, max: 1 }),
      hourlyAllowance: allowance(hour, budget),
      hourMs: hour.lengthMs,
      pageSize: USER_ROLES_MAX_PAGE_SIZE,
      pagesPerTurn: ROLE_PAGES_PER_TURN,
    },
    runMs: 1000 * getNumberFromEnv(ENV.ROLES_REFRESH_RUN_SECONDS, ROLE_PAGING_DEFAULTS.ROLES_REFRESH_RUN_SECONDS, env, { min: 1, max: 840 }),
  };
}
