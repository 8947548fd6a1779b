/**
 * Every environment variable a Lambda function of the desk reads, by name, written once: the
 * functions read them through `ENV`, the stack (infra/constructs/functions.ts) sets them through
 * `ENV`, and the local runtime passes its settings through `ENV`. `test/infra/environment.test.ts`
 * checks both ways against the synthesized template: every variable the template gives a function
 * is here, and every name here is given to some function or is optional for a stated reason.
 *
 * Data only: the CDK app imports this module too.
 */
export const ENV = {
  // Every function.
  /** The audit table. */
  TABLE_NAME: 'TABLE_NAME',
  /** The Powertools logger's service name (read by our logger). */
  POWERTOOLS_SERVICE_NAME: 'POWERTOOLS_SERVICE_NAME',
  /** The Powertools log level (read by Powertools). */
  LOG_LEVEL: 'LOG_LEVEL',
  /** Node's options: source maps for stack traces (read by Node). */
  NODE_OPTIONS: 'NODE_OPTIONS',
  /** TTL of the records a function creates. */
  RECORD_RETENTION_DAYS: 'RECORD_RETENTION_DAYS',

  // Capabilities (functions/adapters/env/capabilities.ts).
  APP_SECRET_ARN: 'APP_SECRET_ARN',
  KORE_BASE_URL: 'KORE_BASE_URL',
  KORE_CREDENTIALS_SECRET_ARN: 'KORE_CREDENTIALS_SECRET_ARN',
  RECEIPT_SIGNING_KEY_ID: 'RECEIPT_SIGNING_KEY_ID',
  CHECKPOINT_BUCKET: 'CHECKPOINT_BUCKET',
  CHECKPOINT_SIGNING_KEY_ID: 'CHECKPOINT_SIGNING_KEY_ID',
  STATE_MACHINE_ARN: 'STATE_MACHINE_ARN',
  STAFF_ISSUER: 'STAFF_ISSUER',
  STAFF_AUDIENCE: 'STAFF_AUDIENCE',
  STAFF_JWKS_URL: 'STAFF_JWKS_URL',
  STAFF_ROLES_CLAIM: 'STAFF_ROLES_CLAIM',
  PUBLIC_BASE_URL: 'PUBLIC_BASE_URL',
  ROLES_REFRESH_FUNCTION_NAME: 'ROLES_REFRESH_FUNCTION_NAME',
  CANARY_BOT_IDS: 'CANARY_BOT_IDS',
  CANARY_USER_ID: 'CANARY_USER_ID',
  /** The sender of mail; a deployment without it sends none. */
  MAIL_FROM: 'MAIL_FROM',

  // The Kore.ai client and its call budget.
  KORE_TIMEOUT_MS: 'KORE_TIMEOUT_MS',
  KORE_BUDGET_PER_MINUTE: 'KORE_BUDGET_PER_MINUTE',
  KORE_BUDGET_PER_HOUR: 'KORE_BUDGET_PER_HOUR',
  KORE_BUDGET_MARGIN: 'KORE_BUDGET_MARGIN',
  KORE_BUDGET_TIME_SCALE: 'KORE_BUDGET_TIME_SCALE',

  // Batched erasures (functions/adapters/env/batch-settings.ts).
  ERASURE_BATCH_SIZE: 'ERASURE_BATCH_SIZE',
  ERASURE_BATCH_GATHER_SECONDS: 'ERASURE_BATCH_GATHER_SECONDS',

  // The paced roles refresh.
  ROLES_REFRESH_SHARE: 'ROLES_REFRESH_SHARE',
  ROLES_REFRESH_INTERVAL_SECONDS: 'ROLES_REFRESH_INTERVAL_SECONDS',
  ROLES_REFRESH_RUN_SECONDS: 'ROLES_REFRESH_RUN_SECONDS',

  // The read-back of completed erasures (functions/domain/verification.ts).
  VERIFY_LOOK_BACK_DAYS: 'VERIFY_LOOK_BACK_DAYS',
  VERIFY_LAG_SECONDS: 'VERIFY_LAG_SECONDS',
  VERIFY_SAMPLE_SHARE: 'VERIFY_SAMPLE_SHARE',

  // Workflow and lifecycle settings (functions/adapters/env/settings.ts).
  POLL_INITIAL_SECONDS: 'POLL_INITIAL_SECONDS',
  POLL_MAX_SECONDS: 'POLL_MAX_SECONDS',
  POLL_DEADLINE_SECONDS: 'POLL_DEADLINE_SECONDS',
  POLL_FRACTION: 'POLL_FRACTION',
  SNAPSHOT_MAX_AGE_SECONDS: 'SNAPSHOT_MAX_AGE_SECONDS',
  VERIFICATION_TTL_SECONDS: 'VERIFICATION_TTL_SECONDS',
  VERIFICATION_RESEND_SECONDS: 'VERIFICATION_RESEND_SECONDS',
  STUCK_AFTER_SECONDS: 'STUCK_AFTER_SECONDS',
  RECEIVED_STALE_SECONDS: 'RECEIVED_STALE_SECONDS',
  INTAKE_STALE_CLAIM_SECONDS: 'INTAKE_STALE_CLAIM_SECONDS',

  // Staff tokens.
  STAFF_MAX_TOKEN_AGE_SECONDS: 'STAFF_MAX_TOKEN_AGE_SECONDS',
} as const;

export type EnvName = keyof typeof ENV;

const WHEN_CONFIGURED = 'set only when its context key is configured (infra/config.ts); the default otherwise';
const NO_CONTEXT_KEY = 'a tunable without a context key: the stack never sets it, the default applies (a deployment may set it by hand)';

/** The variables a function reads that a fully configured stack may still leave unset, and why. */
export const OPTIONAL_ENV: Readonly<Partial<Record<EnvName, string>>> = {
  KORE_TIMEOUT_MS: WHEN_CONFIGURED,
  STUCK_AFTER_SECONDS: WHEN_CONFIGURED,
  RECEIVED_STALE_SECONDS: WHEN_CONFIGURED,
  VERIFICATION_TTL_SECONDS: WHEN_CONFIGURED,
  VERIFICATION_RESEND_SECONDS: WHEN_CONFIGURED,
  INTAKE_STALE_CLAIM_SECONDS: WHEN_CONFIGURED,
  POLL_FRACTION: NO_CONTEXT_KEY,
  ROLES_REFRESH_RUN_SECONDS: NO_CONTEXT_KEY,
  STAFF_MAX_TOKEN_AGE_SECONDS: NO_CONTEXT_KEY,
};
