/** Task SubmitErasure: re-checks eligibility, then sends the DELETE exactly once for the attempt (intent recorded before the call, the answer after it). */
import { UNLIMITED_BUDGET, waitSecondsOf } from '../domain/call-budget';
import { decideEligibility, isSnapshotFreshEnough } from '../domain/eligibility';
import { ConcurrentUpdateError, RequestNotActiveError, SubjectIdUnavailableError, SubmissionOutcomeUnknownError } from '../domain/errors';
import { KoreOutcomeUnknownError, KorePermanentError, KoreRefusedError, KoreRetryableError } from '../domain/kore';
import type { AuditEvent, JsonValue } from '../domain/model';
import { decryptSubjectId } from '../domain/subject';
import type { WorkflowState } from './workflow-state';
import { ErasureTaskDeps, MAX_INLINE_RETRY_AFTER_MS, ACTOR, defaultSleep, loadCurrentAttempt, startPolling } from './task-deps';

/** The submission events of one attempt, to tell whether a DELETE is already under way. */
export function submissionEventsOf(timeline: AuditEvent[], attempt: number): AuditEvent[] {
  return timeline.filter(
    (e) => e.attempt === attempt && (e.type === 'ERASURE_SUBMITTING' || e.type === 'ERASURE_CALL_FAILED' || e.type === 'ERASURE_SUBMITTED'),
  );
}

/** Checks of the submissions before the intent gives up on a timeline that keeps moving. */
const MAX_INTENT_PASSES = 5;

/** The timeline moved between this run's check of the submissions and its intent: check again. */
class TimelineMovedError extends Error {
  constructor() {
    super('The timeline moved since it was read');
    this.name = 'TimelineMovedError';
  }
}

/**
 * This attempt's submissions so far, and the sequence number they were read at.
 * @throws SubmissionOutcomeUnknownError when a DELETE of this attempt went out and its answer was never recorded or was lost.
 */
async function submissionsSoFar(deps: ErasureTaskDeps, requestId: string, attempt: number): Promise<{ submissions: AuditEvent[]; seenSeq: number }> {
  const timeline = await deps.store.getTimeline(requestId);
  const submissions = submissionEventsOf(timeline, attempt);
  const last = submissions.at(-1);
  if (last?.type === 'ERASURE_SUBMITTING') {
    throw new SubmissionOutcomeUnknownError('A DELETE of this attempt was sent and its answer was never recorded');
  }
  if (last?.type === 'ERASURE_CALL_FAILED' && last.details.outcomeUnknown === true) {
    throw new SubmissionOutcomeUnknownError('A DELETE of this attempt was sent and its answer was lost');
  }
  return { submissions, seenSeq: timeline.at(-1)?.seq ?? 0 };
}

/**
 * SubmitErasure: re-checks eligibility, sends the DELETE once for this attempt and records the
 * Kore.ai job id — or resumes the job a previous attempt already started.
 * A rejection — the re-check finds the subject privileged, or the platform refuses — is an outcome,
 * not an error: it returns the state with `rejection` set (→ RecordRejected), so a rejected request
 * counts neither as a failed execution nor as a Lambda error.
 *
 * Only an answer that proves the platform did not take the job (`KoreRetryableError`: 429 or the
 * rate-limit message, 5xx with a body, a connection refused) lets the state machine send the
 * DELETE again. An answer lost after the request went out (`KoreOutcomeUnknownError`: timeout,
 * reset) may hide an accepted job: it is recorded as such and ends the attempt as
 * SubmissionOutcomeUnknownError, like a crash between intent and answer.
 * No turn in the shared Kore.ai call budget yet, or a refusal for the account's rate limit: it
 * returns the state with `budgetWait` (→ WaitForBudget, then SubmitErasure again), before the
 * intent is recorded or with the refusal recorded, so the wait never costs the attempt its DELETE.
 * @throws KoreRetryableError (→ retried);
 *   StaleAttemptError, RequestNotActiveError (→ nothing recorded); SubmissionOutcomeUnknownError,
 *   SubjectIdUnavailableError, KoreAuthError, KorePermanentError (→ FAILED).
 */
