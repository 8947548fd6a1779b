/** Task CheckStatus: polls the Kore.ai job and decides the next wait or the outcome. */
import { UNLIMITED_BUDGET, waitSecondsOf } from '../domain/call-budget';
import { RequestNotActiveError, StaleAttemptError } from '../domain/errors';
import { KoreRetryableError, type KorePlatform } from '../domain/kore';
import { evaluateJob, nextWaitSeconds, summariseStatuses, unknownStatuses, UNKNOWN_STATUS_REVIEW } from '../domain/polling';
import type { WorkflowState } from './workflow-state';
import { ErasureTaskDeps, ACTOR, sha256, loadCurrentAttempt, startPolling } from './task-deps';

/**
 * CheckStatus: asks Kore.ai how the job is doing, records the answer, and tells the state
 * machine what to do next (`poll.outcome`) and how long to wait (`poll.waitSeconds`). A status
 * word the desk does not know is recorded verbatim and flags the request `needsReview` for ops
 * (lifted when known words come back); the job is read as still running, so polling goes on to
 * the deadline and never guesses success or failure.
 * @throws KoreRetryableError (→ retried), StaleAttemptError, RequestNotActiveError, others (→ FAILED).
 */
export async function checkErasureStatus(deps: ErasureTaskDeps, state: WorkflowState): Promise<WorkflowState> {
  const request = await loadCurrentAttempt(deps, state);
  if (request.status !== 'SUBMITTED' && request.status !== 'IN_PROGRESS') throw new RequestNotActiveError(`The request is ${request.status}`);
  const koreRequestId = request.koreRequestId ?? state.koreRequestId;
  if (!koreRequestId) throw new RequestNotActiveError('No Kore.ai job is known for this attempt');
  const poll = state.poll ?? startPolling(deps, deps.clock.now())!;

  // The status check's turn in the shared budget; without one (or refused for the account's rate
  // limit), nothing is recorded and the state machine waits as between any two polls.
  const budget = deps.budget ?? UNLIMITED_BUDGET;
  const turn = await budget.take('status');
  const waitFor = (waitMs: number): WorkflowState => ({ requestId: request.requestId, attempt: request.attempt, koreRequestId, poll: { ...poll, outcome: 'RUNNING', waitSeconds: waitSecondsOf(waitMs) } });
  if (!turn.granted) return waitFor(turn.waitMs);
  let answer: Awaited<ReturnType<KorePlatform['getEraseStatus']>>;
  try {
    answer = await deps.kore.getEraseStatus(koreRequestId);
  } catch (error) {
    if (error instanceof KoreRetryableError && error.rateLimited) return waitFor((await budget.refused(error.retryAfterMs)).waitMs);
    throw error;
  }
  const now = deps.clock.now();
  const elapsedSeconds = (now.getTime() - Date.parse(poll.startedAt)) / 1000;
  const deadlinePassed = now.getTime() >= Date.parse(poll.deadline);
  const statuses = answer.users.map((u) => u.status);
  const outcome = evaluateJob(statuses, deadlinePassed);
  // Words nobody documented: kept verbatim on the trail and flagged for ops; polling goes on.
  const unknown = unknownStatuses(statuses);
  const responseSha256 = sha256(answer.rawBody);
  const count = poll.count + 1;

  await deps.store.appendEvent(request.requestId, (current) => {
    if (current.attempt !== state.attempt) throw new StaleAttemptError(`Attempt ${state.attempt} was superseded`);
    const review = unknown.length > 0 ? UNKNOWN_STATUS_REVIEW : undefined;
    return {
      ...(review !== current.needsReview && { patch: { needsReview: review ?? null } }),
      event: {
        type: 'STATUS_CHECKED',
        at: now.toISOString(),
        actor: ACTOR,
        attempt: current.attempt,
        // The first "still running" answer moves SUBMITTED on to IN_PROGRESS; other polls only record.
        status: current.status === 'SUBMITTED' && outcome === 'RUNNING' ? 'IN_PROGRESS' : current.status,
        details: {
          koreRequestId,
          poll: count,
          outcome,
          userStatuses: summariseStatuses(statuses),
          ...(unknown.length > 0 ? { unknownStatuses: unknown.slice(0, 10).map((s) => s.slice(0, 100)) } : {}),
          ...(answer.lastUpdatedOn ? { lastUpdatedOn: answer.lastUpdatedOn } : {}),
          responseSha256,
        },
      },
    };
  });

  return {
    requestId: request.requestId,
    attempt: request.attempt,
    koreRequestId,
    poll: { ...poll, count, outcome, waitSeconds: nextWaitSeconds(deps.poll, elapsedSeconds), responseSha256 },
  };
}
