/**
 * The shared Kore.ai call budget's settings, read once from the environment and validated
 * (defaults: the documented limits, docs/kore-platform.md D13, and `defaultCallBudgetPolicy`).
 */
import { defaultCallBudgetPolicy, DOCUMENTED_KORE_LIMITS, type CallBudgetPolicy } from '../../domain/call-budget';
import { getNumberFromEnv } from '../env/settings';
import { ENV } from '../env/variables';

type Env = Record<string, string | undefined>;

/** The variables of the budget, each with its default (also the stack's defaults). */
export const CALL_BUDGET_DEFAULTS = {
  KORE_BUDGET_PER_MINUTE: DOCUMENTED_KORE_LIMITS.perMinute,
  KORE_BUDGET_PER_HOUR: DOCUMENTED_KORE_LIMITS.perHour,
  KORE_BUDGET_MARGIN: 0.1,
  KORE_BUDGET_TIME_SCALE: 1,
} as const;

/**
 * The budget policy from `KORE_BUDGET_PER_MINUTE`, `KORE_BUDGET_PER_HOUR`, `KORE_BUDGET_MARGIN`
 * (share left unused) and `KORE_BUDGET_TIME_SCALE` (1 in AWS; below 1 compresses the windows,
 * for tests against a simulator whose windows are compressed alike).
 * @throws ConfigurationError when a value is set but out of range.
 */
export function readCallBudgetPolicy(env: Env = process.env): CallBudgetPolicy {
  return defaultCallBudgetPolicy({
    perMinute: getNumberFromEnv(ENV.KORE_BUDGET_PER_MINUTE, CALL_BUDGET_DEFAULTS.KORE_BUDGET_PER_MINUTE, env, { min: 1, max: 100_000 }),
    perHour: getNumberFromEnv(ENV.KORE_BUDGET_PER_HOUR, CALL_BUDGET_DEFAULTS.KORE_BUDGET_PER_HOUR, env, { min: 1, max: 10_000_000 }),
    safetyMargin: getNumberFromEnv(ENV.KORE_BUDGET_MARGIN, CALL_BUDGET_DEFAULTS.KORE_BUDGET_MARGIN, env, { min: 0, max: 0.9 }),
    timeScale: getNumberFromEnv(ENV.KORE_BUDGET_TIME_SCALE, CALL_BUDGET_DEFAULTS.KORE_BUDGET_TIME_SCALE, env, { min: 0.0001, max: 1 }),
  });
}