export async function submitErasure(deps: ErasureTaskDeps, state: WorkflowState): Promise<WorkflowState> {
  const request = await loadCurrentAttempt(deps, state);
  const now = deps.clock.now();

  // A second run of this task after the DELETE was recorded: carry on polling.
  if ((request.status === 'SUBMITTED' || request.status === 'IN_PROGRESS') && request.koreRequestId) {
    return { requestId: request.requestId, attempt: request.attempt, koreRequestId: request.koreRequestId, poll: state.poll ?? startPolling(deps, now) };
  }
  if (request.status !== 'QUEUED') throw new RequestNotActiveError(`The request is ${request.status}`);

  // A new attempt of a job Kore.ai already has: watch it instead of deleting again.
  if (request.koreRequestId) {
    await deps.store.appendEvent(request.requestId, (current) => {
      if (current.attempt !== state.attempt || current.status !== 'QUEUED') throw new RequestNotActiveError(`The request is ${current.status}`);
      return {
        event: { type: 'ERASURE_SUBMITTED', at: now.toISOString(), actor: ACTOR, attempt: current.attempt, status: 'SUBMITTED', details: { koreRequestId: current.koreRequestId!, resumed: true } },
      };
    });
    return { requestId: request.requestId, attempt: request.attempt, koreRequestId: request.koreRequestId, poll: startPolling(deps, now) };
  }

  let { submissions, seenSeq } = await submissionsSoFar(deps, request.requestId, request.attempt);

  // Eligibility again, right before the point of no return.
  const snapshot = await deps.snapshots.getCurrentSnapshot();
  let eligibility: { [key: string]: JsonValue } = { checked: false, reason: 'NO_SNAPSHOT' };
  if (snapshot) {
    const decision = decideEligibility(await deps.snapshots.lookup(snapshot, request.subjectHash), snapshot, now);
    eligibility = {
      checked: true,
      snapshotVersion: snapshot.version,
      snapshotAgeSeconds: decision.snapshotAgeSeconds,
      snapshotFresh: isSnapshotFreshEnough(snapshot, now, deps.snapshotMaxAgeSeconds),
      eligible: decision.eligible,
    };
    if (!decision.eligible) {
      return { requestId: request.requestId, attempt: request.attempt, rejection: { rule: decision.rule, botIds: [...decision.botIds], source: 'snapshot' } };
    }
  }

  if (!request.subjectCipher) throw new SubjectIdUnavailableError('The plain subject id is no longer held');
  const subjectId = decryptSubjectId(request.subjectCipher, deps.subjectKeys.cipherKey);
  let tryNumber = submissions.filter((e) => e.type === 'ERASURE_SUBMITTING').length + 1;

  // The DELETE's turn in the shared budget, before the intent is recorded: a wait sends nothing.
  const turn = await (deps.budget ?? UNLIMITED_BUDGET).take('erase');
  if (!turn.granted) return { requestId: request.requestId, attempt: request.attempt, budgetWait: { waitSeconds: waitSecondsOf(turn.waitMs), reason: 'budget' } };

  // The intent is written only on the timeline this run has checked: if anything was appended
  // since, the submissions are checked again, so two runs of one attempt never both send.
  for (let pass = 1, written = false; !written; pass++) {
    if (pass > MAX_INTENT_PASSES) throw new ConcurrentUpdateError('The timeline kept moving while the intent was being recorded');
    const expectedSeq = seenSeq;
    try {
      await deps.store.appendEvent(request.requestId, (current) => {
        if (current.attempt !== state.attempt || current.status !== 'QUEUED') throw new RequestNotActiveError(`The request is ${current.status}`);
        if (current.lastSeq !== expectedSeq) throw new TimelineMovedError();
        return {
          event: { type: 'ERASURE_SUBMITTING', at: now.toISOString(), actor: ACTOR, attempt: current.attempt, status: 'QUEUED', details: { try: tryNumber, botIds: current.scope.botIds, eligibility } },
        };
      });
      written = true;
    } catch (error) {
      if (!(error instanceof TimelineMovedError)) throw error;
      ({ submissions, seenSeq } = await submissionsSoFar(deps, request.requestId, request.attempt));
      tryNumber = submissions.filter((e) => e.type === 'ERASURE_SUBMITTING').length + 1;
    }
  }

  try {
    const accepted = await deps.kore.eraseUsersData([subjectId], request.scope.botIds);
    const acceptedAt = deps.clock.now();
    await deps.store.appendEvent(request.requestId, (current) => {
      // An answer that comes after this attempt was ended elsewhere (this run outlived its
      // timeout and a retry found the intent unanswered) changes nothing: that attempt's record
      // of an unknown outcome already accounts for the job.
      if (current.attempt !== state.attempt || current.status !== 'QUEUED') throw new RequestNotActiveError(`The request is ${current.status}`);
      return {
        event: {
          type: 'ERASURE_SUBMITTED',
          at: acceptedAt.toISOString(),
          actor: ACTOR,
          attempt: current.attempt,
          status: 'SUBMITTED',
          details: { koreRequestId: accepted.koreRequestId, jobStatus: accepted.status, try: tryNumber },
        },
        patch: { koreRequestId: accepted.koreRequestId },
      };
    });
    return { requestId: request.requestId, attempt: request.attempt, koreRequestId: accepted.koreRequestId, poll: startPolling(deps, acceptedAt) };
  } catch (error) {
    if (error instanceof RequestNotActiveError) throw error;
    const name = error instanceof Error ? error.name : 'Error';
    const retryable = error instanceof KoreRetryableError;
    const outcomeUnknown = error instanceof KoreOutcomeUnknownError;
    const httpStatus = (error as { httpStatus?: number }).httpStatus;
    const retryAfterMs = retryable ? error.retryAfterMs : undefined;
    // Sanitised by the client (no ids, no emails); recorded so ops see what the platform said.
    const platformMessage = error instanceof KorePermanentError ? error.platformMessage : undefined;
    await deps.store.appendEvent(request.requestId, (current) => ({
      event: {
        type: 'ERASURE_CALL_FAILED',
        at: deps.clock.now().toISOString(),
        actor: ACTOR,
        attempt: current.attempt,
        status: current.status,
        details: {
          try: tryNumber,
          error: name,
          retryable,
          refused: error instanceof KoreRefusedError,
          ...(outcomeUnknown ? { outcomeUnknown: true } : {}),
          ...(retryable && error.rateLimited ? { rateLimited: true } : {}),
          ...(platformMessage !== undefined ? { platformMessage } : {}),
          ...(httpStatus !== undefined ? { httpStatus } : {}),
          ...(retryAfterMs !== undefined ? { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) } : {}),
        },
      },
    }));
    if (error instanceof KoreRefusedError) {
      return { requestId: request.requestId, attempt: request.attempt, rejection: { rule: 'PLATFORM_RULES', botIds: [], source: 'platform' } };
    }
    // The account's limit is spent (by other apps too): every caller waits, and so does this attempt.
    if (retryable && error.rateLimited) {
      const { waitMs } = await (deps.budget ?? UNLIMITED_BUDGET).refused(retryAfterMs);
      return { requestId: request.requestId, attempt: request.attempt, budgetWait: { waitSeconds: waitSecondsOf(waitMs), reason: 'rate-limited' } };
    }
    // Honour Retry-After: wait it out here so the state machine's retry comes no earlier.
    if (retryAfterMs !== undefined && retryAfterMs <= (deps.maxInlineRetryAfterMs ?? MAX_INLINE_RETRY_AFTER_MS)) {
      await (deps.sleep ?? defaultSleep)(retryAfterMs);
    }
    if (outcomeUnknown) throw new SubmissionOutcomeUnknownError('The answer to this attempt\'s DELETE was lost after it was sent', { cause: error });
    throw error;
  }
}
