/**
 * The defaults of the request lifecycle's timings, written once: the intake, the sweeper, the
 * settings read from the environment (adapters/env/settings.ts) and the stack's context keys
 * (infra/config.ts) all take them from here.
 */

/** How long a verification link works; unverified requests expire after this (the sweeper's rule). */
export const VERIFY_LINK_TTL_SECONDS = 30 * 60;

/** A request awaiting verification gets its link once more this long after the first mail. */
export const DEFAULT_VERIFICATION_RESEND_SECONDS = 600;

/** An open-request claim whose request is missing or still RECEIVED after this long was left by a crash. */
export const DEFAULT_INTAKE_STALE_CLAIM_SECONDS = 120;

/** Record retention (the `expiresAt` TTL), about six years. */
export const DEFAULT_RECORD_RETENTION_DAYS = 2190;

/** The oldest user-roles snapshot an eligibility decision may use before it is recorded as stale. */
export const DEFAULT_SNAPSHOT_MAX_AGE_SECONDS = 3600;
