/**
 * SubmitErasure for a request that goes to Kore.ai in a batch (rules: domain/erasure-batch.ts).
 *
 * A request joins the batch of its scope and gathering window, then waits (a Step Functions wait,
 * `budgetWait.reason: 'gathering'`) until the batch closes. The member that claims it records
 * every member's intent on that member's timeline (eligibility checked once more for each), marks
 * the batch `sending` with the members it includes, sends one DELETE with all their user ids and
 * records the answer on the batch and on every member's timeline; a member that wakes up reads
 * the batch and records the answer itself if the claimer could not. So each request keeps its own
 * intent, answer, attempt and receipt, and the one-DELETE-per-attempt guarantee holds per member:
 * an intent is written only on a timeline without a pending one, and a batch left `sending` by a
 * claimer that died is lost for every member (outcome unknown), never sent again.
 *
 * Intents and answers name the batch and its send round (`batchRound`): a batch the platform asked
 * for again goes out in a new round, and the answer of an earlier round (written late by its
 * claimer) never lands on a later round's intent; a member still pending in an earlier round gets
 * that round's answer (retry) on its timeline before its new intent.
 *
 * A refusal by the platform refuses the whole batch (docs/kore-platform.md): nothing was taken,
 * so each member is then sent alone and only the refused one ends REJECTED.
 */
import { UNLIMITED_BUDGET, waitSecondsOf } from '../domain/call-budget';
import { memberKeyOf, memberStep, type BatchFailure, type BatchRecord } from '../domain/erasure-batch';
import { ConcurrentUpdateError, RequestNotActiveError, SubmissionOutcomeUnknownError } from '../domain/errors';
import { KoreAuthError, KoreOutcomeUnknownError, KorePermanentError, KoreRefusedError, KoreRetryableError } from '../domain/kore';
import type { AuditEvent, AuditEventInput, ErasureRequest, JsonValue, SnapshotInfo } from '../domain/model';
import type { RequestPatch } from '../domain/ports';
import { decryptSubjectId } from '../domain/subject';
import { afterFailedDelete, appendOnChecked, assertNoUnknownOutcome, callFailedDetails, mapInGroups, nextTryOf, readSubmissions, recheckEligibility, requestOnAttempt } from './submission-records';
import { ACTOR, startPolling, type ErasureTaskDeps } from './task-deps';
import type { WorkflowState } from './workflow-state';

type SendAlone = (deps: ErasureTaskDeps, request: ErasureRequest, state: WorkflowState) => Promise<WorkflowState>;

/** Members whose timelines the claimer writes side by side (a batch of 50 in two groups). */
const WRITE_WIDTH = 25;

/** The claimer left this member out of the batch it was pending in: the intent sent nothing. */
class NotIncludedError extends Error {
  constructor() {
    super('The member has a DELETE under way elsewhere');
    this.name = 'NotIncludedError';
  }
}

/** The send round an intent or answer names (events written before rounds were named: 1). */
const roundOf = (event: AuditEvent) => Number(event.details.batchRound ?? 1);

const gathering = (request: ErasureRequest, batchId: string, waitMs: number): WorkflowState => ({
  requestId: request.requestId,
  attempt: request.attempt,
  batch: { id: batchId },
  budgetWait: { waitSeconds: waitSecondsOf(waitMs), reason: 'gathering' },
});

/**
 * Joins, waits in, sends or reads the request's batch (see the module comment).
 * @throws as SubmitErasure: KoreRetryableError, SubmissionOutcomeUnknownError, KorePermanentError, KoreAuthError, ….
 */
