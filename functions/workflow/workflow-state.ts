/**
 * The object that travels through the erasure state machine. Every task takes it whole and
 * returns it whole (ResultPath `$`), so the definition stays plain JSONPath.
 */
import type { JobOutcome } from '../domain/polling';

export interface PollState {
  /** When the DELETE was accepted (or the resumed job was picked up). */
  startedAt: string;
  /** When the attempt gives up waiting and ends as TIMED_OUT. */
  deadline: string;
  count: number;
  waitSeconds: number;
  outcome: JobOutcome;
  /** When this attempt's last status round took its answer (a batch's members share answers newer than it). */
  lastRoundAt?: string;
  /** sha256 of the platform's last status answer, for the receipt. */
  responseSha256?: string;
}

export interface WorkflowState {
  requestId: string;
  attempt: number;
  koreRequestId?: string;
  poll?: PollState;
  /**
   * Set by SubmitErasure when the attempt is rejected (the re-check found the subject privileged,
   * or the platform refused): the state machine records REJECTED, a normal outcome, not an error.
   */
  rejection?: { rule: string; botIds: string[]; source: 'snapshot' | 'platform' };
  /**
   * Set by SubmitErasure when the shared Kore.ai call budget has no turn for it yet, or the
   * platform refused the DELETE for its rate limit: the state machine waits `waitSeconds`
   * (WaitForBudget) and submits again. Nothing was sent, or the refusal proves nothing was taken.
   * `gathering`: the request's batch waits for company, or for the member sending it.
   */
  budgetWait?: { waitSeconds: number; reason: 'budget' | 'rate-limited' | 'gathering' };
  /**
   * The request's batch (workflow/submit-batch.ts): `id` while it gathers or waits for the member
   * sending it, `size` (users in the DELETE) once sent, so CheckStatus shares one status check a
   * round among the members; `solo` after the platform refused the batch (the request is then
   * sent alone).
   */
  batch?: { id?: string; size?: number; solo?: true };
  /** Set by a `Catch` (ResultPath `$.error`). */
  error?: { Error?: string; Cause?: string };
}

/** The input of the Record* tasks (Parameters of the state machine). */
export interface RecordOutcomeInput {
  requestId: string;
  attempt: number;
  outcome: 'COMPLETED' | 'FAILED' | 'TIMED_OUT' | 'REJECTED' | 'ERROR';
  state: WorkflowState;
}

/** Validates the untrusted execution input of a task. @throws TypeError when malformed. */
export function parseWorkflowState(input: unknown): WorkflowState {
  const s = input as Partial<WorkflowState> | null;
  if (!s || typeof s.requestId !== 'string' || !Number.isInteger(s.attempt) || (s.attempt as number) < 1) {
    throw new TypeError('Workflow input needs a requestId and a positive integer attempt');
  }
  return s as WorkflowState;
}
