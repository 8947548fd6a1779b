/**
 * Configuration, read once from the environment and validated. Resource names and secrets have
 * no defaults (a missing one fails at start-up, loudly); tunables have documented defaults.
 */
import { ConfigurationError } from '../../domain/errors';

export { ConfigurationError };
import { DEFAULT_POLL_POLICY, type PollPolicy } from '../../domain/polling';
import { DEFAULT_VERIFICATION_POLICY, validVerificationPolicy, type VerificationPolicy } from '../../domain/verification';
import { DEFAULT_INTAKE_STALE_CLAIM_SECONDS, DEFAULT_RECORD_RETENTION_DAYS, DEFAULT_SNAPSHOT_MAX_AGE_SECONDS, DEFAULT_VERIFICATION_RESEND_SECONDS, VERIFY_LINK_TTL_SECONDS } from '../../domain/timings';
import { ENV } from './variables';

export { DEFAULT_RECORD_RETENTION_DAYS };


type Env = Record<string, string | undefined>;

/** A required variable. @throws ConfigurationError naming the variable when it is missing or blank. */
export function getStringFromEnv(name: string, env: Env = process.env): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') throw new ConfigurationError(`Missing required configuration ${name}`);
  return value.trim();
}

/** An optional variable, undefined when unset or blank. */
export function getOptionalStringFromEnv(name: string, env: Env = process.env): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** A numeric tunable with a default. @throws ConfigurationError when set but not a number in range. */
export function getNumberFromEnv(name: string, fallback: number, env: Env = process.env, range: { min?: number; max?: number } = {}): number {
  const raw = getOptionalStringFromEnv(name, env);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || (range.min !== undefined && value < range.min) || (range.max !== undefined && value > range.max)) {
    throw new ConfigurationError(`Configuration ${name} must be a number${range.min !== undefined ? ` ≥ ${range.min}` : ''}${range.max !== undefined ? ` ≤ ${range.max}` : ''}`);
  }
  return value;
}

/** The behaviour settings shared by every runtime (AWS and local). */
export interface WorkflowSettings {
  poll: PollPolicy;
  /** A snapshot older than this is recorded as stale at the workflow's re-check. */
  snapshotMaxAgeSeconds: number;
  /** Lifetime of an emailed verification link. */
  verificationTtlSeconds: number;
  /** An active request untouched this long without a running execution is restarted by the sweeper. */
  stuckAfterSeconds: number;
  /** A RECEIVED request this old never got its verification mail: the sweeper cancels it. */
  receivedStaleSeconds: number;
  /**
   * An open-request claim whose request is missing or still RECEIVED after this long was left by a
   * crash mid-intake: the next submission of the subject takes it over (default `DEFAULT_INTAKE_STALE_CLAIM_SECONDS`).
   */
  intakeStaleClaimSeconds?: number;
  /**
   * A request awaiting verification gets its link once more this long after the first mail (by
   * the sweeper), and a resubmission re-sends it no sooner (default `DEFAULT_VERIFICATION_RESEND_SECONDS`).
   */
  verificationResendSeconds?: number;
  /** The read-back of completed erasures: look-back, lag, sample share (VERIFY_*). */
  verification: VerificationPolicy;
}

/** Reads the workflow settings (POLL_*, SNAPSHOT_MAX_AGE_SECONDS, …) with their defaults. */
export function readWorkflowSettings(env: Env = process.env): WorkflowSettings {
  const initialSeconds = getNumberFromEnv(ENV.POLL_INITIAL_SECONDS, DEFAULT_POLL_POLICY.initialSeconds, env, { min: 1 });
  return {
    poll: {
      initialSeconds,
      maxSeconds: getNumberFromEnv(ENV.POLL_MAX_SECONDS, DEFAULT_POLL_POLICY.maxSeconds, env, { min: initialSeconds }),
      fraction: getNumberFromEnv(ENV.POLL_FRACTION, DEFAULT_POLL_POLICY.fraction, env, { min: 0.01, max: 1 }),
      deadlineSeconds: getNumberFromEnv(ENV.POLL_DEADLINE_SECONDS, DEFAULT_POLL_POLICY.deadlineSeconds, env, { min: 1 }),
    },
    snapshotMaxAgeSeconds: getNumberFromEnv(ENV.SNAPSHOT_MAX_AGE_SECONDS, DEFAULT_SNAPSHOT_MAX_AGE_SECONDS, env, { min: 1 }),
    verificationTtlSeconds: getNumberFromEnv(ENV.VERIFICATION_TTL_SECONDS, VERIFY_LINK_TTL_SECONDS, env, { min: 60 }),
    stuckAfterSeconds: getNumberFromEnv(ENV.STUCK_AFTER_SECONDS, 900, env, { min: 0 }),
    receivedStaleSeconds: getNumberFromEnv(ENV.RECEIVED_STALE_SECONDS, 900, env, { min: 0 }),
    intakeStaleClaimSeconds: getNumberFromEnv(ENV.INTAKE_STALE_CLAIM_SECONDS, DEFAULT_INTAKE_STALE_CLAIM_SECONDS, env, { min: 1 }),
    verificationResendSeconds: getNumberFromEnv(ENV.VERIFICATION_RESEND_SECONDS, DEFAULT_VERIFICATION_RESEND_SECONDS, env, { min: 1 }),
    verification: validVerificationPolicy({
      lookBackDays: Math.round(getNumberFromEnv(ENV.VERIFY_LOOK_BACK_DAYS, DEFAULT_VERIFICATION_POLICY.lookBackDays, env, { min: 1, max: 366 })),
      lagSeconds: getNumberFromEnv(ENV.VERIFY_LAG_SECONDS, DEFAULT_VERIFICATION_POLICY.lagSeconds, env, { min: 0, max: 86_400 }),
      sampleShare: getNumberFromEnv(ENV.VERIFY_SAMPLE_SHARE, DEFAULT_VERIFICATION_POLICY.sampleShare, env, { min: 0, max: 1 }),
      maxWaitSeconds: DEFAULT_VERIFICATION_POLICY.maxWaitSeconds,
    }),
  };
}
