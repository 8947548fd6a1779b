/**
 * Batched erasures: the pure rules and the ports of the stores they need.
 *
 * Verified requests of the same scope (the same `botIds`, or all bots) that wait for submission
 * at about the same time go to Kore.ai together, in one `DELETE /api/public/bot/eraseUsersData`
 * whose `userIds` holds every member, and one status check a round serves the whole job (each
 * member reads its own user's entry of `response[]`). Each request keeps its own attempt, audit
 * timeline, receipt and one-DELETE-per-attempt guarantee: the batch is only how the call is made.
 *
 * Gathering. The first request of a scope to join after a quiet spell opens a gathering window
 * of `gatherMs`; the n-th request to join within it goes to batch ⌈n / size⌉ of that window. A
 * batch closes when its window is over or when it is full (the request that fills it sends it at
 * once by the member whose write completes it), so no request waits longer than one window for
 * company. A clock moved back (tests move the functions' clock) makes a window look as if it had
 * not begun: such a window counts as over, never as one to wait for — unless it begins less than
 * {@link WINDOW_CLOCK_TOLERANCE_MS} ahead: two members joining at once read their clocks a few
 * milliseconds apart, and the one that read first must join the window the other just opened.
 *
 * Sending. A closed batch is claimed by one member with a conditional write; the claimer records
 * every member's intent on that member's timeline, marks the batch `sending` with the members it
 * includes, sends the DELETE and records the answer on the batch and on every member's timeline.
 * The others wait two seconds at a time (a Step Functions wait, `budgetWait.reason: 'gathering'`)
 * and read the batch. A claim not yet `sending` sent nothing: once it is dead (its claimer gone
 * for {@link ErasureBatchPolicy.claimStaleMs}) another member takes it over and sends. A batch
 * left `sending` by a dead claimer may have been accepted: every member's outcome is unknown, as
 * for a single request whose answer was lost. The normal path never waits on a stale claim: the
 * claimer sends within its own run.
 */

/** Why the defaults are what they are (see {@link DEFAULT_BATCH_POLICY}). */
export interface ErasureBatchPolicy {
  /** Most users in one DELETE; 1 turns batching off. */
  size: number;
  /** Length of a gathering window, ms. */
  gatherMs: number;
  /** A claim of a batch whose claimer has been silent this long is dead and may be taken over, ms. */
  claimStaleMs: number;
  /** How long one member may hold a shared job's status check before others take it, ms. */
  statusClaimMs: number;
  /**
   * How long a member waits before it reads a batch claimed by another, or a status check under
   * way, ms. Every read is a task run: a short wait costs the store and the functions more than
   * it saves a member whose sender is busy recording 50 timelines.
   */
  pollMs: number;
}

/**
 * The default batch size, 50 users a DELETE (`erasureBatchSize`, ERASURE_BATCH_SIZE; 1 sends every
 * request alone):
 * - Kore.ai documents no maximum count of `userIds`; 50 ids (at most 320 characters each) keep
 *   the body near 16 KB, far under any URL or body limit a proxy on the way may have, and match
 *   the page size the platform documents for its user-roles listing;
 * - blast radius: a refusal of one user refuses the whole batch (docs/kore-platform.md), after
 *   which each member is sent alone, so a batch costs at most size + 1 DELETEs when it goes wrong;
 *   a lost answer leaves every member's outcome unknown (each then fails for an ops retry); 50
 *   keeps both bounded;
 * - 2 calls (one DELETE, one status check) for 50 erasures is 0.04 calls an erasure, far under
 *   the goal of 0.25, so a larger batch would buy nothing the budget needs.
 */
export const DEFAULT_BATCH_SIZE = 50;
/** The default gathering window: 2 s, short next to the polling that follows and to any deadline. */
export const DEFAULT_BATCH_GATHER_SECONDS = 2;

export const DEFAULT_BATCH_POLICY: ErasureBatchPolicy = {
  size: DEFAULT_BATCH_SIZE,
  gatherMs: DEFAULT_BATCH_GATHER_SECONDS * 1000,
  claimStaleMs: 90_000,
  statusClaimMs: 20_000,
  pollMs: 2000,
};

/** @throws RangeError when a value is out of range. */
export function batchPolicy(options: { size?: number; gatherSeconds?: number } = {}): ErasureBatchPolicy {
  const size = options.size ?? DEFAULT_BATCH_SIZE;
  const gatherSeconds = options.gatherSeconds ?? DEFAULT_BATCH_GATHER_SECONDS;
  if (!Number.isInteger(size) || size < 1 || size > 1000) throw new RangeError('The batch size must be an integer from 1 to 1000');
  if (!Number.isInteger(gatherSeconds) || gatherSeconds < 1 || gatherSeconds > 60) throw new RangeError('The gathering window must be 1 to 60 whole seconds');
  return { ...DEFAULT_BATCH_POLICY, size, gatherMs: gatherSeconds * 1000 };
}

