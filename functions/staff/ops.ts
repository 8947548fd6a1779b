/**
 * Ops use cases: what needs attention (failed, timed out, stuck, overdue, needs review), and the actions that
 * fix it without touching the database — retry, cancel, re-check eligibility, extend a deadline,
 * revoke a request's status links, refresh the roles snapshot. Every action on a request is an audit event carrying the staff
 * actor and the reason; a conflicting action is refused with 409 naming the current status.
 */
import { HttpProblem, problem } from '../adapters/http/shared/problem';
import { DeadlineAlreadyExtendedError, ExtensionReasonRequiredError, ExtensionTooLateError, extendDeadline } from '../domain/deadlines';
import { decideEligibility } from '../domain/eligibility';
import { ConcurrentUpdateError, IllegalTransitionError, RequestNotFoundError } from '../domain/errors';
import { ACTIVE_WORKFLOW_STATUSES, canTransition, findTransition, isFinal } from '../domain/lifecycle';
import type { Actor, ErasureRequest, RequestStatus, SnapshotInfo } from '../domain/model';
import type { Page, SnapshotReader, WorkflowStarter } from '../domain/ports';
import { queueErasure } from '../workflow/queue-erasure';
import { listRequests, type AuditDeps, type PageRequest } from './audit';
import { conflictProblem, silentLogger, type StaffLogger } from '../adapters/http/staff/http';

export interface OpsDeps extends AuditDeps {
  workflow: WorkflowStarter;
  snapshots: SnapshotReader;
  /** Tells the subject about a change of their request (mail + NOTICE_SENT); owned by the notices code. */
  notifySubject: (request: ErasureRequest, kind: 'extended', details: { reason: string }) => Promise<void>;
  /** Rebuilds the privileged-identity snapshot now and says which one is current. */
  refreshRolesSnapshot: () => Promise<SnapshotInfo>;
  /** A request untouched this long in VERIFIED/QUEUED/SUBMITTED/IN_PROGRESS with no running execution is stuck. Default 15 min. */
  stuckAfterMs?: number;
  logger?: StaffLogger;
}

export const OPS_LISTS = ['failed', 'timed-out', 'stuck', 'overdue', 'needs-review'] as const;
export type OpsList = (typeof OPS_LISTS)[number];

export const DEFAULT_STUCK_AFTER_MS = 15 * 60_000;
/** Most requests one bulk retry touches. */
export const MAX_BULK = 100;
export const RETRYABLE: readonly RequestStatus[] = ['FAILED', 'TIMED_OUT'];

/**
 * One page of an ops list. Canary requests are included: a failing canary is exactly what ops
 * must see.
 * @throws HttpProblem 400 for a bad cursor.
 */
export async function listForOps(deps: OpsDeps, list: OpsList, page: PageRequest = {}): Promise<Page<ErasureRequest>> {
  switch (list) {
    case 'failed':
      return listRequests(deps, { statuses: ['FAILED'], includeCanary: true }, page);
    case 'timed-out':
      return listRequests(deps, { statuses: ['TIMED_OUT'], includeCanary: true }, page);
    case 'overdue':
      return listRequests(deps, { overdue: true, includeCanary: true }, page);
    case 'needs-review':
      // Running attempts flagged by the workflow (an unknown Kore.ai status word): they go on
      // polling to their deadline, so a person can look before they time out.
      return listRequests(deps, { statuses: [...ACTIVE_WORKFLOW_STATUSES], includeCanary: true }, page, async (r) => r.needsReview !== undefined);
    case 'stuck': {
      const threshold = new Date(deps.clock.now().getTime() - (deps.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS)).toISOString();
      return listRequests(
        deps,
        { statuses: ['VERIFIED', ...ACTIVE_WORKFLOW_STATUSES], includeCanary: true, to: threshold },
        page,
        async (r) => r.updatedAt < threshold && !(r.status !== 'VERIFIED' && (await deps.workflow.isRunning(r.requestId, r.attempt))),
      );
    }
  }
}

function requireReason(reason: string | undefined): string {
  const trimmed = (reason ?? '').trim();
  if (trimmed === '') {
    throw new HttpProblem(problem(400, 'validation-failed', 'A reason is required', undefined, { errors: [{ field: 'reason', message: 'required' }] }));
  }
  return trimmed;
}

