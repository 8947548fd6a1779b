/** Use case: ops retry many requests at once, by ids or by status (at most `MAX_BULK`). */
import { BulkLimitExceededError, RequestNotFoundError, StatusConflictError } from '../domain/errors';
import type { Actor, RequestStatus } from '../domain/model';
import { listRequests } from './list-requests';
import { silentLogger } from '../domain/ports';
import { OpsDeps, MAX_BULK, requireReason, conflict } from './ops-deps';
import { retryRequest } from './retry-request';

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
 * @throws ReasonRequiredError; BulkLimitExceededError with more than MAX_BULK ids.
 */
export async function retryMany(deps: OpsDeps, selection: BulkSelection, actor: Actor, reason: string | undefined): Promise<{ outcomes: BulkOutcome[]; more: boolean }> {
  const why = requireReason(reason);
  let ids: string[];
  let more = false;
  if ('ids' in selection) {
    ids = [...new Set(selection.ids)];
    if (ids.length > MAX_BULK) throw new BulkLimitExceededError(MAX_BULK);
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
        else if (error instanceof StatusConflictError) {
          outcomes[index] = { requestId, outcome: 'conflict', status: error.currentStatus as RequestStatus | undefined };
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
