/**
 * What each Lambda function uses of the outside world, declared once by the code. Each Lambda
 * entry builds its application with its own list (see `awsApplication`), and refuses to start
 * when a declared capability is not configured, naming the missing variable. The stack
 * (infra/constructs/functions.ts) gives each function the environment and grants of its
 * capabilities, and refuses to synthesize a function that lacks a variable its code declares,
 * so the two cannot drift apart silently.
 *
 * This module is imported by the CDK app as well: it holds data only, no SDK and no I/O.
 */
import { ENV } from './variables';

/** Every Lambda handler, by its file name under `functions/` (each exports `handler`). */
export const FUNCTION_NAMES = [
  'public-api',
  'audit-api',
  'ops-api',
  'console',
  'submit-erasure',
  'check-erasure-status',
  'record-outcome',
  'refresh-roles-snapshot',
  'sweep-requests',
  'run-canary',
  'sign-checkpoints',
  'verify-erasures',
] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/**
 * The environment variables each capability needs; every one is required once a function
 * declares the capability. Mail is not a capability here: a deployment without `mailFrom` runs
 * without it, and a use of the mailer then fails by name.
 */
export const CAPABILITY_VARIABLES = {
  /** The audit table (every function). */
  table: [ENV.TABLE_NAME],
  /** Subject HMAC and cipher keys, signed-link key (Secrets Manager). */
  appSecret: [ENV.APP_SECRET_ARN],
  /** The Kore.ai platform: its host and the app credentials (Secrets Manager). */
  kore: [ENV.KORE_BASE_URL, ENV.KORE_CREDENTIALS_SECRET_ARN],
  /** The KMS key that signs erasure receipts (never checkpoints). */
  receipts: [ENV.RECEIPT_SIGNING_KEY_ID],
  /** The Object Lock bucket of signed checkpoints and the checkpoint key (verify; sign for sign-checkpoints only). */
  checkpoints: [ENV.CHECKPOINT_BUCKET, ENV.CHECKPOINT_SIGNING_KEY_ID],
  /** The erasure state machine (start, describe, redrive). */
  workflow: [ENV.STATE_MACHINE_ARN],
  /** The issuer of staff tokens. */
  staff: [ENV.STAFF_ISSUER, ENV.STAFF_AUDIENCE, ENV.STAFF_JWKS_URL, ENV.STAFF_ROLES_CLAIM],
  /** The site's origin, for links in pages and mails. */
  links: [ENV.PUBLIC_BASE_URL],
  /** The refresh-roles-snapshot function, asked to rebuild the snapshot on demand. */
  rolesRefresh: [ENV.ROLES_REFRESH_FUNCTION_NAME],
  /** The canary's test user and bots. */
  canary: [ENV.CANARY_BOT_IDS, ENV.CANARY_USER_ID],
  /** Batched erasures: the batch size and the gathering window (the batches and shared job statuses live in the table). */
  batching: [ENV.ERASURE_BATCH_SIZE, ENV.ERASURE_BATCH_GATHER_SECONDS],
} as const satisfies Record<string, readonly string[]>;
export type Capability = keyof typeof CAPABILITY_VARIABLES;

/**
 * The capabilities each function's code uses. Whatever a function does not declare it is not
 * given: sign-checkpoints, for one, never holds the app secret (it signs hashes and needs no
 * subject key), and the console and the ops API ask refresh-roles-snapshot for a new snapshot
 * instead of holding the Kore.ai credentials and batch-writing the table themselves.
 */
export const FUNCTION_CAPABILITIES: Readonly<Record<FunctionName, readonly Capability[]>> = {
  'public-api': ['table', 'appSecret', 'receipts', 'workflow', 'links'],
  'audit-api': ['table', 'appSecret', 'checkpoints', 'staff'],
  'ops-api': ['table', 'appSecret', 'checkpoints', 'workflow', 'staff', 'links', 'rolesRefresh'],
  console: ['table', 'appSecret', 'checkpoints', 'workflow', 'staff', 'links', 'rolesRefresh'],
  'submit-erasure': ['table', 'appSecret', 'kore', 'batching'],
  'check-erasure-status': ['table', 'appSecret', 'kore', 'batching'],
  'record-outcome': ['table', 'appSecret', 'links'],
  'refresh-roles-snapshot': ['table', 'appSecret', 'kore'],
  'sweep-requests': ['table', 'appSecret', 'workflow', 'links'],
  'run-canary': ['table', 'appSecret', 'workflow', 'canary'],
  'sign-checkpoints': ['table', 'checkpoints'],
  'verify-erasures': ['table', 'appSecret', 'kore'],
};

/** The variables a function's declared capabilities require, sorted. */
export function requiredVariables(name: FunctionName): string[] {
  return [...new Set(FUNCTION_CAPABILITIES[name].flatMap((c) => CAPABILITY_VARIABLES[c]))].sort();
}
