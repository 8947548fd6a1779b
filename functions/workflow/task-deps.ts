/**
 * The use cases behind the erasure state machine's tasks (one a file: `submit-erasure.ts`,
 * `check-erasure-status.ts`, `record-outcome.ts`): submit the DELETE, check the job, record the
 * outcome. Each is idempotent for its attempt (Step Functions may run a task twice), appends
 * audit events for what it did, and throws named errors for `Retry`/`Catch`.
 *
 * This module: what the tasks need, and the steps they share.
 */
import { createHash } from 'node:crypto';
import { RequestNotActiveError, RequestNotFoundError, StaleAttemptError } from '../domain/errors';
import type { CallBudget } from '../domain/call-budget';
import type { ErasureBatchPolicy, ErasureBatchStore, SharedJobStatusStore } from '../domain/erasure-batch';
import { type KorePlatform } from '../domain/kore';
import type { ErasureRequest } from '../domain/model';
import { nextWaitSeconds, type PollPolicy } from '../domain/polling';
import type { AuditStore, Clock, OpenRequestClaims, SnapshotReader } from '../domain/ports';
import { type SubjectKeys } from '../domain/subject';
import { verificationNeedsSubjectId, type VerificationPolicy } from '../domain/verification';
import type { WorkflowState } from './workflow-state';

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
  /** Batched erasures (domain/erasure-batch): absent, or a size of 1, sends every request alone. */
  batching?: { policy: ErasureBatchPolicy; batches: ErasureBatchStore; jobStatus: SharedJobStatusStore };
  /** Read-back of completed erasures (RecordOutcome marks the chosen ones); absent: none is verified. */
  verification?: VerificationPolicy;
}

/**
 * The longest `Retry-After` SubmitErasure waits out itself before throwing, so the state
 * machine's retry comes no earlier than the platform asked. The stack sizes the task's Lambda
 * timeout to cover it on top of the Kore.ai client's own timeout (infra/constructs/functions.ts).
 */
export const MAX_INLINE_RETRY_AFTER_MS = 20_000;

export const ACTOR = 'system:workflow' as const;

export const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The request as its chain says it is (a projection left behind by a crashed writer is repaired
 * first, so a redriven task never acts on a stale status), for this execution's attempt.
 */
export async function loadCurrentAttempt(deps: ErasureTaskDeps, state: WorkflowState): Promise<ErasureRequest> {
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

export function startPolling(deps: ErasureTaskDeps, now: Date): WorkflowState['poll'] {
  return {
    startedAt: now.toISOString(),
    deadline: new Date(now.getTime() + deps.poll.deadlineSeconds * 1000).toISOString(),
    count: 0,
    waitSeconds: nextWaitSeconds(deps.poll, 0),
    outcome: 'RUNNING',
  };
}

/**
 * Once a request can no longer change (COMPLETED, CANCELLED, EXPIRED): drop the plain subject id
 * (recorded as an event) and release the subject's open-request claim. Idempotent. A completed
 * erasure still waiting for its read-back, or whose data was found still there (a retry erases
 * again), keeps the encrypted id until its verification stands (functions/domain/verification.ts).
 */
export async function endForGood(deps: Pick<ErasureTaskDeps, 'store' | 'claims' | 'clock'>, request: ErasureRequest): Promise<void> {
  if (request.subjectCipher && !verificationNeedsSubjectId(request.verification)) {
    await deps.store.appendEvent(request.requestId, (current) => ({
      event: { type: 'SUBJECT_ID_DROPPED', at: deps.clock.now().toISOString(), actor: ACTOR, attempt: current.attempt, status: current.status, details: {} },
      patch: { subjectCipher: null },
    }));
  }
  await deps.claims.releaseOpenRequest(request.subjectHash, request.scopeKey, request.requestId);
}
