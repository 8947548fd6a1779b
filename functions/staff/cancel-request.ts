/** Use case: ops cancel a request that has not reached the platform. */
import { IllegalTransitionError } from '../domain/errors';
import { findTransition } from '../domain/lifecycle';
import type { Actor, RequestStatus } from '../domain/model';
import { OpsDeps, requireReason, conflict, ActionResult } from './ops-deps';

/**
 * Cancels a request where the lifecycle allows it (→ CANCELLED) and drops the encrypted subject
 * id (the request has ended). The open-request claim is released by the record layer.
 * @throws ReasonRequiredError, RequestNotFoundError, StatusConflictError when the request cannot be cancelled.
 */
export async function cancelRequest(deps: OpsDeps, requestId: string, actor: Actor, reason: string | undefined): Promise<ActionResult> {
  const why = requireReason(reason);
  try {
    const { request } = await deps.store.appendEvent(requestId, (current) => {
      const transition = findTransition(current.status, 'CANCELLED');
      if (!transition) throw new IllegalTransitionError(current.status, 'CANCELLED');
      return {
        event: {
          type: transition.event,
          at: deps.clock.now().toISOString(),
          actor,
          attempt: current.attempt,
          status: 'CANCELLED',
          details: { reason: why, from: current.status, subjectIdDropped: current.subjectCipher !== undefined },
        },
        patch: { subjectCipher: null },
      };
    });
    return { request };
  } catch (error) {
    if (error instanceof IllegalTransitionError) throw conflict(error.from as RequestStatus, `A request in status ${error.from} cannot be cancelled.`);
    throw error;
  }
}
