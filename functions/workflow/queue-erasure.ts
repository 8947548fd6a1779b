/**
 * Queueing an erasure attempt and starting its workflow: the one way into QUEUED, shared by the
 * intake (after verification), ops (retry, re-check) and the canary.
 */
import { IllegalTransitionError } from '../domain/errors';
import { assertTransition } from '../domain/lifecycle';
import type { Actor, ErasureRequest, JsonValue, RequestStatus } from '../domain/model';
import type { AuditStore, Clock, WorkflowStarter } from '../domain/ports';

export interface QueueErasureDeps {
  store: AuditStore;
  workflow: WorkflowStarter;
  clock: Clock;
}

/** The platform job ended with a per-user FAILED: a retry must send a new DELETE. */
export const PLATFORM_FAILED_REASON = 'USER_ERASURE_FAILED';

/**
 * Whether a new attempt can resume watching the Kore.ai job of the previous one instead of
 * deleting again: the job exists and did not end in failure (polling timed out, or the workflow
 * broke after the DELETE was accepted).
 */
export function canResumeKoreJob(request: ErasureRequest): boolean {
  if (!request.koreRequestId) return false;
  if (request.status === 'TIMED_OUT') return true;
  return request.status === 'FAILED' && request.failureReason !== PLATFORM_FAILED_REASON;
}

/**
 * Moves the request to QUEUED as a new attempt (recording who and why) and starts the workflow
 * execution `<requestId>-<attempt>`. If the start fails, the request stays QUEUED and the
 * sweeper starts it later; the error is rethrown so callers can report it.
 * @throws IllegalTransitionError when the request's status does not allow queueing (→ 409).
 */
export async function queueErasure(
  deps: QueueErasureDeps,
  requestId: string,
  actor: Actor,
  details: { [key: string]: JsonValue } = {},
  expectedFrom?: readonly RequestStatus[],
): Promise<{ request: ErasureRequest; started: boolean }> {
  const { request } = await deps.store.appendEvent(requestId, (current) => {
    // A caller may narrow the lifecycle (a retry is not a re-check): outside it, the move is illegal.
    if (expectedFrom && !expectedFrom.includes(current.status)) throw new IllegalTransitionError(current.status, 'QUEUED');
    const transition = assertTransition(current.status, 'QUEUED', current);
    const attempt = transition.newAttempt ? current.attempt + 1 : current.attempt;
    const resume = canResumeKoreJob(current);
    return {
      event: {
        type: transition.event,
        at: deps.clock.now().toISOString(),
        actor,
        attempt,
        status: 'QUEUED',
        details: { ...details, from: current.status, resumesKoreJob: resume },
      },
      patch: {
        attempt,
        koreRequestId: resume ? current.koreRequestId! : null,
        failureReason: null,
        needsReview: null,
        rejection: null,
        // A retry after a read-back found data: the new attempt is verified afresh when it completes.
        ...(current.verification ? { verification: null } : {}),
      },
    };
  });
  const { started } = await deps.workflow.startErasure(requestId, request.attempt);
  return { request, started };
}
