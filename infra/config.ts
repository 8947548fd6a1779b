/**
 * Stack configuration, read once from CDK context (`cdk.json` "context" or `-c key=value`) and
 * validated before any construct is built, so a typo fails `cdk synth` instead of a deployment.
 *
 * | context key | default | meaning |
 * |---|---|---|
 * | `koreBaseUrl` | `https://bots.kore.ai` | Kore.ai XO Platform host (https) the workflow calls |
 * | `publicBaseUrl` | the API's own URL | origin used in mailed links (set it when a custom domain fronts the API) |
 * | `mailFrom` | none | SES identity (address or domain) mails are sent from; without it the API cannot mail |
 * | `mailIdentity` | `create` | `create`: the stack creates the SES identity of `mailFrom`; `existing`: it is verified in the account already (CloudFormation cannot create it twice) |
 * | `staffIssuer`, `staffAudience`, `staffJwksUrl` | a Cognito user pool | OIDC issuer of staff tokens; all three together or none |
 * | `rolesClaim` | `cognito:groups` | JWT claim carrying staff roles (`auditor`, `ops`) |
 * | `alarmEmail` | none | address subscribed to the alarm topic |
 * | `canaryBotIds`, `canaryUserId` | none | canary bot ids (comma separated) and test user; the canary runs only when both are set |
 * | `pollInitialSeconds` | 10 | first wait before polling the Kore.ai job status |
 * | `pollMaxSeconds` | 1800 | cap of the exponential poll backoff |
 * | `pollDeadlineSeconds` | 604800 (7 days) | after this the attempt is TIMED_OUT |
 * | `snapshotMaxAgeSeconds` | 3600 | oldest user-roles snapshot an eligibility decision may use |
 * | `recordRetentionDays` | 2190 (≈ 6 years) | TTL of audit records (`expiresAt`) |
 * | `apiThrottleRate`, `apiThrottleBurst` | 20, 50 | API Gateway default stage throttling (requests/s, burst) |
 * | `stuckAfterSeconds`, `receivedStaleSeconds`, `verificationTtlSeconds`, `verificationResendSeconds`, `intakeStaleClaimSeconds` | the functions' own (900, 900, 1800, 600, 120) | request lifecycle timings (STUCK_AFTER_SECONDS, …); only set ones reach the functions' environment |
 * | `koreTimeoutMs` | the client's (10000) | timeout of one Kore.ai call (KORE_TIMEOUT_MS), 100–20000 |
 * | `koreBudgetPerMinute`, `koreBudgetPerHour` | 60, 1800 | the account's Kore.ai rate limits the shared call budget keeps under (KORE_BUDGET_PER_MINUTE, KORE_BUDGET_PER_HOUR) |
 * | `koreBudgetMargin` | 0.1 | share of each limit the budget leaves unused (KORE_BUDGET_MARGIN), 0–0.9 |
 * | `rolesRefreshShare` | 0.25 | share of the hourly call allowance the roles paging takes on average (ROLES_REFRESH_SHARE), 0.01–1 |
 * | `rolesRefreshIntervalSeconds` | 3600 | shortest time between the starts of two roles refreshes (ROLES_REFRESH_INTERVAL_SECONDS) |
 * | `erasureBatchSize` | 50 | most users in one erase DELETE (ERASURE_BATCH_SIZE), 1–1000; 1 sends every request alone |
 * | `erasureBatchGatherSeconds` | 2 | how long a batch waits for company (ERASURE_BATCH_GATHER_SECONDS), 1–60 |
 * | `verifyLookBackDays` | 14 | days before a completed erasure whose sessions the read-back asks Kore.ai for (VERIFY_LOOK_BACK_DAYS), 1–366, read in windows of at most 7 days |
 * | `verifyLagSeconds` | 300 | wait after the completion before the first read-back, and before its one re-check (VERIFY_LAG_SECONDS), 0–86400 |
 * | `verifySampleShare` | 1 | share of completed erasures read back (VERIFY_SAMPLE_SHARE), 0–1; the canary always is |
 * | `koreBudgetTimeScale` | 1 | compresses the budget's windows (KORE_BUDGET_TIME_SCALE), for test stacks against a compressed simulator only |
 * | `reserveConcurrency` | false | reserve 1 concurrent execution per scheduled job (so runs never overlap); Lambda keeps 100 executions of the account unreserved, so this needs a concurrency limit above 100 plus the jobs (3, 4 with the canary): a new account's limit of 10 refuses it |
 * | `checkpointLockMode` | `COMPLIANCE` | Object Lock mode of the checkpoint bucket; `GOVERNANCE` for test stacks, whose checkpoints someone with `s3:BypassGovernanceRetention` can delete |
 */