/** The batch of the n-th request (1-based) to join a window. @throws RangeError when n < 1. */
export function batchNumberOf(n: number, size: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError('n must be a positive integer');
  return Math.ceil(n / size);
}

/** Whether the n-th joiner fills its batch (and so sends it at once). */
export function fillsBatch(n: number, size: number): boolean {
  return n % size === 0;
}

/** A batch's identity: its scope, its window and its number in the window. No personal data. */
export interface BatchRef {
  scopeKey: string;
  windowStart: number;
  number: number;
}

/** A member of a batch: one attempt of one request (`<requestId>#<attempt>`). */
export const memberKeyOf = (requestId: string, attempt: number) => `${requestId}#${attempt}`;

export type BatchState = 'open' | 'claimed' | 'sending' | 'sent' | 'retry' | 'refused' | 'failed' | 'lost';

/** What the platform answered a batch's DELETE with, when it was not a job. */
export interface BatchFailure {
  error: string;
  httpStatus?: number;
  platformMessage?: string;
}

/** A batch as stored. */
export interface BatchRecord {
  /** Opaque id (`<scope digest>/<window start>/<number>`), what members keep in their state. */
  id: string;
  windowStart: number;
  number: number;
  botIds: string[];
  /** The member keys that joined: who may be in the DELETE. */
  members: string[];
  state: BatchState;
  /**
   * The batch's send round, from 1: raised each time the platform asks for the batch again
   * (`retry`). Intents and answers on members' timelines name it, so the answer of one round is
   * never taken for another's.
   */
  round: number;
  claim?: { by: string; atMs: number };
  /** The members whose intent was recorded and whose user went into the DELETE (set with `sending`). */
  included?: string[];
  koreRequestId?: string;
  acceptedAt?: string;
  failure?: BatchFailure;
}

/**
 * A claim is dead once its claimer has been silent for `claimStaleMs`, or when it lies further
 * than that in the future (a clock moved back: it would otherwise look alive for as long).
 */
export function isClaimDead(claimAtMs: number, nowMs: number, policy: ErasureBatchPolicy): boolean {
  return nowMs - claimAtMs >= policy.claimStaleMs || claimAtMs - nowMs >= policy.claimStaleMs;
}

/**
 * How far ahead of a member's clock a gathering window may begin and still be the window under
 * way: members joining together read their clocks moments apart (and before their writes land),
 * so the window one of them opened may begin a little after another's "now". Further ahead, the
 * window is one seen from a clock moved back, and counts as over.
 */
export const WINDOW_CLOCK_TOLERANCE_MS = 5_000;

/** Whether an open batch may be claimed: its window is over (or lies well ahead: a clock moved back), or it is full. */
export function isBatchClosed(batch: Pick<BatchRecord, 'windowStart' | 'members'>, nowMs: number, policy: ErasureBatchPolicy): boolean {
  return nowMs >= batch.windowStart + policy.gatherMs || nowMs < batch.windowStart - WINDOW_CLOCK_TOLERANCE_MS || batch.members.length >= policy.size;
}

/**
 * What a member does next with its batch:
 * - `wait`: for company (the window is open) or for the member sending it; read again after `waitMs`;
 * - `claim`: send it (a closed open batch, one the platform asked to retry, a dead claim not yet
 *   sending, or this member's own claim from a run that ended before it sent);
 * - `lost`: a claimer died while sending (or this member's own earlier run did): outcome unknown;
 * - `sent`, `refused`, `failed`: the batch's answer, for a member it included;
 * - `rejoin`: the member is not (or no longer) in the batch: it joins another.
 */
export type MemberStep =
  | { step: 'wait'; waitMs: number }
  | { step: 'claim' }
  | { step: 'lost' }
  | { step: 'sent'; koreRequestId: string; acceptedAt: string }
  | { step: 'refused' }
  | { step: 'failed'; failure: BatchFailure }
  | { step: 'rejoin' };

export function memberStep(batch: BatchRecord | undefined, member: string, nowMs: number, policy: ErasureBatchPolicy): MemberStep {
  if (!batch || !batch.members.includes(member)) return { step: 'rejoin' };
  const included = batch.included?.includes(member) ?? false;
  const claimDead = batch.claim ? isClaimDead(batch.claim.atMs, nowMs, policy) : true;
  switch (batch.state) {
    case 'open': {
      if (isBatchClosed(batch, nowMs, policy)) return { step: 'claim' };
      return { step: 'wait', waitMs: Math.min(policy.gatherMs, batch.windowStart + policy.gatherMs - nowMs) };
    }
    case 'retry':
      return { step: 'claim' };
    case 'claimed':
      return batch.claim?.by === member || claimDead ? { step: 'claim' } : { step: 'wait', waitMs: policy.pollMs };
    case 'sending':
      if (!included) return { step: 'rejoin' };
      return batch.claim?.by === member || claimDead ? { step: 'lost' } : { step: 'wait', waitMs: policy.pollMs };
    case 'sent':
      return included && batch.koreRequestId ? { step: 'sent', koreRequestId: batch.koreRequestId, acceptedAt: batch.acceptedAt ?? new Date(nowMs).toISOString() } : { step: 'rejoin' };
    case 'refused':
      return included ? { step: 'refused' } : { step: 'rejoin' };
    case 'failed':
      return included ? { step: 'failed', failure: batch.failure ?? { error: 'KorePermanentError' } } : { step: 'rejoin' };
    case 'lost':
      return included ? { step: 'lost' } : { step: 'rejoin' };
  }
}

