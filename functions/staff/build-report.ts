/** Use case: the report of a period (counts by status and rule, deadlines met, durations). */
import { isDueWithin, isOverdue } from '../domain/deadlines';
import { isFinal } from '../domain/lifecycle';
import { ELIGIBILITY_RULES, REQUEST_STATUSES, type RequestStatus } from '../domain/model';
import * as z from '../domain/validation';
import { AuditDeps } from './audit-deps';
import { iterateRequests } from './list-requests';
import { NOT_VERIFIED_REASONS } from '../domain/verification';

export interface AuditReport {
  generatedAt: string;
  period: { from?: string; to?: string };
  total: number;
  byStatus: Record<RequestStatus, number>;
  /** Every eligibility rule, plus `PLATFORM_RULES` when the platform itself refused. */
  byRejectionRule: Record<string, number>;
  /** Seconds from receipt to completion over COMPLETED requests (nearest-rank percentiles). */
  timeToCompletion: { count: number; medianSeconds: number | null; p95Seconds: number | null };
  deadlines: {
    /** Completed on or before the deadline. */
    met: number;
    /** Completed after the deadline. */
    completedLate: number;
    /** Not final and past the deadline now. */
    openOverdue: number;
    /** completedLate + openOverdue. */
    missed: number;
    /** Not final and due within the next 7 days (not yet overdue). */
    dueNext7Days: number;
  };
  /**
   * What reading the platform back after COMPLETED found (functions/domain/verification.ts), over
   * the COMPLETED requests: `pending` waits for its read-back or re-check, `notChosen` was not
   * sampled; `notVerifiedByReason` splits `notVerified`.
   */
  verification: { verified: number; dataFound: number; notVerified: number; pending: number; notChosen: number; notVerifiedByReason: Record<string, number> };
}

/**
 * The nearest-rank percentile of sorted values: the smallest value with at least `p`% of the
 * values at or below it. Undefined input → null.
 */
export function nearestRank(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/**
 * Counts by status and rejection rule, time to completion, deadlines met and missed, and what is
 * due in the next 7 days, over the requests received in the period (all when open-ended).
 * Canary requests are left out. Reads page by page.
 */
export async function buildReport(deps: AuditDeps, period: { from?: string; to?: string } = {}): Promise<AuditReport> {
  const now = deps.clock.now();
  const byStatus = Object.fromEntries(REQUEST_STATUSES.map((s) => [s, 0])) as Record<RequestStatus, number>;
  const byRejectionRule: Record<string, number> = Object.fromEntries([...ELIGIBILITY_RULES, 'PLATFORM_RULES'].map((r) => [r, 0]));
  const durations: number[] = [];
  const deadlines = { met: 0, completedLate: 0, openOverdue: 0, missed: 0, dueNext7Days: 0 };
  const verification = { verified: 0, dataFound: 0, notVerified: 0, pending: 0, notChosen: 0, notVerifiedByReason: Object.fromEntries(NOT_VERIFIED_REASONS.map((r) => [r, 0])) as Record<string, number> };
  let total = 0;
  for await (const items of iterateRequests(deps, { from: period.from, to: period.to })) {
    for (const r of items) {
      total++;
      byStatus[r.status]++;
      if (r.status === 'REJECTED' && r.rejection) byRejectionRule[r.rejection.rule] = (byRejectionRule[r.rejection.rule] ?? 0) + 1;
      if (r.status === 'COMPLETED' && r.completedAt) {
        durations.push((Date.parse(r.completedAt) - Date.parse(r.receivedAt)) / 1000);
        if (Date.parse(r.completedAt) <= Date.parse(r.dueAt)) deadlines.met++;
        else deadlines.completedLate++;
      }
      if (r.status === 'COMPLETED') {
        const stage = r.verification?.stage;
        if (stage === 'verified') verification.verified++;
        else if (stage === 'data-found') verification.dataFound++;
        else if (stage === 'not-verified') {
          verification.notVerified++;
          const reason = r.verification!.reason ?? 'platform-error';
          verification.notVerifiedByReason[reason] = (verification.notVerifiedByReason[reason] ?? 0) + 1;
        } else if (stage) verification.pending++;
        else verification.notChosen++;
      }
      if (isOverdue(r.dueAt, now, r.status)) deadlines.openOverdue++;
      else if (!isFinal(r.status) && isDueWithin(r.dueAt, now, 7)) deadlines.dueNext7Days++;
    }
  }
  durations.sort((a, b) => a - b);
  deadlines.missed = deadlines.completedLate + deadlines.openOverdue;
  return {
    generatedAt: now.toISOString(),
    period,
    total,
    byStatus,
    byRejectionRule,
    timeToCompletion: { count: durations.length, medianSeconds: nearestRank(durations, 50), p95Seconds: nearestRank(durations, 95) },
    deadlines,
    verification,
  };
}
