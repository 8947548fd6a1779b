/** Task CheckStatus: polls the Kore.ai job and decides the next wait or the outcome. */
import { UNLIMITED_BUDGET, waitSecondsOf } from '../domain/call-budget';
import { isStatusFresh, jobUserKeyInput, memberKeyOf, type SharedJobStatus } from '../domain/erasure-batch';
import { RequestNotActiveError, StaleAttemptError } from '../domain/errors';
import { KoreRetryableError, type KorePlatform } from '../domain/kore';
import type { ErasureRequest } from '../domain/model';
import { decryptSubjectId, hashSubject } from '../domain/subject';
import { evaluateJob, nextWaitSeconds, summariseStatuses, unknownStatuses, UNKNOWN_STATUS_REVIEW } from '../domain/polling';
import type { WorkflowState } from './workflow-state';
import { ErasureTaskDeps, ACTOR, sha256, loadCurrentAttempt, startPolling } from './task-deps';

/**
 * CheckStatus: asks Kore.ai how the job is doing, records the answer, and tells the state
 * machine what to do next (`poll.outcome`) and how long to wait (`poll.waitSeconds`). A status
 * word the desk does not know is recorded verbatim and flags the request `needsReview` for ops
 * (lifted when known words come back); the job is read as still running, so polling goes on to
 * the deadline and never guesses success or failure.
 *
 * A batch's job (`state.batch.size` above 1) is checked once a round for all its members: a
 * member whose round finds an answer taken since its previous round reads its own user's status
 * there; otherwise it takes the check for a short while, asks the platform and shares the answer
 * (by user HMAC), and a member that finds the check taken waits a moment (`pollMs`) and reads it.
 * @throws KoreRetryableError (→ retried), StaleAttemptError, RequestNotActiveError, others (→ FAILED).
 */
export async function checkErasureStatus(deps: ErasureTaskDeps, state: WorkflowState): Promise<WorkflowState> {
  const request = await loadCurrentAttempt(deps, state);
  if (request.status !== 'SUBMITTED' && request.status !== 'IN_PROGRESS') throw new RequestNotActiveError(`The request is ${request.status}`);
  const koreRequestId = request.koreRequestId ?? state.koreRequestId;
  if (!koreRequestId) throw new RequestNotActiveError('No Kore.ai job is known for this attempt');
  const poll = state.poll ?? startPolling(deps, deps.clock.now())!;

  const waitFor = (waitMs: number): WorkflowState => ({ requestId: request.requestId, attempt: request.attempt, koreRequestId, poll: { ...poll, outcome: 'RUNNING', waitSeconds: waitSecondsOf(waitMs) }, ...(state.batch ? { batch: state.batch } : {}) });
  const shared = (state.batch?.size ?? 1) > 1 && deps.batching ? await sharedAnswer(deps, request, koreRequestId, Date.parse(poll.lastRoundAt ?? poll.startedAt)) : undefined;
  if (shared && 'waitMs' in shared) return waitFor(shared.waitMs);
  let answer: { statuses: string[]; lastUpdatedOn?: string; responseSha256: string; checkedAtMs?: number; shared?: { users: number; checkedBy: 'this' | 'other' } };
  if (shared) {
    answer = shared;
  } else {
    // The status check's turn in the shared budget; without one (or refused for the account's rate
    // limit), nothing is recorded and the state machine waits as between any two polls.
    const budget = deps.budget ?? UNLIMITED_BUDGET;
    const turn = await budget.take('status');
    if (!turn.granted) return waitFor(turn.waitMs);
    let raw: Awaited<ReturnType<KorePlatform['getEraseStatus']>>;
    try {
      raw = await deps.kore.getEraseStatus(koreRequestId);
    } catch (error) {
      if (error instanceof KoreRetryableError && error.rateLimited) return waitFor((await budget.refused(error.retryAfterMs)).waitMs);
      throw error;
    }
    answer = { statuses: raw.users.map((u) => u.status), ...(raw.lastUpdatedOn ? { lastUpdatedOn: raw.lastUpdatedOn } : {}), responseSha256: sha256(raw.rawBody) };
  }
  const now = deps.clock.now();
  const elapsedSeconds = (now.getTime() - Date.parse(poll.startedAt)) / 1000;
  const deadlinePassed = now.getTime() >= Date.parse(poll.deadline);
  const statuses = answer.statuses;
  const outcome = evaluateJob(statuses, deadlinePassed);
  // Words nobody documented: kept verbatim on the trail and flagged for ops; polling goes on.
  const unknown = unknownStatuses(statuses);
  const responseSha256 = answer.responseSha256;
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
          ...(answer.shared ? { sharedCheck: answer.shared } : {}),
          responseSha256,
        },
      },
    };
  });

  return {
    requestId: request.requestId,
    attempt: request.attempt,
    koreRequestId,
    poll: { ...poll, count, outcome, waitSeconds: nextWaitSeconds(deps.poll, elapsedSeconds), responseSha256, ...(answer.checkedAtMs !== undefined ? { lastRoundAt: new Date(answer.checkedAtMs).toISOString() } : {}) },
    ...(state.batch ? { batch: state.batch } : {}),
  };
}

