/** After verification: the eligibility decision against the snapshot, then queueing or rejecting (and telling the subject). */
import { queueErasure } from '../workflow/queue-erasure';
import { decideEligibility } from '../domain/eligibility';
import { IllegalTransitionError } from '../domain/errors';
import { assertTransition } from '../domain/lifecycle';
import type { EligibilityRule, ErasureRequest, JsonValue } from '../domain/model';
import { IntakeDeps, INTAKE, errorName } from './intake-deps';
import { notify } from './mailing';

export interface EligibilityOutcome {
  request: ErasureRequest;
  rejection?: { rule: EligibilityRule; botIds: string[] };
}

/**
 * The step after verification: checks the owner/co-developer rules against the current
 * privileged-identity snapshot (one lookup by hash) and either rejects the request (recording
 * the rule, bots and snapshot age, and telling the subject) or queues the erasure. Without a
 * snapshot the request is queued and the workflow re-checks.
 */
export async function decideAndQueue(deps: IntakeDeps, request: ErasureRequest, notifyTo: string | undefined): Promise<EligibilityOutcome> {
  try {
    return await decideAndQueueOnce(deps, request, notifyTo);
  } catch (error) {
    if (!(error instanceof IllegalTransitionError)) throw error;
    // The subject's confirmation and the sweeper's continuation of the same VERIFIED request can
    // meet (a slow confirmation outlives the stuck window): whichever decided first stands, and
    // the other one reports that decision instead of a conflict.
    const current = await deps.store.getRequest(request.requestId);
    if (!current || current.status === 'VERIFIED') throw error;
    const rejection = current.status === 'REJECTED' && current.rejection?.source === 'snapshot' ? { rule: current.rejection.rule as EligibilityRule, botIds: [...current.rejection.botIds] } : undefined;
    return rejection ? { request: current, rejection } : { request: current };
  }
}

export async function decideAndQueueOnce(deps: IntakeDeps, request: ErasureRequest, notifyTo: string | undefined): Promise<EligibilityOutcome> {
  const now = deps.clock.now();
  const snapshot = await deps.snapshots.getCurrentSnapshot();
  let details: { [key: string]: JsonValue } = { eligibility: 'deferred', reason: 'NO_SNAPSHOT' };
  if (snapshot) {
    const identity = await deps.snapshots.lookup(snapshot, request.subjectHash);
    const decision = decideEligibility(identity, snapshot, now);
    const snapshotDetails = { snapshotVersion: snapshot.version, snapshotTakenAt: snapshot.takenAt, snapshotAgeSeconds: decision.snapshotAgeSeconds };
    if (!decision.eligible) {
      const { request: rejected } = await deps.store.appendEvent(request.requestId, (current) => {
        if (current.status !== 'VERIFIED') throw new IllegalTransitionError(current.status, 'REJECTED');
        const transition = assertTransition(current.status, 'REJECTED');
        return {
          event: {
            type: transition.event,
            at: now.toISOString(),
            actor: INTAKE,
            attempt: current.attempt,
            status: 'REJECTED',
            details: { rule: decision.rule, rules: decision.rules, botIds: decision.botIds, source: 'snapshot', ...snapshotDetails },
          },
          patch: { rejection: { rule: decision.rule, botIds: decision.botIds, source: 'snapshot' } },
        };
      });
      if (notifyTo) await notify(deps, notifyTo, 'rejected', 'rejection', rejected, { rejection: { rule: decision.rule, botIds: decision.botIds } });
      return { request: rejected, rejection: { rule: decision.rule, botIds: decision.botIds } };
    }
    details = { eligibility: 'eligible', ...snapshotDetails };
  }
  // Told before queueing, so this mail always precedes the workflow's completion notice.
  if (notifyTo) await notify(deps, notifyTo, 'received', 'confirmation', request);
  try {
    const { request: queued } = await queueErasure(deps, request.requestId, INTAKE, details, ['VERIFIED']);
    return { request: queued };
  } catch (error) {
    if (error instanceof IllegalTransitionError) throw error;
    // The start may have failed after QUEUED was recorded: the sweeper starts it later.
    const current = await deps.store.getRequest(request.requestId);
    if (current?.status !== 'QUEUED') throw error;
    deps.logger.warn('workflow start failed; left for the sweeper', { requestId: request.requestId, errorName: errorName(error) });
    return { request: current };
  }
}

// ---------------------------------------------------------------------------------------------
// Use cases
