/**
 * The use cases behind the erasure state machine's tasks: submit the DELETE, check the job,
 * record the outcome. Each is idempotent for its attempt (Step Functions may run a task twice),
 * appends audit events for what it did, and throws named errors for `Retry`/`Catch`.
 */
import { createHash } from 'node:crypto';
import { decideEligibility, isSnapshotFreshEnough } from '../domain/eligibility';
import { RequestNotFoundError } from '../domain/errors';
import { KoreOutcomeUnknownError, KorePermanentError, KoreRefusedError, KoreRetryableError, type KorePlatform } from '../domain/kore';
import { isFinal } from '../domain/lifecycle';
import { UNLIMITED_BUDGET, waitSecondsOf, type CallBudget } from '../domain/call-budget';
import type { AuditEvent, ErasureRequest, JsonValue } from '../domain/model';
import { evaluateJob, nextWaitSeconds, summariseStatuses, unknownStatuses, UNKNOWN_STATUS_REVIEW, type PollPolicy } from '../domain/polling';
import type { AuditStore, Clock, OpenRequestClaims, SnapshotReader } from '../domain/ports';
import { decryptSubjectId, type SubjectKeys } from '../domain/subject';
import {
  RequestNotActiveError,
  StaleAttemptError,
  SubjectIdUnavailableError,
  SubmissionOutcomeUnknownError,
} from './errors';
import { PLATFORM_FAILED_REASON } from './queue-erasure';
import type { RecordOutcomeInput, WorkflowState } from './workflow-state';

/** What a notice is about; the wording lives with the intake's notice composer. */
export type NoticeKind = 'completed' | 'failed-needs-staff' | 'rejected';

/** Tells the subject what happened. Implementations skip subjects without an email address. */
export interface NoticeSender {
  notify(request: ErasureRequest, plainSubjectId: string, kind: NoticeKind): Promise<void>;
}

export interface ErasureTaskDeps {
  store: AuditStore;
  snapshots: SnapshotReader;
  kore: KorePlatform;
  claims: OpenRequestClaims;
  notices: NoticeSender;
  clock: Clock;
  subjectKeys: SubjectKeys;
  poll: PollPolicy;
  snapshotMaxAgeSeconds: number;
  /** A `Retry-After` up to this long is waited out inside the task before it throws (default {@link MAX_INLINE_RETRY_AFTER_MS}). */
  maxInlineRetryAfterMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** The deployment's shared Kore.ai call budget; every call takes its turn (default: unlimited, for tests). */
  budget?: CallBudget;
}

/**
 * The longest `Retry-After` SubmitErasure waits out itself before throwing, so the state
 * machine's retry comes no earlier than the platform asked. The stack sizes the task's Lambda
 * timeout to cover it on top of the Kore.ai client's own timeout (infra/constructs/functions.ts).
 */
export const MAX_INLINE_RETRY_AFTER_MS = 20_000;

const ACTOR = 'system:workflow' as const;
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The request as its chain says it is (a projection left behind by a crashed writer is repaired
 * first, so a redriven task never acts on a stale status), for this execution's attempt.
 */
async function loadCurrentAttempt(deps: ErasureTaskDeps, state: WorkflowState): Promise<ErasureRequest> {
  let request: ErasureRequest;
  try {
    ({ request } = await deps.store.repairProjection(state.requestId));
  } catch (error) {
    if (error instanceof RequestNotFoundError) throw new RequestNotActiveError('The request does not exist');
    throw error;
  }
  if (request.attempt !== state.attempt) throw new StaleAttemptError(`Attempt ${state.attempt} was superseded by attempt ${request.attempt}`);
  return request;
}

function startPolling(deps: ErasureTaskDeps, now: Date): WorkflowState['poll'] {
  return {
    startedAt: now.toISOString(),
    deadline: new Date(now.getTime() + deps.poll.deadlineSeconds * 1000).toISOString(),
    count: 0,
    waitSeconds: nextWaitSeconds(deps.poll, 0),
    outcome: 'RUNNING',
  };
}