import { z } from 'zod';
import { DEFAULT_RECORD_RETENTION_DAYS, DEFAULT_SNAPSHOT_MAX_AGE_SECONDS } from '../functions/domain/timings';
import { ENV } from '../functions/adapters/env/variables';
import { DEFAULT_BATCH_GATHER_SECONDS, DEFAULT_BATCH_SIZE } from '../functions/domain/erasure-batch';

/** Validated stack configuration. */
export interface ErasureDeskConfig {
  readonly koreBaseUrl: string;
  /** Timeout of one Kore.ai call; undefined keeps the client's default. */
  readonly koreTimeoutMs?: number;
  /** The shared Kore.ai call budget: the account's limits, the share left unused, the time scale of its windows. */
  readonly koreBudget: { readonly perMinute: number; readonly perHour: number; readonly margin: number; readonly timeScale: number };
  /** The paced roles refresh: its share of the hourly call allowance and its shortest interval. */
  readonly rolesRefresh: { readonly share: number; readonly intervalSeconds: number };
  /** Batched erasures: users in one DELETE and the gathering window. */
  readonly erasureBatch: { readonly size: number; readonly gatherSeconds: number };
  /** The read-back of completed erasures (functions/domain/verification.ts). */
  readonly verification: { readonly lookBackDays: number; readonly lagSeconds: number; readonly sampleShare: number };
  readonly publicBaseUrl?: string;
  readonly mailFrom?: string;
  /** External OIDC issuer of staff tokens; undefined means "create a Cognito user pool". */
  readonly staffIdentity?: { readonly issuer: string; readonly audience: string; readonly jwksUrl: string };
  readonly rolesClaim: string;
  readonly alarmEmail?: string;
  /** Canary target; undefined means no canary schedule. */
  readonly canary?: { readonly botIds: readonly string[]; readonly userId: string };
  readonly pollInitialSeconds: number;
  readonly pollMaxSeconds: number;
  readonly pollDeadlineSeconds: number;
  readonly snapshotMaxAgeSeconds: number;
  readonly recordRetentionDays: number;
  readonly apiThrottle: { readonly rateLimit: number; readonly burstLimit: number };
  readonly reserveConcurrency: boolean;
  /** Lifecycle timings given in context, by environment variable (unset ones keep the functions' defaults). */
  readonly lifecycle: Readonly<Partial<Record<LifecycleVariable, number>>>;
  /** Whether the stack creates the SES identity of `mailFrom` (only meaningful with `mailFrom`). */
  readonly createMailIdentity: boolean;
  readonly checkpointLockMode: 'COMPLIANCE' | 'GOVERNANCE';
}

/** Context keys of the request lifecycle timings and the variable each sets. */
export const LIFECYCLE_KEYS = {
  stuckAfterSeconds: ENV.STUCK_AFTER_SECONDS,
  receivedStaleSeconds: ENV.RECEIVED_STALE_SECONDS,
  verificationTtlSeconds: ENV.VERIFICATION_TTL_SECONDS,
  verificationResendSeconds: ENV.VERIFICATION_RESEND_SECONDS,
  intakeStaleClaimSeconds: ENV.INTAKE_STALE_CLAIM_SECONDS,
} as const;
export type LifecycleVariable = (typeof LIFECYCLE_KEYS)[keyof typeof LIFECYCLE_KEYS];

/** Every context key this app reads (anything else in context is CDK's own business). */
export const CONFIG_KEYS = [
  'koreBaseUrl',
  'koreTimeoutMs',
  'koreBudgetPerMinute',
  'koreBudgetPerHour',
  'koreBudgetMargin',
  'koreBudgetTimeScale',
  'rolesRefreshShare',
  'rolesRefreshIntervalSeconds',
  'erasureBatchSize',
  'erasureBatchGatherSeconds',
  'verifyLookBackDays',
  'verifyLagSeconds',
  'verifySampleShare',
  'publicBaseUrl',
  'mailFrom',
  'staffIssuer',
  'staffAudience',
  'staffJwksUrl',
  'rolesClaim',
  'alarmEmail',
  'canaryBotIds',
  'canaryUserId',
  'pollInitialSeconds',
  'pollMaxSeconds',
  'pollDeadlineSeconds',
  'snapshotMaxAgeSeconds',
  'recordRetentionDays',
  'apiThrottleRate',
  'apiThrottleBurst',
  'reserveConcurrency',
  ...(Object.keys(LIFECYCLE_KEYS) as Array<keyof typeof LIFECYCLE_KEYS>),
  'mailIdentity',
  'checkpointLockMode',
] as const;

