/** Use case: ops lists (failed, timed out, stuck, overdue, needs review, data found after completion). */
import { ACTIVE_WORKFLOW_STATUSES } from '../domain/lifecycle';
import type { ErasureRequest } from '../domain/model';
import type { Page } from '../domain/ports';
import { type PageRequest } from './audit-deps';
import { listRequests } from './list-requests';
import { OpsDeps, OpsList, DEFAULT_STUCK_AFTER_MS } from './ops-deps';

/**
 * One page of an ops list. Canary requests are included: a failing canary is exactly what ops
 * must see.
 * @throws InvalidCursorError for a bad cursor.
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
    case 'data-found':
      // The platform said SUCCESS but reading it back found the subject's sessions: retry erases again.
      return listRequests(deps, { statuses: ['COMPLETED'], includeCanary: true }, page, async (r) => r.verification?.stage === 'data-found');
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
