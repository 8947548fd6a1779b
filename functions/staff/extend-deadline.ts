/** Use case: ops extend a request's deadline once (Art. 12(3)), with a reason the subject is told. */
import { ReasonRequiredError, StatusConflictError } from '../domain/errors';
import { DeadlineAlreadyExtendedError, ExtensionReasonRequiredError, ExtensionTooLateError, extendDeadline } from '../domain/deadlines';
import { isFinal } from '../domain/lifecycle';
import type { Actor, ErasureRequest } from '../domain/model';
import { silentLogger } from '../domain/ports';
import { OpsDeps, requireReason, conflict, ActionResult } from './ops-deps';

/**
 * Extends the deadline to received + three months (Art. 12(3)): only once, only while the first
 * month is still running, only with a reason — and the subject is told the reason.
 * @throws ReasonRequiredError, RequestNotFoundError, StatusConflictError for a final request, an already
 *   extended deadline, or a first month that has run out.
 */
export async function extendRequestDeadline(deps: OpsDeps, requestId: string, actor: Actor, reason: string | undefined): Promise<ActionResult & { notified: boolean }> {
  const why = requireReason(reason);
  let result: { request: ErasureRequest };
  try {
    result = await deps.store.appendEvent(requestId, (current) => {
      if (isFinal(current.status)) throw conflict(current.status, `A request in status ${current.status} has ended; its deadline cannot be extended.`);
      const now = deps.clock.now();
      const dueAt = extendDeadline(current.receivedAt, current.dueAt, now, why).toISOString();
      const at = now.toISOString();
      return {
        event: { type: 'DEADLINE_EXTENDED', at, actor, attempt: current.attempt, status: current.status, details: { reason: why, previousDueAt: current.dueAt, dueAt } },
        patch: { dueAt, extended: { at, reason: why, by: actor } },
      };
    });
  } catch (error) {
    if (error instanceof DeadlineAlreadyExtendedError || error instanceof ExtensionTooLateError) {
      const current = await deps.store.getRequest(requestId);
      throw new StatusConflictError(current?.status ?? 'unknown', error.message);
    }
    if (error instanceof ExtensionReasonRequiredError) throw new ReasonRequiredError();
    throw error;
  }
  try {
    await deps.notifySubject(result.request, 'extended', { reason: why });
    return { request: result.request, notified: true };
  } catch (error) {
    (deps.logger ?? silentLogger).error('extension notice failed', { requestId, error: error instanceof Error ? error.name : 'unknown' });
    return { request: result.request, notified: false };
  }
}
