/**
 * What SubmitErasure records on a request's timeline around a DELETE, alone or in a batch: the
 * eligibility re-check, the intent (ERASURE_SUBMITTING) written only on a timeline whose
 * submissions were checked, and the answer (ERASURE_SUBMITTED or ERASURE_CALL_FAILED).
 */
import { UNLIMITED_BUDGET, waitSecondsOf } from '../domain/call-budget';
import { decideEligibility, isSnapshotFreshEnough } from '../domain/eligibility';
import { ConcurrentUpdateError, RequestNotActiveError, SubmissionOutcomeUnknownError } from '../domain/errors';
import { KoreOutcomeUnknownError, KorePermanentError, KoreRefusedError, KoreRetryableError } from '../domain/kore';
import type { AuditEvent, AuditEventInput, ErasureRequest, JsonValue, SnapshotInfo } from '../domain/model';
import type { RequestPatch } from '../domain/ports';
import { defaultSleep, MAX_INLINE_RETRY_AFTER_MS, type ErasureTaskDeps } from './task-deps';
import type { WorkflowState } from './workflow-state';

/** The submission events of one attempt, to tell whether a DELETE is already under way. */
export function submissionEventsOf(timeline: AuditEvent[], attempt: number): AuditEvent[] {
  return timeline.filter(
    (e) => e.attempt === attempt && (e.type === 'ERASURE_SUBMITTING' || e.type === 'ERASURE_CALL_FAILED' || e.type === 'ERASURE_SUBMITTED'),
  );
}

/** Checks of the submissions before an append gives up on a timeline that keeps moving. */
const MAX_PASSES = 5;

/** The timeline moved between this run's check of the submissions and its append: check again. */
class TimelineMovedError extends Error {
  constructor() {
    super('The timeline moved since it was read');
    this.name = 'TimelineMovedError';
  }
}

/** An attempt's submission events so far and the sequence number they were read at. */
export interface Submissions {
  submissions: AuditEvent[];
  seenSeq: number;
}

export async function readSubmissions(deps: Pick<ErasureTaskDeps, 'store'>, requestId: string, attempt: number): Promise<Submissions> {
  const timeline = await deps.store.getTimeline(requestId);
  return { submissions: submissionEventsOf(timeline, attempt), seenSeq: timeline.at(-1)?.seq ?? 0 };
}

/**
 * Appends an event only on a timeline whose submissions `decide` has seen: if anything was
 * appended since they were read, they are read and decided on again, so two runs (or a batch's
 * claimer and a member) never both record an intent or an answer. `decide` returns the event to
 * append, or `undefined` to append nothing.
 * @throws ConcurrentUpdateError when the timeline kept moving; whatever `decide` throws; RequestNotActiveError
 *   when the request left QUEUED or its attempt changed.
 */
export async function appendOnChecked(
  deps: Pick<ErasureTaskDeps, 'store'>,
  requestId: string,
  attempt: number,
  decide: (submissions: AuditEvent[]) => { event: Omit<AuditEventInput, 'attempt' | 'status'> & { status?: AuditEventInput['status'] }; patch?: RequestPatch } | undefined,
  first?: Submissions,
): Promise<AuditEvent | undefined> {
  let read = first ?? (await readSubmissions(deps, requestId, attempt));
  for (let pass = 1; pass <= MAX_PASSES; pass++) {
    const planned = decide(read.submissions);
    if (!planned) return undefined;
    const expectedSeq = read.seenSeq;
    try {
      const { event } = await deps.store.appendEvent(requestId, (current) => {
        if (current.attempt !== attempt) throw new RequestNotActiveError(`The request is on attempt ${current.attempt}`);
        // Moved first: a timeline that moved is decided on again (a batch's answer recorded
        // meanwhile by its sender makes `decide` append nothing, rather than fail on SUBMITTED).
        if (current.lastSeq !== expectedSeq) throw new TimelineMovedError();
        if (current.status !== 'QUEUED') throw new RequestNotActiveError(`The request is ${current.status}`);
        return { event: { ...planned.event, attempt: current.attempt, status: planned.event.status ?? current.status } as AuditEventInput, ...(planned.patch ? { patch: planned.patch } : {}) };
      });
      return event;
    } catch (error) {
      if (!(error instanceof TimelineMovedError)) throw error;
      read = await readSubmissions(deps, requestId, attempt);
    }
  }
  throw new ConcurrentUpdateError('The timeline kept moving while a submission was being recorded');
}

/**
 * Throws when this attempt has a DELETE whose answer is missing or was lost.
 * @throws SubmissionOutcomeUnknownError.
 */
export function assertNoUnknownOutcome(submissions: AuditEvent[]): void {
  const last = submissions.at(-1);
  if (last?.type === 'ERASURE_SUBMITTING') throw new SubmissionOutcomeUnknownError('A DELETE of this attempt was sent and its answer was never recorded');
  if (last?.type === 'ERASURE_CALL_FAILED' && last.details.outcomeUnknown === true) throw new SubmissionOutcomeUnknownError('A DELETE of this attempt was sent and its answer was lost');
}