/**
 * This member's status in the job's shared answer: a fresh one as it is, else one this member
 * takes from the platform and shares. `waitMs` when another member is checking, or when no
 * budget turn (or a rate-limit refusal) stands in the way.
 * @throws KoreRetryableError and the client's other errors (the check is released first).
 */
async function sharedAnswer(
  deps: ErasureTaskDeps,
  request: ErasureRequest,
  koreRequestId: string,
  sinceMs: number,
): Promise<{ waitMs: number } | { statuses: string[]; lastUpdatedOn?: string; responseSha256: string; checkedAtMs: number; shared: { users: number; checkedBy: 'this' | 'other' } }> {
  const { jobStatus, policy } = deps.batching!;
  const key = request.subjectCipher ? hashSubject(jobUserKeyInput(decryptSubjectId(request.subjectCipher, deps.subjectKeys.cipherKey)), deps.subjectKeys.hmacKey) : undefined;
  const mine = (found: SharedJobStatus, checkedBy: 'this' | 'other') => {
    const status = key ? found.statuses[key] : undefined;
    return {
      statuses: status === undefined ? [] : [status],
      ...(found.lastUpdatedOn ? { lastUpdatedOn: found.lastUpdatedOn } : {}),
      responseSha256: found.responseSha256,
      checkedAtMs: found.checkedAtMs,
      shared: { users: found.users, checkedBy },
    };
  };
  const known = await jobStatus.read(koreRequestId);
  if (known && isStatusFresh(known.checkedAtMs, deps.clock.now().getTime(), sinceMs)) return mine(known, 'other');
  const member = memberKeyOf(request.requestId, request.attempt);
  if (!(await jobStatus.claimCheck(koreRequestId, member))) return { waitMs: policy.pollMs };
  // Another member may have published between the read and the claim.
  const published = await jobStatus.read(koreRequestId);
  if (published && published.checkedAtMs !== known?.checkedAtMs && isStatusFresh(published.checkedAtMs, deps.clock.now().getTime(), sinceMs)) {
    await jobStatus.release(koreRequestId, member);
    return mine(published, 'other');
  }
  const budget = deps.budget ?? UNLIMITED_BUDGET;
  let raw: Awaited<ReturnType<KorePlatform['getEraseStatus']>>;
  try {
    const turn = await budget.take('status');
    if (!turn.granted) {
      await jobStatus.release(koreRequestId, member);
      return { waitMs: turn.waitMs };
    }
    raw = await deps.kore.getEraseStatus(koreRequestId);
  } catch (error) {
    await jobStatus.release(koreRequestId, member).catch(() => undefined);
    if (error instanceof KoreRetryableError && error.rateLimited) return { waitMs: (await budget.refused(error.retryAfterMs)).waitMs };
    throw error;
  }
  const statuses: Record<string, string> = {};
  for (const user of raw.users) statuses[hashSubject(jobUserKeyInput(user.userId), deps.subjectKeys.hmacKey)] = user.status;
  const found: SharedJobStatus = { checkedAtMs: deps.clock.now().getTime(), statuses, ...(raw.lastUpdatedOn ? { lastUpdatedOn: raw.lastUpdatedOn } : {}), responseSha256: sha256(raw.rawBody), users: raw.users.length };
  await jobStatus.publish(koreRequestId, found);
  return mine(found, 'this');
}
