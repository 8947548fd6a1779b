/** Use case: ops retry a FAILED or TIMED_OUT request, or a COMPLETED one whose data was read back still there, as a new attempt. */
import { ConcurrentUpdateError, IllegalTransitionError, ReasonRequiredError, RequestNotFoundError, StatusConflictError } from '../domain/errors';
import type { Actor, RequestStatus } from '../domain/model';
import { queueErasure } from '../workflow/queue-erasure';
import { silentLogger } from '../domain/ports';
import { OpsDeps, RETRYABLE, requireReason, conflict, ActionResult } from './ops-deps';

/**
 * Retries a FAILED or TIMED_OUT request as a new attempt (resuming the Kore.ai job when it
 * exists and did not fail) and starts its workflow. Of concurrent retries exactly one wins.
 * When the workflow start fails the request stays QUEUED for the sweeper: `started` is false.
 * @throws ReasonRequiredError, RequestNotFoundError, StatusConflictError when the status is not retryable.
 */
export async function retryRequest(deps: OpsDeps, requestId: string, actor: Actor, reason: string | undefined): Promise<ActionResult & { started: boolean }> {
  const why = requireReason(reason);
  try {
    return await queueErasure(deps, requestId, actor, { reason: why }, [...RETRYABLE, 'COMPLETED']);
  } catch (error) {
    if (error instanceof IllegalTransitionError) {
      const what = error.from === 'COMPLETED' ? 'A COMPLETED request can be retried only when reading the platform back found its data (data-found).' : `Only FAILED or TIMED_OUT requests can be retried; this one is ${error.from}.`;
      throw conflict(error.from as RequestStatus, what);
    }
    if (error instanceof RequestNotFoundError || error instanceof ConcurrentUpdateError || error instanceof ReasonRequiredError || error instanceof StatusConflictError) throw error;
    // The append happened but starting the execution failed: the sweeper will start it.
    const current = await deps.store.getRequest(requestId);
    if (current?.status === 'QUEUED') {
      (deps.logger ?? silentLogger).error('workflow start failed after retry', { requestId, error: error instanceof Error ? error.name : 'unknown' });
      return { request: current, started: false };
    }
    throw error;
  }
}
