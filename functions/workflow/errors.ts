/**
 * Errors the workflow tasks throw. Step Functions matches `Retry`/`Catch` on `name`, so these
 * names are part of the state machine's interface (see infra/constructs/erasure-workflow.ts).
 */
import { DomainError } from '../domain/errors';
import type { EligibilityRule } from '../domain/model';

/**
 * The owner/co-developer rules forbid this erasure (checked against the snapshot). The message
 * is JSON with the rule and the bots, so the RecordRejected step can record them from `Cause`.
 */
export class IneligibleSubjectError extends DomainError {
  constructor(
    readonly rule: EligibilityRule,
    readonly botIds: string[],
  ) {
    super(JSON.stringify({ rule, botIds }));
    this.name = 'IneligibleSubjectError';
  }
}

/** An execution of an older attempt woke up after a newer attempt started: it must do nothing. */
export class StaleAttemptError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StaleAttemptError';
  }
}

/** The request is no longer in a state this task acts on (e.g. cancelled while queued). */
export class RequestNotActiveError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RequestNotActiveError';
  }
}

/**
 * A previous run of this attempt sent the DELETE and died before recording the answer: whether
 * Kore.ai accepted it is unknown, and sending it again would be a second DELETE for one attempt.
 * The attempt fails and ops retry it as a new attempt.
 */
export class SubmissionOutcomeUnknownError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SubmissionOutcomeUnknownError';
  }
}

/** The plain subject id is gone (the request ended, or the data was dropped): nothing to send. */
export class SubjectIdUnavailableError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SubjectIdUnavailableError';
  }
}

/** An on-demand roles refresh ran its time and no complete snapshot exists yet: the paging goes on in later runs. */
export class SnapshotPendingError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SnapshotPendingError';
  }
}
