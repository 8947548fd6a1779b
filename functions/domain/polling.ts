/**
 * How often the workflow asks Kore.ai whether an erase job has ended.
 *
 * The wait grows with the job's age (a fraction of the elapsed time, between a floor and a cap),
 * so completion is noticed within max(floor, fraction × elapsed) and never later than the cap,
 * while a 24-hour job costs ~70 polls instead of the 8,640 of a fixed 10-second loop.
 */

export interface PollPolicy {
  /** First wait and floor of every wait, seconds. */
  initialSeconds: number;
  /** Cap of every wait, seconds. */
  maxSeconds: number;
  /** Share of the job's elapsed time to wait next (0.25 → at most 25 % late). */
  fraction: number;
  /** After this long the attempt ends as TIMED_OUT, seconds. */
  deadlineSeconds: number;
}

export const DEFAULT_POLL_POLICY: PollPolicy = { initialSeconds: 10, maxSeconds: 1800, fraction: 0.25, deadlineSeconds: 7 * 24 * 3600 };

/** The per-user states of a job as the workflow reads them. */
export type JobOutcome = 'RUNNING' | 'SUCCESS' | 'FAILED' | 'TIMED_OUT';

/**
 * Seconds to wait before the next poll of a job that has run `elapsedSeconds` so far; never past
 * the deadline (so the last poll happens at it). Always a whole number ≥ 1 (Step Functions Wait).
 */
export function nextWaitSeconds(policy: PollPolicy, elapsedSeconds: number): number {
  const proportional = Math.ceil(Math.max(0, elapsedSeconds) * policy.fraction);
  const wait = Math.min(policy.maxSeconds, Math.max(policy.initialSeconds, proportional));
  const untilDeadline = Math.ceil(policy.deadlineSeconds - elapsedSeconds);
  return Math.max(1, Math.min(wait, untilDeadline > 0 ? untilDeadline : wait));
}

/**
 * Reads the per-user statuses of a job: every user `SUCCESS` → SUCCESS; any `FAILED` → FAILED;
 * anything else (job-level `in-progress`, no users yet, unknown values) → still running, until the
 * deadline has passed → TIMED_OUT. Values are compared case-insensitively and kept verbatim by
 * the caller for the audit trail.
 */
export function evaluateJob(userStatuses: readonly string[], deadlinePassed: boolean): JobOutcome {
  const normalised = userStatuses.map((s) => s.trim().toUpperCase());
  if (normalised.includes('FAILED')) return 'FAILED';
  if (normalised.length > 0 && normalised.every((s) => s === 'SUCCESS')) return 'SUCCESS';
  return deadlinePassed ? 'TIMED_OUT' : 'RUNNING';
}

/**
 * Per-user status words the desk knows: `SUCCESS` (documented), `FAILED` and `in-progress` (seen
 * in the platform's samples, assumed). Compared case-insensitively, `_` and `-` alike.
 */
export const KNOWN_USER_STATUSES: readonly string[] = ['SUCCESS', 'FAILED', 'IN-PROGRESS'];

/** The status words of a job the desk does not know, verbatim and without duplicates (for ops to review). */
export function unknownStatuses(userStatuses: readonly string[]): string[] {
  const unknown = userStatuses.filter((s) => !KNOWN_USER_STATUSES.includes(s.trim().toUpperCase().replace(/_/g, '-')));
  return [...new Set(unknown)];
}

/** Why a request needs review while its job runs on with a status word nobody told the desk about. */
export const UNKNOWN_STATUS_REVIEW = 'UNKNOWN_KORE_STATUS';

/** Counts of each verbatim status value, for the audit event (no user ids). */
export function summariseStatuses(userStatuses: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of userStatuses) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}