export async function submitInBatch(deps: ErasureTaskDeps, request: ErasureRequest, state: WorkflowState, sendAlone: SendAlone): Promise<WorkflowState> {
  const { policy, batches } = deps.batching!;
  const member = memberKeyOf(request.requestId, request.attempt);
  const { submissions } = await readSubmissions(deps, request.requestId, request.attempt);
  const last = submissions.at(-1);
  const pendingIn = last?.type === 'ERASURE_SUBMITTING' && typeof last.details.batchId === 'string' ? last.details.batchId : undefined;
  // A lone intent without its answer, or an answer lost: as for a request sent alone.
  if (!pendingIn) assertNoUnknownOutcome(submissions);

  const batchId = pendingIn ?? state.batch?.id;
  if (batchId) {
    const batch = await batches.get(batchId);
    if (pendingIn && !batch) return lost(deps, request, batchId, undefined);
    const next = memberStep(batch, member, deps.clock.now().getTime(), policy);
    switch (next.step) {
      case 'wait':
        return gathering(request, batchId, next.waitMs);
      case 'claim':
        return sendBatch(deps, request, batchId, sendAlone);
      case 'sent':
        await answer(deps, request.requestId, request.attempt, batchId, batch!.round, (intent) => submittedEvent(next.koreRequestId, next.acceptedAt, intent, batch!));
        return polling(deps, request, next.koreRequestId, next.acceptedAt, batch!);
      case 'refused':
        // (A member only reads `refused` from a batch of several: the claimer of a batch of one ends it itself.)
        await answer(deps, request.requestId, request.attempt, batchId, batch!.round, (intent) => failedEvent(deps, new KoreRefusedError('The platform refused the batch', 400), intent, batchId));
        return sendAlone(deps, request, { ...state, batch: { solo: true } });
      case 'failed':
        await answer(deps, request.requestId, request.attempt, batchId, batch!.round, (intent) => failedEvent(deps, errorOf(next.failure), intent, batchId));
        throw errorOf(next.failure);
      case 'lost':
        return lost(deps, request, batchId, batch!.round);
      case 'rejoin':
        // Left out of the batch's round under way (or the last one): the DELETE of the round its
        // intent names was asked for again (retry) or never went out. Either way it did not carry this user.
        if (pendingIn) await answer(deps, request.requestId, request.attempt, batchId, undefined, (intent) => ({ event: callFailed(deps.clock.now(), { try: intent.details.try ?? 0, error: 'NotInBatch', retryable: true, batchId, batchRound: roundOf(intent) }) }));
        break;
    }
  }

  // Eligibility again before the point of no return, then the batch of this scope and window.
  const eligibility = await recheckEligibility(deps, request.subjectHash, deps.clock.now());
  if (eligibility.rejection) return { requestId: request.requestId, attempt: request.attempt, rejection: { ...eligibility.rejection, source: 'snapshot' } };
  const joined = await batches.join(request.scopeKey, request.scope.botIds, member);
  if (!joined) return sendAlone(deps, request, { ...state, batch: { solo: true } });
  // Sent at once by whoever finds it full when it joins: the member whose write completes the
  // batch (the one whose count filled it may get there before the others' writes have landed).
  const next = memberStep(joined.batch, member, deps.clock.now().getTime(), policy);
  if (next.step === 'claim') return sendBatch(deps, request, joined.batch.id, sendAlone);
  return gathering(request, joined.batch.id, next.step === 'wait' ? next.waitMs : policy.pollMs);
}

/** A member the claimer will send: its intent is on its timeline. */
interface Included {
  member: string;
  requestId: string;
  attempt: number;
  subjectId: string;
  tryNumber: number;
}

/**
 * Claims the batch and sends it: every member's intent, `sending`, the DELETE, the answer.
 * @throws as {@link submitInBatch}.
 */
async function sendBatch(deps: ErasureTaskDeps, request: ErasureRequest, batchId: string, sendAlone: SendAlone): Promise<WorkflowState> {
  const { policy, batches } = deps.batching!;
  const me = memberKeyOf(request.requestId, request.attempt);
  // The DELETE's turn first: a wait claims nothing, and the batch stays open to whoever has one.
  const budget = deps.budget ?? UNLIMITED_BUDGET;
  const turn = await budget.take('erase');
  if (!turn.granted) return { requestId: request.requestId, attempt: request.attempt, batch: { id: batchId }, budgetWait: { waitSeconds: waitSecondsOf(turn.waitMs), reason: 'budget' } };
  const batch = await batches.claim(batchId, me);
  if (!batch) return gathering(request, batchId, policy.pollMs);

  const now = deps.clock.now();
  const known = { snapshot: await deps.snapshots.getCurrentSnapshot() };
  const included = (await mapInGroups(batch.members, WRITE_WIDTH, (m) => recordIntent(deps, m, batch, known, now))).filter((i): i is Included => i !== undefined);
  if (!(await batches.markSending(batchId, me, included.map((i) => i.member)))) throw new ConcurrentUpdateError('The batch was taken over while its intents were recorded');
  if (included.length === 0) {
    await batches.markOutcome(batchId, me, { state: 'failed', failure: { error: 'NoMemberToSend' } });
    return gathering(request, batchId, policy.pollMs);
  }

  let accepted: Awaited<ReturnType<ErasureTaskDeps['kore']['eraseUsersData']>>;
  try {
    accepted = await deps.kore.eraseUsersData(included.map((i) => i.subjectId), batch.botIds);
  } catch (error) {
    const outcome =
      error instanceof KoreRefusedError
        ? ({ state: 'refused' } as const)
        : error instanceof KoreRetryableError
          ? ({ state: 'retry' } as const)
          : error instanceof KoreOutcomeUnknownError
            ? ({ state: 'lost' } as const)
            : ({ state: 'failed', failure: failureOf(error) } as const);
    await batches.markOutcome(batchId, me, outcome);
    await answerAll(deps, included, batchId, batch.round, (intent) => failedEvent(deps, error, intent, batchId));
    if (!included.some((i) => i.member === me)) return gathering(request, batchId, policy.pollMs);
    await answer(deps, request.requestId, request.attempt, batchId, batch.round, (intent) => failedEvent(deps, error, intent, batchId));
    // A batch of several: the refusal may be another member's, so this one goes alone next. A batch of one was this request's own DELETE.
    if (error instanceof KoreRefusedError && included.length > 1) return sendAlone(deps, request, { requestId: request.requestId, attempt: request.attempt, batch: { solo: true } });
    return afterFailedDelete(deps, request, error, { batch: { id: batchId } });
  }

  const acceptedAt = deps.clock.now().toISOString();
  await batches.markOutcome(batchId, me, { state: 'sent', koreRequestId: accepted.koreRequestId, acceptedAt });
  const sent: BatchRecord = { ...batch, state: 'sent', included: included.map((i) => i.member), koreRequestId: accepted.koreRequestId, acceptedAt };
  await answerAll(deps, included, batchId, batch.round, (intent) => submittedEvent(accepted.koreRequestId, acceptedAt, intent, sent, accepted.status));
  if (!included.some((i) => i.member === me)) return gathering(request, batchId, policy.pollMs);
  await answer(deps, request.requestId, request.attempt, batchId, batch.round, (intent) => submittedEvent(accepted.koreRequestId, acceptedAt, intent, sent, accepted.status));
  return polling(deps, request, accepted.koreRequestId, acceptedAt, sent);
}