function conflict(current: RequestStatus, what: string): HttpProblem {
  return new HttpProblem(conflictProblem(current, what));
}

export interface ActionResult {
  request: ErasureRequest;
}

/**
 * Retries a FAILED or TIMED_OUT request as a new attempt (resuming the Kore.ai job when it
 * exists and did not fail) and starts its workflow. Of concurrent retries exactly one wins.
 * When the workflow start fails the request stays QUEUED for the sweeper: `started` is false.
 * @throws HttpProblem 400 without a reason, 404 for an unknown id, 409 when the status is not retryable.
 */
export async function retryRequest(deps: OpsDeps, requestId: string, actor: Actor, reason: string | undefined): Promise<ActionResult & { started: boolean }> {
  const why = requireReason(reason);
  try {
    return await queueErasure(deps, requestId, actor, { reason: why }, RETRYABLE);
  } catch (error) {
    if (error instanceof IllegalTransitionError) throw conflict(error.from as RequestStatus, `Only FAILED or TIMED_OUT requests can be retried; this one is ${error.from}.`);
    if (error instanceof RequestNotFoundError || error instanceof ConcurrentUpdateError || error instanceof HttpProblem) throw error;
    // The append happened but starting the execution failed: the sweeper will start it.
    const current = await deps.store.getRequest(requestId);
    if (current?.status === 'QUEUED') {
      (deps.logger ?? silentLogger).error('workflow start failed after retry', { requestId, error: error instanceof Error ? error.name : 'unknown' });
      return { request: current, started: false };
    }
    throw error;
  }
}

export type BulkSelection = { ids: string[] } | { status: 'FAILED' | 'TIMED_OUT' | ('FAILED' | 'TIMED_OUT')[]; limit?: number };

export interface BulkOutcome {
  requestId: string;
  outcome: 'retried' | 'conflict' | 'not-found' | 'error';
  status?: RequestStatus;
  attempt?: number;
  started?: boolean;
}

/**
 * Retries many requests, by ids or by status, at most MAX_BULK per call; reports each id's outcome
 * instead of stopping at the first refusal.
 * @throws HttpProblem 400 without a reason or with more than MAX_BULK ids.
 */
export async function retryMany(deps: OpsDeps, selection: BulkSelection, actor: Actor, reason: string | undefined): Promise<{ outcomes: BulkOutcome[]; more: boolean }> {
  const why = requireReason(reason);
  let ids: string[];
  let more = false;
  if ('ids' in selection) {
    ids = [...new Set(selection.ids)];
    if (ids.length > MAX_BULK) throw new HttpProblem(problem(400, 'validation-failed', `At most ${MAX_BULK} requests per call`, undefined, { errors: [{ field: 'ids', message: `at most ${MAX_BULK}` }] }));
  } else {
    const statuses = Array.isArray(selection.status) ? selection.status : [selection.status];
    const page = await listRequests(deps, { statuses, includeCanary: true }, { limit: Math.min(selection.limit ?? MAX_BULK, MAX_BULK) });
    ids = page.items.map((r) => r.requestId);
    more = page.cursor !== undefined;
  }
  const outcomes: BulkOutcome[] = new Array(ids.length);
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const index = next++;
      const requestId = ids[index]!;
      try {
        const { request, started } = await retryRequest(deps, requestId, actor, why);
        outcomes[index] = { requestId, outcome: 'retried', status: request.status, attempt: request.attempt, started };
      } catch (error) {
        if (error instanceof RequestNotFoundError) outcomes[index] = { requestId, outcome: 'not-found' };
        else if (error instanceof HttpProblem && error.problem.status === 409) {
          outcomes[index] = { requestId, outcome: 'conflict', status: error.problem.currentStatus as RequestStatus | undefined };
        } else {
          (deps.logger ?? silentLogger).error('bulk retry failed for one request', { requestId, error: error instanceof Error ? error.name : 'unknown' });
          outcomes[index] = { requestId, outcome: 'error' };
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, ids.length) }, worker));
  return { outcomes, more };
}

/**
 * Cancels a request where the lifecycle allows it (→ CANCELLED) and drops the encrypted subject
 * id (the request has ended). The open-request claim is released by the record layer.
 * @throws HttpProblem 400 without a reason, 404 unknown id, 409 when the request cannot be cancelled.
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

/**
 * Re-runs the owner/co-developer rules for a REJECTED request (e.g. after an ownership transfer):
 * eligible now → queued as a new attempt; still not → ELIGIBILITY_CHECKED is recorded with the
 * decision and the snapshot's age, and the request stays REJECTED.
 * @throws HttpProblem 400 without a reason, 404 unknown id, 409 unless REJECTED, 503 without a snapshot.
 */
