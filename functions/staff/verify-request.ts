/** Use case: ops ask for a completed erasure to be read back from the platform now ("verify now"). */
import { IllegalTransitionError, RequestNotFoundError } from '../domain/errors';
import type { Actor, RequestStatus } from '../domain/model';
import { OpsDeps, canVerifyNow, conflict, requireReason, ActionResult } from './ops-deps';

/**
 * Makes a COMPLETED request's read-back due now (the verify-erasures run picks it up, at the
 * lowest priority of the call budget) and records who asked (`VERIFICATION_REQUESTED`). A
 * read-back waiting for its re-check stays a re-check, so data found twice still stands.
 * Only while the subject id is kept (a read-back pending, or data found): once the outcome stood
 * the id was dropped, and there is nothing left to read back with.
 * @throws ReasonRequiredError, RequestNotFoundError; StatusConflictError when the request is not COMPLETED or its subject id is gone.
 */
export async function verifyRequestNow(deps: OpsDeps, requestId: string, actor: Actor, reason: string | undefined): Promise<ActionResult> {
  const why = requireReason(reason);
  try {
    const { request } = await deps.store.appendEvent(requestId, (current) => {
      if (!canVerifyNow(current) || current.subjectCipher === undefined) throw new IllegalTransitionError(current.status, current.status);
      const now = deps.clock.now().toISOString();
      const stage = current.verification?.stage === 'recheck' ? 'recheck' : 'pending';
      return {
        event: { type: 'VERIFICATION_REQUESTED', at: now, actor, attempt: current.attempt, status: current.status, details: { reason: why, from: current.verification?.stage ?? 'none' } },
        patch: { verification: { stage, attempt: current.attempt, dueAt: now } },
      };
    });
    return { request };
  } catch (error) {
    if (error instanceof RequestNotFoundError) throw error;
    if (error instanceof IllegalTransitionError) {
      const what =
        error.from === 'COMPLETED'
          ? 'This erasure\'s verification has ended and its subject id was dropped; it cannot be read back again.'
          : `Only a COMPLETED erasure can be verified; this one is ${error.from}.`;
      throw conflict(error.from as RequestStatus, what);
    }
    throw error;
  }
}
