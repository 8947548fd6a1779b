/** Tasks Record*: the single place where an attempt ends (completed, failed, timed out, rejected, workflow error). */
import { RequestNotActiveError, StaleAttemptError } from '../domain/errors';
import { isFinal } from '../domain/lifecycle';
import type { ErasureRequest } from '../domain/model';
import { decryptSubjectId } from '../domain/subject';
import { selectedForVerification, verificationAtCompletion } from '../domain/verification';
import { PLATFORM_FAILED_REASON } from './queue-erasure';
import type { RecordOutcomeInput, WorkflowState } from './workflow-state';
import { ErasureTaskDeps, ACTOR, endForGood } from './task-deps';

/** Reads the rule and bots an IneligibleSubjectError carried through `Cause` (executions started before rejections were returned as `rejection`). */
export function rejectionFromCause(error: WorkflowState['error']): ErasureRequest['rejection'] {
  if (error?.Error === 'IneligibleSubjectError' && error.Cause) {
    try {
      // Lambda wraps the message: {"errorType":…,"errorMessage":"{\"rule\":…}"}; the local emulator passes it as is.
      const outer = JSON.parse(error.Cause) as { errorMessage?: string; rule?: string; botIds?: string[] };
      const inner = (typeof outer.errorMessage === 'string' ? JSON.parse(outer.errorMessage) : outer) as { rule?: string; botIds?: string[] };
      if (inner.rule) return { rule: inner.rule as never, botIds: inner.botIds ?? [], source: 'snapshot' };
    } catch {
      // fall through: recorded as a platform refusal
    }
  }
  return { rule: 'PLATFORM_RULES', botIds: [], source: 'platform' };
}

/**
 * RecordOutcome: the single place where an attempt ends. Moves the request to its terminal
 * status, tells the subject, and — once the request has ended for good — drops the plain subject
 * id and frees the subject for a new request. Safe to run twice; a stale attempt records nothing.
 */
export async function recordOutcome(deps: ErasureTaskDeps, input: RecordOutcomeInput): Promise<{ recorded: boolean; status?: string }> {
  const request = await deps.store.getRequest(input.requestId);
  if (!request || request.attempt !== input.attempt) return { recorded: false };

  const state = input.state ?? ({} as WorkflowState);
  const errorName = state.error?.Error;
  // Errors that mean "this execution should not touch the request" end without a record.
  if (input.outcome === 'ERROR' && (errorName === 'StaleAttemptError' || errorName === 'RequestNotActiveError')) {
    return { recorded: false, status: request.status };
  }

  const target =
    input.outcome === 'COMPLETED' ? 'COMPLETED' : input.outcome === 'TIMED_OUT' ? 'TIMED_OUT' : input.outcome === 'REJECTED' ? 'REJECTED' : 'FAILED';
  const now = deps.clock.now();
  const subjectId = request.subjectCipher ? decryptSubjectId(request.subjectCipher, deps.subjectKeys.cipherKey) : undefined;

  let moved = request;
  if (request.status !== target) {
    if (isFinal(request.status)) return { recorded: false, status: request.status };
    const rejection = target === 'REJECTED' ? (state.rejection ? { ...state.rejection, rule: state.rejection.rule as never } : rejectionFromCause(state.error)) : undefined;
    // A completed erasure chosen for read-back keeps what the read-back needs (see endForGood).
    const verification =
      target === 'COMPLETED' && deps.verification && selectedForVerification(request.requestId, request.channel, deps.verification.sampleShare)
        ? verificationAtCompletion(input.attempt, now, deps.verification)
        : undefined;
    const failureReason =
      input.outcome === 'FAILED' ? PLATFORM_FAILED_REASON : input.outcome === 'TIMED_OUT' ? 'POLL_DEADLINE_PASSED' : input.outcome === 'ERROR' ? (errorName ?? 'Error') : undefined;
    ({ request: moved } = await deps.store.appendEvent(request.requestId, (current) => {
      if (current.attempt !== input.attempt) throw new StaleAttemptError('Attempt superseded');
      const type =
        target === 'COMPLETED' ? 'ERASURE_COMPLETED' : target === 'TIMED_OUT' ? 'ERASURE_TIMED_OUT' : target === 'REJECTED' ? 'REQUEST_REJECTED' : 'ERASURE_FAILED';
      return {
        event: {
          type,
          at: now.toISOString(),
          actor: ACTOR,
          attempt: current.attempt,
          status: target,
          details: {
            ...(current.koreRequestId ? { koreRequestId: current.koreRequestId } : {}),
            ...(state.poll ? { polls: state.poll.count, ...(state.poll.responseSha256 ? { finalStatusSha256: state.poll.responseSha256 } : {}) } : {}),
            ...(rejection ? { rule: rejection.rule, botIds: rejection.botIds, source: rejection.source } : {}),
            ...(failureReason ? { reason: failureReason } : {}),
            ...(verification ? { verificationDueAt: verification.dueAt! } : {}),
          },
        },
        patch: {
          ...(target === 'COMPLETED' ? { completedAt: now.toISOString() } : {}),
          ...(verification ? { verification } : {}),
          ...(rejection ? { rejection } : {}),
          ...(failureReason ? { failureReason } : {}),
        },
      };
    }));
    if (subjectId) {
      const kind = target === 'COMPLETED' ? 'completed' : target === 'REJECTED' ? 'rejected' : 'failed-needs-staff';
      await deps.notices.notify(moved, subjectId, kind);
    }
  }

  if (isFinal(moved.status)) await endForGood(deps, moved);
  return { recorded: true, status: moved.status };
}