/** Thrown when context values are missing, malformed or inconsistent. */
export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** `-c key=` and `-c key=""` mean "not set"; context values from the CLI are always strings. */
const optionalText = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() === '' ? undefined : typeof v === 'string' ? v.trim() : v),
  z.string().optional(),
);
const httpsUrl = z
  .string()
  .trim()
  .url()
  .refine((u) => u.startsWith('https://'), 'must be an https:// URL')
  .transform((u) => u.replace(/\/+$/, ''));
const optionalHttpsUrl = z.preprocess((v) => (v === '' ? undefined : v), httpsUrl.optional());
const positiveInt = (fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(
    (v) => (v === undefined || v === '' ? fallback : typeof v === 'string' ? Number(v) : v),
    z.number().int().positive().max(max),
  );
/** A number in [min, max] with a default (context values from the CLI are strings). */
const fraction = (fallback: number, min: number, max: number) =>
  z.preprocess((v) => (v === undefined || v === '' ? fallback : typeof v === 'string' ? Number(v) : v), z.number().min(min).max(max));
/** An optional whole number of seconds (at least `min`, at most 30 days). */
const optionalSeconds = (min: number) =>
  z.preprocess(
    (v) => (v === undefined || v === '' ? undefined : typeof v === 'string' ? Number(v) : v),
    z.number().int().min(min).max(30 * 86_400).optional(),
  );
const email = z.string().regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'must be an email address');
const sesIdentity = z.string().regex(/^([^\s@]+@)?[a-z0-9-]+(\.[a-z0-9-]+)+$/i, 'must be an email address or a domain');
const botIds = z.preprocess(
  (v) =>
    v === undefined || v === ''
      ? undefined
      : typeof v === 'string'
        ? v.split(',').map((s) => s.trim()).filter(Boolean)
        : v,
  z.array(z.string().regex(/^st-[A-Za-z0-9-]+$/, 'bot ids look like st-…')).min(1).optional(),
);

const schema = z
  .object({
    koreBaseUrl: z.preprocess((v) => (v === undefined || v === '' ? 'https://bots.kore.ai' : v), httpsUrl),
    koreTimeoutMs: z.preprocess(
      (v) => (v === undefined || v === '' ? undefined : typeof v === 'string' ? Number(v) : v),
      z.number().int().min(100).max(20_000).optional(),
    ),
    koreBudgetPerMinute: positiveInt(60, 100_000),
    koreBudgetPerHour: positiveInt(1800, 10_000_000),
    koreBudgetMargin: fraction(0.1, 0, 0.9),
    koreBudgetTimeScale: fraction(1, 0.0001, 1),
    rolesRefreshShare: fraction(0.25, 0.01, 1),
    rolesRefreshIntervalSeconds: positiveInt(3600, 7 * 86_400),
    erasureBatchSize: positiveInt(DEFAULT_BATCH_SIZE, 1000),
    erasureBatchGatherSeconds: positiveInt(DEFAULT_BATCH_GATHER_SECONDS, 60),
    verifyLookBackDays: positiveInt(14, 366),
    verifyLagSeconds: fraction(300, 0, 86_400).pipe(z.number().int()),
    verifySampleShare: fraction(1, 0, 1),
    publicBaseUrl: optionalHttpsUrl,
    mailFrom: optionalText.pipe(sesIdentity.optional()),
    staffIssuer: optionalHttpsUrl,
    staffAudience: optionalText,
    staffJwksUrl: optionalHttpsUrl,
    rolesClaim: optionalText.transform((v) => v ?? 'cognito:groups'),
    alarmEmail: optionalText.pipe(email.optional()),
    canaryBotIds: botIds,
    canaryUserId: optionalText,
    pollInitialSeconds: positiveInt(10, 3600),
    pollMaxSeconds: positiveInt(1800, 86_400),
    pollDeadlineSeconds: positiveInt(604_800, 30 * 86_400),
    snapshotMaxAgeSeconds: positiveInt(DEFAULT_SNAPSHOT_MAX_AGE_SECONDS, 7 * 86_400),
    recordRetentionDays: positiveInt(DEFAULT_RECORD_RETENTION_DAYS, 36_500),
    apiThrottleRate: positiveInt(20, 10_000),
    apiThrottleBurst: positiveInt(50, 5_000),
    stuckAfterSeconds: optionalSeconds(0),
    receivedStaleSeconds: optionalSeconds(0),
    verificationTtlSeconds: optionalSeconds(60),
    verificationResendSeconds: optionalSeconds(1),
    intakeStaleClaimSeconds: optionalSeconds(1),
    // Off by default: a new account's concurrency limit of 10 refuses any reservation.
    reserveConcurrency: z.preprocess(
      (v) => (v === undefined || v === '' ? false : v === 'true' ? true : v === 'false' ? false : v),
      z.boolean(),
    ),
    mailIdentity: z.preprocess((v) => (v === undefined || v === '' ? 'create' : v), z.enum(['create', 'existing'])),
    checkpointLockMode: z.preprocess(
      (v) => (v === undefined || v === '' ? 'COMPLIANCE' : typeof v === 'string' ? v.trim().toUpperCase() : v),
      z.enum(['COMPLIANCE', 'GOVERNANCE']),
    ),
  })
  .superRefine((c, ctx) => {
    const staff = [c.staffIssuer, c.staffAudience, c.staffJwksUrl].filter((v) => v !== undefined).length;
    if (staff !== 0 && staff !== 3) {
      ctx.addIssue({
        code: 'custom',
        path: ['staffIssuer'],
        message: 'staffIssuer, staffAudience and staffJwksUrl go together: set all three or none (none = Cognito)',
      });
    }
    if ((c.canaryBotIds === undefined) !== (c.canaryUserId === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['canaryBotIds'], message: 'canaryBotIds and canaryUserId go together' });
    }
    if (c.pollInitialSeconds > c.pollMaxSeconds) {
      ctx.addIssue({ code: 'custom', path: ['pollInitialSeconds'], message: 'must not exceed pollMaxSeconds' });
    }
    if (c.pollMaxSeconds > c.pollDeadlineSeconds) {
      ctx.addIssue({ code: 'custom', path: ['pollMaxSeconds'], message: 'must not exceed pollDeadlineSeconds' });
    }
  });

