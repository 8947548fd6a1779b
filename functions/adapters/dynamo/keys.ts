/**
 * How each kind of item is keyed. The only place that spells the `pk`/`sk` prefixes.
 */

/**
 * The partition-key prefix of each kind of item. The stack scopes each function's writes to the
 * kinds it needs with the IAM condition `dynamodb:LeadingKeys` (infra/constructs/functions.ts),
 * so a new kind of item needs an entry here and a deliberate grant there.
 */
export const PARTITION_PREFIXES = {
  /** `REQ#<id>`: a request's META projection and its events. */
  request: 'REQ#',
  /** `SUBJECT#<hmac>`: open-request claims of a subject. */
  subject: 'SUBJECT#',
  /** `TOKEN#<jti>`: consumed single-use link tokens. */
  token: 'TOKEN#',
  /** `RATE#<digest>`: rate-limit windows. */
  rate: 'RATE#',
  /** `PRIV#<hmac>`: privileged identities of a roles snapshot. */
  identity: 'PRIV#',
  /** `SNAPSHOT`: the pointer to the current roles snapshot (the whole key, no suffix). */
  snapshot: 'SNAPSHOT',
  /** `BOT#<botId>`: the account's bots in a roles snapshot (known bot ids for the intake). */
  bot: 'BOT#',
  /** `SESSION#<hash>`: signed-out staff sessions. */
  session: 'SESSION#',
  /** `BUDGET`: the shared Kore.ai call budget (the whole key, no suffix). */
  budget: 'BUDGET',
  /** `BATCH#<scope digest>`: gathering-window counters and batches of erasures. */
  batch: 'BATCH#',
  /** `JOB#<Kore.ai job id>`: the shared status of a batch's job. */
  job: 'JOB#',
} as const;
export type ItemKind = keyof typeof PARTITION_PREFIXES;

/** Events are numbered 1…99,999,999; zero-padding keeps the sort key in sequence order. */
export const EVENT_SEQ_WIDTH = 8;
export const MAX_EVENT_SEQ = 10 ** EVENT_SEQ_WIDTH - 1;

export const META_SK = 'META';
export const EVENT_SK_PREFIX = 'EVT#';

export const requestPk = (requestId: string) => `${PARTITION_PREFIXES.request}${requestId}`;

/** @throws RangeError when `seq` is not an integer in 1…MAX_EVENT_SEQ. */
export function eventSk(seq: number): string {
  if (!Number.isInteger(seq) || seq < 1 || seq > MAX_EVENT_SEQ) throw new RangeError('Event sequence number out of range');
  return `${EVENT_SK_PREFIX}${String(seq).padStart(EVENT_SEQ_WIDTH, '0')}`;
}

/** The sort key of the byStatus index: time order, ties broken by id (stable pagination). */
export const listKey = (receivedAt: string, requestId: string) => `${receivedAt}#${requestId}`;

export const openClaimKey = (subjectHash: string, scopeKey: string) => ({ pk: `${PARTITION_PREFIXES.subject}${subjectHash}`, sk: `OPEN#${scopeKey}` });

export const tokenKey = (jti: string) => ({ pk: `${PARTITION_PREFIXES.token}${jti}`, sk: 'USED' });

/** A signed-out staff session, by the hash of its token. */
export const revokedSessionKey = (sessionId: string) => ({ pk: `${PARTITION_PREFIXES.session}${sessionId}`, sk: 'REVOKED' });

export const rateWindowKey = (keyDigest: string, windowSeconds: number, windowStart: number) => ({
  pk: `${PARTITION_PREFIXES.rate}${keyDigest}`,
  sk: `W#${windowSeconds}#${windowStart}`,
});

export const identityKey = (subjectHash: string, version: string) => ({ pk: `${PARTITION_PREFIXES.identity}${subjectHash}`, sk: `V#${version}` });

/** A bot of the account in one snapshot version (bot ids are no personal data: kept plain). */
export const botKey = (botId: string, version: string) => ({ pk: `${PARTITION_PREFIXES.bot}${botId}`, sk: `V#${version}` });

export const SNAPSHOT_POINTER_KEY = { pk: PARTITION_PREFIXES.snapshot, sk: 'CURRENT' } as const;

/** The cursor of a roles refresh under way (beside the pointer: the refresher writes both). */
export const SNAPSHOT_REFRESH_KEY = { pk: PARTITION_PREFIXES.snapshot, sk: 'REFRESH' } as const;

/** The one Kore.ai call budget of the deployment. */
export const CALL_BUDGET_KEY = { pk: PARTITION_PREFIXES.budget, sk: 'KORE' } as const;

/** The gathering window of one scope: when it began and the joins so far. */
export const batchWindowKey = (scopeDigest: string) => ({ pk: `${PARTITION_PREFIXES.batch}${scopeDigest}`, sk: 'WINDOW' });

/** One batch of erasures: its scope, its window and its number in the window. */
export const batchKey = (scopeDigest: string, windowStart: number, number: number) => ({ pk: `${PARTITION_PREFIXES.batch}${scopeDigest}`, sk: `B#${windowStart}#${number}` });

/** The shared status of one Kore.ai job (a job id is the platform's, no personal data). */
export const jobStatusKey = (koreRequestId: string) => ({ pk: `${PARTITION_PREFIXES.job}${koreRequestId}`, sk: 'STATUS' });

/** Epoch seconds, the unit of the TTL attribute. */
export const epochSeconds = (date: Date) => Math.floor(date.getTime() / 1000);