/** The submission events of one attempt, to tell whether a DELETE is already under way. */
function submissionEventsOf(timeline: AuditEvent[], attempt: number): AuditEvent[] {
  return timeline.filter(
    (e) => e.attempt === attempt && (e.type === 'ERASURE_SUBMITTING' || e.type === 'ERASURE_CALL_FAILED' || e.type === 'ERASURE_SUBMITTED'),
  );
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

  const timeline = await deps.store.getTimeline(request.requestId);
  const submissions = submissionEventsOf(timeline, request.attempt);
  const last = submissions.at(-1);
  if (last?.type === 'ERASURE_SUBMITTING') {
    throw new SubmissionOutcomeUnknownError('A DELETE of this attempt was sent and its answer was never recorded');
  }
  if (last?.type === 'ERASURE_CALL_FAILED' && last.details.outcomeUnknown === true) {
    throw new SubmissionOutcomeUnknownError('A DELETE of this attempt was sent and its answer was lost');
  }

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
  const tryNumber = submissions.filter((e) => e.type === 'ERASURE_SUBMITTING').length + 1;

  // The DELETE's turn in the shared budget, before the intent is recorded: a wait sends nothing.
  const turn = await (deps.budget ?? UNLIMITED_BUDGET).take('erase');
  if (!turn.granted) return { requestId: request.requestId, attempt: request.attempt, budgetWait: { waitSeconds: waitSecondsOf(turn.waitMs), reason: 'budget' } };

  await deps.store.appendEvent(request.requestId, (current) => {
    if (current.attempt !== state.attempt || current.status !== 'QUEUED') throw new RequestNotActiveError(`The request is ${current.status}`);
    return {
      event: { type: 'ERASURE_SUBMITTING', at: now.toISOString(), actor: ACTOR, attempt: current.attempt, status: 'QUEUED', details: { try: tryNumber, botIds: current.scope.botIds, eligibility } },
    };
  });

  try {
    const accepted = await deps.kore.eraseUsersData([subjectId], request.scope.botIds);
    const acceptedAt = deps.clock.now();
    await deps.store.appendEvent(request.requestId, (current) => ({
      event: {
        type: 'ERASURE_SUBMITTED',
        at: acceptedAt.toISOString(),
        actor: ACTOR,
        attempt: current.attempt,
        status: 'SUBMITTED',
        details: { koreRequestId: accepted.koreRequestId, jobStatus: accepted.status, try: tryNumber },
      },
      patch: { koreRequestId: accepted.koreRequestId },
    }));
    return { requestId: request.requestId, attempt: request.attempt, koreRequestId: accepted.koreRequestId, poll: startPolling(deps, acceptedAt) };
  } catch (error) {
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

/** Reads the rule and bots an IneligibleSubjectError carried through `Cause` (executions started before rejections were returned as `rejection`). */
function rejectionFromCause(error: WorkflowState['error']): ErasureRequest['rejection'] {
  if (error?.Error === 'IneligibleSubjectError' && error.Cause) {
    try {
      // Lambda wraps the message: {"errorType":…,"errorMessage":"{\"rule\":…}"}; the local emulator passes it as is.
      const outer = JSON.parse(error.Cause) as { errorMessage?: string; rule?: string; botIds?: string[] };
      const inner = (typeof outer.errorMessage === 'string' ? JSON.parse(outer.errorMessage) : outer) as { rule?: string; botIds?: string[] };
      if (inner.rule) return { rule: inner.rule as never, botIds: inner.botIds ?? [], source: 'snapshot' };
    } catch {
      // fall through: recorded as a platform refusal
    }
  }
  return { rule: 'PLATFORM_RULES', botIds: [], source: 'platform' };
}

/**
 * RecordOutcome: the single place where an attempt ends. Moves the request to its terminal
 * status, tells the subject, and — once the request has ended for good — drops the plain subject
 * id and frees the subject for a new request. Safe to run twice; a stale attempt records nothing.
 */
export async function recordOutcome(deps: ErasureTaskDeps, input: RecordOutcomeInput): Promise<{ recorded: boolean; status?: string }> {
  const request = await deps.store.getRequest(input.requestId);
  if (!request || request.attempt !== input.attempt) return { recorded: false };

  const state = input.state ?? ({} as WorkflowState);
  const errorName = state.error?.Error;
  // Errors that mean "this execution should not touch the request" end without a record.
  if (input.outcome === 'ERROR' && (errorName === 'StaleAttemptError' || errorName === 'RequestNotActiveError')) {
    return { recorded: false, status: request.status };
  }

  const target =
    input.outcome === 'COMPLETED' ? 'COMPLETED' : input.outcome === 'TIMED_OUT' ? 'TIMED_OUT' : input.outcome === 'REJECTED' ? 'REJECTED' : 'FAILED';
  const now = deps.clock.now();
  const subjectId = request.subjectCipher ? decryptSubjectId(request.subjectCipher, deps.subjectKeys.cipherKey) : undefined;

  let moved = request;
  if (request.status !== target) {
    if (isFinal(request.status)) return { recorded: false, status: request.status };
    const rejection = target === 'REJECTED' ? (state.rejection ? { ...state.rejection, rule: state.rejection.rule as never } : rejectionFromCause(state.error)) : undefined;
    const failureReason =
      input.outcome === 'FAILED' ? PLATFORM_FAILED_REASON : input.outcome === 'TIMED_OUT' ? 'POLL_DEADLINE_PASSED' : input.outcome === 'ERROR' ? (errorName ?? 'Error') : undefined;
    ({ request: moved } = await deps.store.appendEvent(request.requestId, (current) => {
      if (current.attempt !== input.attempt) throw new StaleAttemptError('Attempt superseded');
      const type =
        target === 'COMPLETED' ? 'ERASURE_COMPLETED' : target === 'TIMED_OUT' ? 'ERASURE_TIMED_OUT' : target === 'REJECTED' ? 'REQUEST_REJECTED' : 'ERASURE_FAILED';
      return {
        event: {
          type,
          at: now.toISOString(),
          actor: ACTOR,
          attempt: current.attempt,
          status: target,
          details: {
            ...(current.koreRequestId ? { koreRequestId: current.koreRequestId } : {}),
            ...(state.poll ? { polls: state.poll.count, ...(state.poll.responseSha256 ? { finalStatusSha256: state.poll.responseSha256 } : {}) } : {}),
            ...(rejection ? { rule: rejection.rule, botIds: rejection.botIds, source: rejection.source } : {}),
            ...(failureReason ? { reason: failureReason } : {}),
          },
        },
        patch: {
          ...(target === 'COMPLETED' ? { completedAt: now.toISOString() } : {}),
          ...(rejection ? { rejection } : {}),
          ...(failureReason ? { failureReason } : {}),
        },
      };
    }));
    if (subjectId) {
      const kind = target === 'COMPLETED' ? 'completed' : target === 'REJECTED' ? 'rejected' : 'failed-needs-staff';
      await deps.notices.notify(moved, subjectId, kind);
    }
  }

  if (isFinal(moved.status)) await endForGood(deps, moved);
  return { recorded: true, status: moved.status };
}

/**
 * Once a request can no longer change (COMPLETED, CANCELLED, EXPIRED): drop the plain subject id
 * (recorded as an event) and release the subject's open-request claim. Idempotent.
 */
export async function endForGood(deps: Pick<ErasureTaskDeps, 'store' | 'claims' | 'clock'>, request: ErasureRequest): Promise<void> {
  if (request.subjectCipher) {
    await deps.store.appendEvent(request.requestId, (current) => ({
      event: { type: 'SUBJECT_ID_DROPPED', at: deps.clock.now().toISOString(), actor: ACTOR, attempt: current.attempt, status: current.status, details: {} },
      patch: { subjectCipher: null },
    }));
  }
  await deps.claims.releaseOpenRequest(request.subjectHash, request.scopeKey, request.requestId);
}