/**
 * Validates raw context values into the stack configuration.
 * @param read returns the raw context value of a key (e.g. `(k) => app.node.tryGetContext(k)`).
 * @throws ConfigError naming every bad key (values are not echoed: they may be addresses).
 */
export function readConfig(read: (key: string) => unknown): ErasureDeskConfig {
  const raw = Object.fromEntries(CONFIG_KEYS.map((k) => [k, read(k)]));
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new ConfigError(`Invalid CDK context: ${problems.join('; ')}`);
  }
  const c = parsed.data;
  return {
    koreBaseUrl: c.koreBaseUrl,
    ...(c.koreTimeoutMs !== undefined ? { koreTimeoutMs: c.koreTimeoutMs } : {}),
    koreBudget: { perMinute: c.koreBudgetPerMinute, perHour: c.koreBudgetPerHour, margin: c.koreBudgetMargin, timeScale: c.koreBudgetTimeScale },
    rolesRefresh: { share: c.rolesRefreshShare, intervalSeconds: c.rolesRefreshIntervalSeconds },
    erasureBatch: { size: c.erasureBatchSize, gatherSeconds: c.erasureBatchGatherSeconds },
    verification: { lookBackDays: c.verifyLookBackDays, lagSeconds: c.verifyLagSeconds, sampleShare: c.verifySampleShare },
    publicBaseUrl: c.publicBaseUrl,
    mailFrom: c.mailFrom,
    staffIdentity:
      c.staffIssuer && c.staffAudience && c.staffJwksUrl
        ? { issuer: c.staffIssuer, audience: c.staffAudience, jwksUrl: c.staffJwksUrl }
        : undefined,
    rolesClaim: c.rolesClaim,
    alarmEmail: c.alarmEmail,
    canary: c.canaryBotIds && c.canaryUserId ? { botIds: c.canaryBotIds, userId: c.canaryUserId } : undefined,
    pollInitialSeconds: c.pollInitialSeconds,
    pollMaxSeconds: c.pollMaxSeconds,
    pollDeadlineSeconds: c.pollDeadlineSeconds,
    snapshotMaxAgeSeconds: c.snapshotMaxAgeSeconds,
    recordRetentionDays: c.recordRetentionDays,
    apiThrottle: { rateLimit: c.apiThrottleRate, burstLimit: c.apiThrottleBurst },
    reserveConcurrency: c.reserveConcurrency,
    lifecycle: Object.fromEntries(
      Object.entries(LIFECYCLE_KEYS).flatMap(([key, variable]) => {
        const value = c[key as keyof typeof LIFECYCLE_KEYS];
        return value === undefined ? [] : [[variable, value]];
      }),
    ),
    createMailIdentity: c.mailIdentity === 'create',
    checkpointLockMode: c.checkpointLockMode,
  };
}