/**
 * Assigns a sequence of joins (each at a time, in arrival order) to batches as the store does:
 * one window per scope, opened by the first join after the last one closed, counting its joins.
 * For the property tests of the rules above; the store does the same with one atomic counter
 * item per scope.
 */
export function assignBatches(joins: ReadonlyArray<{ scopeKey: string; atMs: number }>, policy: Pick<ErasureBatchPolicy, 'size' | 'gatherMs'>): BatchRef[] {
  const windows = new Map<string, { start: number; n: number }>();
  return joins.map(({ scopeKey, atMs }) => {
    const open = windows.get(scopeKey);
    const window = open && atMs >= open.start - WINDOW_CLOCK_TOLERANCE_MS && atMs < open.start + policy.gatherMs ? open : { start: atMs, n: 0 };
    window.n += 1;
    windows.set(scopeKey, window);
    return { scopeKey, windowStart: window.start, number: batchNumberOf(window.n, policy.size) };
  });
}

/**
 * Whether a shared status answer taken at `checkedAtMs` serves a member's round at `nowMs`: when
 * it was taken after the member's previous round (`sinceMs`; its first round: when it began to
 * poll), it tells the member something its last round did not. An answer from the future (a
 * clock moved back) never serves.
 */
export function isStatusFresh(checkedAtMs: number, nowMs: number, sinceMs: number): boolean {
  return checkedAtMs > sinceMs && checkedAtMs <= nowMs + 1000;
}

/** The key of one user in a shared job status: the user id as sent, folded in case (emails), before it is hashed. */
export const jobUserKeyInput = (userId: string) => userId.normalize('NFC').trim().toLowerCase();

/** One answer of the platform about a job, as shared by its members: per-user statuses by user HMAC, no ids. */
export interface SharedJobStatus {
  checkedAtMs: number;
  /** User HMAC (see {@link jobUserKeyInput}) → status word as answered. */
  statuses: Record<string, string>;
  lastUpdatedOn?: string;
  responseSha256: string;
  /** Users in the answer. */
  users: number;
}

/**
 * The batches of erasures (DynamoDB `BATCH#…` items).
 * Every method may throw StoreUnavailableError / StoreError.
 */
export interface ErasureBatchStore {
  /**
   * Joins `member` to the batch its turn in the current gathering window of `scopeKey` gives it,
   * and answers the batch as this write left it. `fills`: this member's count was the batch's
   * last (the others' writes may still be on their way; whoever finds the batch full sends it,
   * see {@link isBatchClosed}). `undefined` when the batches
   * kept closing before the member could join (it then sends alone).
   */
  join(scopeKey: string, botIds: readonly string[], member: string): Promise<{ batch: BatchRecord; fills: boolean } | undefined>;
  get(batchId: string): Promise<BatchRecord | undefined>;
  /** Claims a batch for sending (see {@link memberStep}); the batch as claimed, or `undefined` when another got it. */
  claim(batchId: string, member: string): Promise<BatchRecord | undefined>;
  /** Marks the claimed batch `sending` with the members in the DELETE; false when the claim was lost. */
  markSending(batchId: string, member: string, included: readonly string[]): Promise<boolean>;
  /** Records the batch's answer (`sent` with the job, `retry`, `refused`, `failed`, `lost`); false when the batch was not the claimer's to end. */
  markOutcome(
    batchId: string,
    member: string,
    outcome: { state: 'sent'; koreRequestId: string; acceptedAt: string } | { state: 'retry' } | { state: 'refused' } | { state: 'failed'; failure: BatchFailure } | { state: 'lost' },
  ): Promise<boolean>;
}

/**
 * One status check a round for a whole job (DynamoDB `JOB#…` items).
 * Every method may throw StoreUnavailableError / StoreError.
 */
export interface SharedJobStatusStore {
  read(koreRequestId: string): Promise<SharedJobStatus | undefined>;
  /** Takes the job's status check for `member` for a short while; false when another holds it. */
  claimCheck(koreRequestId: string, member: string): Promise<boolean>;
  /** Publishes an answer and releases the check. */
  publish(koreRequestId: string, status: SharedJobStatus): Promise<void>;
  /** Releases the check without an answer (no budget turn, or the call failed). */
  release(koreRequestId: string, member: string): Promise<void>;
}
