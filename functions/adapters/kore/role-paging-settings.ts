/**
 * The paced roles refresh's settings, read once from the environment and validated.
 */
import { allowance, type CallBudgetPolicy } from '../../domain/call-budget';
import { ROLE_PAGES_PER_TURN, type RolePagingPolicy } from '../../domain/role-paging';
import { getNumberFromEnv } from '../env/settings';
import { USER_ROLES_MAX_PAGE_SIZE } from '../../domain/user-roles-pager';
import { ENV } from '../env/variables';

type Env = Record<string, string | undefined>;

export const ROLE_PAGING_DEFAULTS = {
  /** Share of the hourly call allowance paging takes on average. */
  ROLES_REFRESH_SHARE: 0.25,
  /** Shortest time between the starts of two refreshes. */
  ROLES_REFRESH_INTERVAL_SECONDS: 3600,
  /** How long one run of the refresh function pages (inside its schedule of 5 minutes). */
  ROLES_REFRESH_RUN_SECONDS: 240,
} as const;

/**
 * The cadence and run length of the paced refresh, over the budget's hourly window.
 * @throws ConfigurationError when a value is set but out of range.
 */
export function readRolePaging(budget: CallBudgetPolicy, env: Env = process.env): { policy: RolePagingPolicy; runMs: number } {
  const hour = budget.windows.reduce((longest, w) => (w.lengthMs > longest.lengthMs ? w : longest));
  return {
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
