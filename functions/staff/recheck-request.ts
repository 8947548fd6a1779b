/** Use case: ops re-check a REJECTED request against the current roles snapshot. */
import { decideEligibility } from '../domain/eligibility';
import { IllegalTransitionError, RequestNotFoundError, SnapshotUnavailableError } from '../domain/errors';
import type { Actor, RequestStatus } from '../domain/model';
import { queueErasure } from '../workflow/queue-erasure';
import { OpsDeps, requireReason, conflict, ActionResult } from './ops-deps';

/**
 * Re-runs the owner/co-developer rules for a REJECTED request (e.g. after an ownership transfer):
 * eligible now → queued as a new attempt; still not → ELIGIBILITY_CHECKED is recorded with the
 * decision and the snapshot's age, and the request stays REJECTED.
 * @throws ReasonRequiredError, RequestNotFoundError, StatusConflictError unless REJECTED, SnapshotUnavailableError.
 */
export async function recheckRequest(deps: OpsDeps, requestId: string, actor: Actor, reason: string | undefined): Promise<ActionResult & { eligible: boolean; started?: boolean }> {
  const why = requireReason(reason);
  const request = await deps.store.getRequest(requestId);
  if (!request) throw new RequestNotFoundError(requestId);
  if (request.status !== 'REJECTED') throw conflict(request.status, `Only REJECTED requests can be re-checked; this one is ${request.status}.`);
  const snapshot = await deps.snapshots.getCurrentSnapshot();
  if (!snapshot) throw new SnapshotUnavailableError();
  const now = deps.clock.now();
  const decision = decideEligibility(await deps.snapshots.lookup(snapshot, request.subjectHash), snapshot, now);
  const eligibility = {
    eligible: decision.eligible,
    snapshotVersion: snapshot.version,
    snapshotTakenAt: snapshot.takenAt,
    snapshotAgeSeconds: decision.snapshotAgeSeconds,
    ...(decision.eligible ? {} : { rule: decision.rule, rules: decision.rules, botIds: decision.botIds }),
  };
  try {
    if (decision.eligible) {
      const { request: queued, started } = await queueErasure(deps, requestId, actor, { reason: why, eligibility }, ['REJECTED']);
      return { request: queued, eligible: true, started };
    }
    const { request: updated } = await deps.store.appendEvent(requestId, (current) => {
      if (current.status !== 'REJECTED') throw new IllegalTransitionError(current.status, 'REJECTED');
      return {
        event: { type: 'ELIGIBILITY_CHECKED', at: now.toISOString(), actor, attempt: current.attempt, status: current.status, details: { reason: why, ...eligibility } },
        patch: { rejection: { rule: decision.rule, botIds: decision.botIds, source: 'snapshot' } },
      };
    });
    return { request: updated, eligible: false };
  } catch (error) {
    if (error instanceof IllegalTransitionError) throw conflict(error.from as RequestStatus, `Only REJECTED requests can be re-checked; this one is ${error.from}.`);
    throw error;
  }
}