/** The try number of the next DELETE of an attempt. */
export const nextTryOf = (submissions: AuditEvent[]) => submissions.filter((e) => e.type === 'ERASURE_SUBMITTING').length + 1;

/**
 * Eligibility again, right before the point of no return: the details recorded with the intent,
 * and the rejection when the snapshot says the subject may not be erased.
 */
export async function recheckEligibility(
  deps: Pick<ErasureTaskDeps, 'snapshots' | 'snapshotMaxAgeSeconds'>,
  subjectHash: string,
  now: Date,
  known?: { snapshot: SnapshotInfo | undefined },
): Promise<{ details: { [key: string]: JsonValue }; rejection?: { rule: string; botIds: string[] } }> {
  const current = known ? known.snapshot : await deps.snapshots.getCurrentSnapshot();
  if (!current) return { details: { checked: false, reason: 'NO_SNAPSHOT' } };
  const decision = decideEligibility(await deps.snapshots.lookup(current, subjectHash), current, now);
  const details = {
    checked: true,
    snapshotVersion: current.version,
    snapshotAgeSeconds: decision.snapshotAgeSeconds,
    snapshotFresh: isSnapshotFreshEnough(current, now, deps.snapshotMaxAgeSeconds),
    eligible: decision.eligible,
  };
  return decision.eligible ? { details } : { details, rejection: { rule: decision.rule, botIds: [...decision.botIds] } };
}

/** What ERASURE_CALL_FAILED records about a failed DELETE (sanitised by the client: no ids, no emails). */
export function callFailedDetails(error: unknown, tryNumber: number): { [key: string]: JsonValue } {
  const retryable = error instanceof KoreRetryableError;
  const httpStatus = (error as { httpStatus?: number }).httpStatus;
  const retryAfterMs = retryable ? error.retryAfterMs : undefined;
  const platformMessage = error instanceof KorePermanentError ? error.platformMessage : undefined;
  return {
    try: tryNumber,
    error: error instanceof Error ? error.name : 'Error',
    retryable,
    refused: error instanceof KoreRefusedError,
    ...(error instanceof KoreOutcomeUnknownError ? { outcomeUnknown: true } : {}),
    ...(retryable && error.rateLimited ? { rateLimited: true } : {}),
    ...(platformMessage !== undefined ? { platformMessage } : {}),
    ...(httpStatus !== undefined ? { httpStatus } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) } : {}),
  };
}

/** Runs `work` over `items`, `width` at a time, in order of the items. */
export async function mapInGroups<T, R>(items: readonly T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += width) results.push(...(await Promise.all(items.slice(i, i + width).map(work))));
  return results;
}

/** The request, or `undefined` when it is gone or on another attempt. */
export async function requestOnAttempt(deps: Pick<ErasureTaskDeps, 'store'>, requestId: string, attempt: number): Promise<ErasureRequest | undefined> {
  const request = await deps.store.getRequest(requestId);
  return request && request.attempt === attempt ? request : undefined;
}

/**
 * What a failed DELETE means for the request that sent it (alone, or as a batch's claimer):
 * REJECTED for a refusal, a budget wait for a rate-limit refusal, a wait for `Retry-After` and
 * the error again otherwise (an unknown outcome as SubmissionOutcomeUnknownError).
 * @throws SubmissionOutcomeUnknownError for a lost answer; the error itself otherwise.
 */
export async function afterFailedDelete(deps: ErasureTaskDeps, request: ErasureRequest, error: unknown, carry: Partial<WorkflowState> = {}): Promise<WorkflowState> {
  if (error instanceof KoreRefusedError) {
    return { requestId: request.requestId, attempt: request.attempt, rejection: { rule: 'PLATFORM_RULES', botIds: [], source: 'platform' } };
  }
  const retryable = error instanceof KoreRetryableError;
  const retryAfterMs = retryable ? error.retryAfterMs : undefined;
  // The account's limit is spent (by other apps too): every caller waits, and so does this attempt.
  if (retryable && error.rateLimited) {
    const { waitMs } = await (deps.budget ?? UNLIMITED_BUDGET).refused(retryAfterMs);
    return { requestId: request.requestId, attempt: request.attempt, ...carry, budgetWait: { waitSeconds: waitSecondsOf(waitMs), reason: 'rate-limited' } };
  }
  // Honour Retry-After: wait it out here so the state machine's retry comes no earlier.
  if (retryAfterMs !== undefined && retryAfterMs <= (deps.maxInlineRetryAfterMs ?? MAX_INLINE_RETRY_AFTER_MS)) {
    await (deps.sleep ?? defaultSleep)(retryAfterMs);
  }
  if (error instanceof KoreOutcomeUnknownError) throw new SubmissionOutcomeUnknownError('The answer to this attempt\'s DELETE was lost after it was sent', { cause: error });
  throw error;
}