export async function recheckRequest(deps: OpsDeps, requestId: string, actor: Actor, reason: string | undefined): Promise<ActionResult & { eligible: boolean; started?: boolean }> {
  const why = requireReason(reason);
  const request = await deps.store.getRequest(requestId);
  if (!request) throw new RequestNotFoundError(requestId);
  if (request.status !== 'REJECTED') throw conflict(request.status, `Only REJECTED requests can be re-checked; this one is ${request.status}.`);
  const snapshot = await deps.snapshots.getCurrentSnapshot();
  if (!snapshot) throw new HttpProblem(problem(503, 'snapshot-unavailable', 'No roles snapshot yet', 'Refresh the roles snapshot, then re-check.'));
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

/**
 * Extends the deadline to received + three months (Art. 12(3)): only once, only while the first
 * month is still running, only with a reason — and the subject is told the reason.
 * @throws HttpProblem 400 without a reason, 404 unknown id, 409 for a final request, an already
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
      throw new HttpProblem(conflictProblem(current?.status ?? 'unknown', error.message));
    }
    if (error instanceof ExtensionReasonRequiredError) throw new HttpProblem(problem(400, 'validation-failed', 'A reason is required', undefined, { errors: [{ field: 'reason', message: 'required' }] }));
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

/**
 * Revokes every status link of a request issued so far (a forwarded or leaked mail): from now on
 * they answer the same 404 as an unknown id. Links in mails sent later (the next notice) work.
 * Allowed in any status; recorded as STATUS_LINKS_REVOKED with the staff actor and the reason.
 * @throws HttpProblem 400 without a reason; RequestNotFoundError (→ 404) for an unknown id.
 */
export async function revokeStatusLinks(deps: OpsDeps, requestId: string, actor: Actor, reason: string | undefined): Promise<ActionResult & { revokedAt: string }> {
  const why = requireReason(reason);
  const revokedAt = deps.clock.now().toISOString();
  const { request } = await deps.store.appendEvent(requestId, (current) => ({
    event: { type: 'STATUS_LINKS_REVOKED', at: revokedAt, actor, attempt: current.attempt, status: current.status, details: { reason: why } },
  }));
  return { request, revokedAt };
}

/**
 * Rebuilds the roles snapshot now. Not tied to one request, so it is logged (actor, snapshot
 * version) rather than chained. The reason is free text staff type — it may name a person — so the
 * log says only whether one was given.
 * @throws whatever the refresh throws (→ 500/503 at the edge).
 */
export async function refreshRoles(deps: OpsDeps, actor: Actor, reason: string | undefined): Promise<{ snapshot: SnapshotInfo; snapshotAgeSeconds: number }> {
  const why = (reason ?? '').trim() || 'on demand';
  const snapshot = await deps.refreshRolesSnapshot();
  (deps.logger ?? silentLogger).info('roles snapshot refreshed', { actor, reasonGiven: why !== 'on demand', version: snapshot.version, identityCount: snapshot.identityCount });
  const age = Math.max(0, Math.floor((deps.clock.now().getTime() - Date.parse(snapshot.takenAt)) / 1000));
  return { snapshot, snapshotAgeSeconds: age };
}

/** Which ops actions the lifecycle allows for a request now (for the console's buttons). */
export function allowedActions(
  request: Pick<ErasureRequest, 'status' | 'receivedAt' | 'dueAt' | 'extended'>,
  now: Date,
): { retry: boolean; cancel: boolean; recheck: boolean; extend: boolean; 'revoke-links': boolean } {
  let extend = false;
  if (!isFinal(request.status) && !request.extended) {
    try {
      extendDeadline(request.receivedAt, request.dueAt, now, 'probe');
      extend = true;
    } catch {
      extend = false;
    }
  }
  return {
    retry: RETRYABLE.includes(request.status),
    cancel: canTransition(request.status, 'CANCELLED'),
    recheck: request.status === 'REJECTED',
    extend,
    // Any request may have had its status link forwarded.
    'revoke-links': true,
  };
}
