/** Task SubmitErasure: re-checks eligibility, then sends the DELETE exactly once for the attempt (intent recorded before the call, the answer after it), alone or in a batch. */
import { UNLIMITED_BUDGET, waitSecondsOf } from '../domain/call-budget';
import { RequestNotActiveError, SubjectIdUnavailableError } from '../domain/errors';
import type { ErasureRequest } from '../domain/model';
import { decryptSubjectId } from '../domain/subject';
import type { WorkflowState } from './workflow-state';
import { ErasureTaskDeps, ACTOR, loadCurrentAttempt, startPolling } from './task-deps';
import { afterFailedDelete, appendOnChecked, assertNoUnknownOutcome, callFailedDetails, nextTryOf, readSubmissions, recheckEligibility } from './submission-records';
import { submitInBatch } from './submit-batch';

export { submissionEventsOf } from './submission-records';

/**
 * SubmitErasure: re-checks eligibility, sends the DELETE once for this attempt and records the
 * Kore.ai job id — or resumes the job a previous attempt already started. With batching on
 * (`deps.batching`, size above 1) the request joins a batch of its scope and the DELETE goes out
 * with the batch (workflow/submit-batch.ts); a request sent alone takes the path below.
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
    if (state.poll) return { requestId: request.requestId, attempt: request.attempt, koreRequestId: request.koreRequestId, poll: state.poll, ...(state.batch ? { batch: state.batch } : {}) };
    const { submissions } = await readSubmissions(deps, request.requestId, request.attempt);
    const submitted = submissions.findLast((e) => e.type === 'ERASURE_SUBMITTED');
    const batch = submitted?.details.batch as { id: string; size: number } | undefined;
    // A batch member shares any status answer taken since the job was accepted (not only since it woke up).
    const poll = startPolling(deps, now)!;
    return {
      requestId: request.requestId,
      attempt: request.attempt,
      koreRequestId: request.koreRequestId,
      poll: batch && submitted ? { ...poll, lastRoundAt: submitted.at } : poll,
      ...(batch ? { batch: { id: batch.id, size: batch.size } } : {}),
    };
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

  if (deps.batching && deps.batching.policy.size > 1 && state.batch?.solo !== true) return submitInBatch(deps, request, state, submitAlone);
  return submitAlone(deps, request, state);
}

/**
 * The DELETE of one request alone: with batching off, after the platform refused the request's
 * batch (each member is then sent alone, so only the refused one ends REJECTED), or when the
 * batches kept closing before the request could join one.
 * @throws as {@link submitErasure}.
 */
export async function submitAlone(deps: ErasureTaskDeps, request: ErasureRequest, state: WorkflowState): Promise<WorkflowState> {
  const now = deps.clock.now();
  const solo = state.batch?.solo === true ? { batch: { solo: true as const } } : {};
  const first = await readSubmissions(deps, request.requestId, request.attempt);
  assertNoUnknownOutcome(first.submissions);

  const eligibility = await recheckEligibility(deps, request.subjectHash, now);
  if (eligibility.rejection) return { requestId: request.requestId, attempt: request.attempt, rejection: { ...eligibility.rejection, source: 'snapshot' } };

  if (!request.subjectCipher) throw new SubjectIdUnavailableError('The plain subject id is no longer held');
  const subjectId = decryptSubjectId(request.subjectCipher, deps.subjectKeys.cipherKey);

  // The DELETE's turn in the shared budget, before the intent is recorded: a wait sends nothing.
  const turn = await (deps.budget ?? UNLIMITED_BUDGET).take('erase');
  if (!turn.granted) return { requestId: request.requestId, attempt: request.attempt, ...solo, budgetWait: { waitSeconds: waitSecondsOf(turn.waitMs), reason: 'budget' } };

  // The intent is written only on the timeline this run has checked: if anything was appended
  // since, the submissions are checked again, so two runs of one attempt never both send.
  let tryNumber = 0;
  await appendOnChecked(
    deps,
    request.requestId,
    request.attempt,
    (submissions) => {
      assertNoUnknownOutcome(submissions);
      tryNumber = nextTryOf(submissions);
      return { event: { type: 'ERASURE_SUBMITTING', at: now.toISOString(), actor: ACTOR, details: { try: tryNumber, botIds: request.scope.botIds, eligibility: eligibility.details } } };
    },
    first,
  );

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
    await deps.store.appendEvent(request.requestId, (current) => ({
      event: { type: 'ERASURE_CALL_FAILED', at: deps.clock.now().toISOString(), actor: ACTOR, attempt: current.attempt, status: current.status, details: callFailedDetails(error, tryNumber) },
    }));
    return afterFailedDelete(deps, request, error, solo);
  }
}