/**
 * Records a member's intent, unless it left QUEUED, is no longer eligible, or has a DELETE under
 * way elsewhere. An intent of this batch's round recorded before (a claim taken over: that claim
 * never sent) counts as recorded; an intent of an earlier round, whose answer its claimer has not
 * written yet, first gets that round's answer (the platform asked for the batch again), then the
 * new intent follows, each append on checked submissions.
 */
async function recordIntent(deps: ErasureTaskDeps, member: string, batch: BatchRecord, known: { snapshot: SnapshotInfo | undefined }, now: Date): Promise<Included | undefined> {
  const cut = member.lastIndexOf('#');
  const requestId = member.slice(0, cut);
  const attempt = Number(member.slice(cut + 1));
  const request = await requestOnAttempt(deps, requestId, attempt);
  if (!request || request.status !== 'QUEUED' || !request.subjectCipher) return undefined;
  // Not eligible: left out; its own next run rejoins and meets the rejection there.
  const eligibility = await recheckEligibility(deps, request.subjectHash, now, known);
  if (eligibility.rejection) return undefined;
  let tryNumber = 0;
  try {
    // Two appends at most: an earlier round's answer, then the intent.
    let answeredEarlier: boolean = true;
    for (let pass = 0; answeredEarlier && pass < 2; pass++) {
      answeredEarlier = false;
      await appendOnChecked(deps, requestId, attempt, (submissions) => {
        answeredEarlier = false;
        const last = submissions.at(-1);
        if (last?.type === 'ERASURE_SUBMITTING') {
          if (last.details.batchId !== batch.id) throw new NotIncludedError();
          if (roundOf(last) !== batch.round) {
            answeredEarlier = true;
            return { event: callFailed(now, { try: last.details.try ?? 1, error: 'BatchRetried', retryable: true, refused: false, batchId: batch.id, batchRound: roundOf(last) }) };
          }
          tryNumber = Number(last.details.try ?? 1);
          return undefined;
        }
        if (last?.type === 'ERASURE_SUBMITTED' || (last?.type === 'ERASURE_CALL_FAILED' && last.details.outcomeUnknown === true)) throw new NotIncludedError();
        tryNumber = nextTryOf(submissions);
        return {
          event: {
            type: 'ERASURE_SUBMITTING',
            at: now.toISOString(),
            actor: ACTOR,
            details: { try: tryNumber, botIds: request.scope.botIds, eligibility: eligibility.details, batchId: batch.id, batchRound: batch.round },
          },
        };
      });
    }
    if (tryNumber === 0) throw new ConcurrentUpdateError('The member\'s timeline kept moving while its intent was recorded');
  } catch (error) {
    if (error instanceof NotIncludedError || error instanceof RequestNotActiveError) return undefined;
    throw error;
  }
  return { member, requestId, attempt, subjectId: decryptSubjectId(request.subjectCipher, deps.subjectKeys.cipherKey), tryNumber };
}

type Planned = { event: Omit<AuditEventInput, 'attempt' | 'status'> & { status?: AuditEventInput['status'] }; patch?: RequestPatch };

/**
 * Appends a batch round's answer to a member's timeline if its last submission is still the intent
 * of this batch and round (so the claimer and the member never both record it, and a late answer
 * of an earlier round never lands on a later round's intent). `round` undefined: any round.
 * @throws RequestNotActiveError when the request left QUEUED; the store's errors.
 */
async function answer(deps: ErasureTaskDeps, requestId: string, attempt: number, batchId: string, round: number | undefined, build: (intent: AuditEvent) => Planned): Promise<void> {
  await appendOnChecked(deps, requestId, attempt, (submissions) => {
    const last = submissions.at(-1);
    const pending = last?.type === 'ERASURE_SUBMITTING' && last.details.batchId === batchId && (round === undefined || roundOf(last) === round);
    return pending ? build(last) : undefined;
  });
}

/** The answer on every member's timeline; a member the claimer cannot write records it on its own next run. */
async function answerAll(deps: ErasureTaskDeps, included: Included[], batchId: string, round: number, build: (intent: AuditEvent) => Planned): Promise<void> {
  await mapInGroups(included, WRITE_WIDTH, (i) => answer(deps, i.requestId, i.attempt, batchId, round, build).catch(() => undefined));
}

function submittedEvent(koreRequestId: string, acceptedAt: string, intent: AuditEvent, batch: BatchRecord, jobStatus = 'in-progress'): Planned {
  const size = batch.included?.length ?? batch.members.length;
  return {
    event: { type: 'ERASURE_SUBMITTED', at: acceptedAt, actor: ACTOR, status: 'SUBMITTED', details: { koreRequestId, jobStatus, try: intent.details.try ?? 1, batch: { id: batch.id, size, round: batch.round } } },
    patch: { koreRequestId },
  };
}

const callFailed = (at: Date, details: { [key: string]: JsonValue }): Planned['event'] => ({ type: 'ERASURE_CALL_FAILED', at: at.toISOString(), actor: ACTOR, details });

function failedEvent(deps: ErasureTaskDeps, error: unknown, intent: AuditEvent, batchId: string): Planned {
  return { event: callFailed(deps.clock.now(), { ...callFailedDetails(error, Number(intent.details.try ?? 1)), batchId, batchRound: roundOf(intent), ...(error instanceof KoreRefusedError ? { batchRefused: true } : {}) }) };
}

/** The batch's job, polled by this member from when it was accepted. */
function polling(deps: ErasureTaskDeps, request: ErasureRequest, koreRequestId: string, acceptedAt: string, batch: BatchRecord): WorkflowState {
  return { requestId: request.requestId, attempt: request.attempt, koreRequestId, poll: startPolling(deps, new Date(acceptedAt)), batch: { id: batch.id, size: batch.included?.length ?? batch.members.length } };
}

/**
 * The batch's claimer died while sending (or this member's own earlier run did): the outcome is
 * unknown for every member of that round (`round` undefined: the batch is gone, any round).
 */
async function lost(deps: ErasureTaskDeps, request: ErasureRequest, batchId: string, round: number | undefined): Promise<never> {
  const member = memberKeyOf(request.requestId, request.attempt);
  await deps.batching!.batches.markOutcome(batchId, member, { state: 'lost' }).catch(() => false);
  const unknown = new KoreOutcomeUnknownError('The batch DELETE was sent and its answer was never recorded');
  await answer(deps, request.requestId, request.attempt, batchId, round, (intent) => failedEvent(deps, unknown, intent, batchId));
  throw new SubmissionOutcomeUnknownError('The DELETE of this attempt\'s batch was sent and its answer was never recorded');
}

function failureOf(error: unknown): BatchFailure {
  const httpStatus = (error as { httpStatus?: number }).httpStatus;
  const platformMessage = error instanceof KorePermanentError ? error.platformMessage : undefined;
  return { error: error instanceof Error ? error.name : 'Error', ...(httpStatus !== undefined ? { httpStatus } : {}), ...(platformMessage !== undefined ? { platformMessage } : {}) };
}

/** The batch's failure as the error a member's own DELETE would have ended in. */
function errorOf(failure: BatchFailure): Error {
  if (failure.error === 'KoreAuthError') return new KoreAuthError('The platform did not accept the credentials for the batch', failure.httpStatus ?? 401);
  return new KorePermanentError('The platform refused the batch DELETE', failure.httpStatus ?? 400, failure.platformMessage);
}
