/**
 * Named domain errors. Each sets `name` (Step Functions `Retry`/`Catch` and HTTP mapping match by
 * name) and takes an optional `cause`. None carries personal data in its message.
 *
 * Every error class sets `this.name` to a string literal in its own constructor, as Powertools
 * does. A name taken from the class (`new.target.name`, `constructor.name`) does not survive the
 * minified bundles the stack deploys: esbuild renames classes, and the state machine would match
 * `Retry`/`Catch` against names like `ir`.
 *
 * Longer than 300 lines on purpose: every domain error in one place, each a few lines with its literal name (Step Functions and the HTTP table match on them).
 */

import type { EligibilityRule } from './model';

export class DomainError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DomainError';
  }
}

/** A move the lifecycle does not allow, e.g. retrying a COMPLETED request. Maps to HTTP 409. */
export class IllegalTransitionError extends DomainError {
  constructor(
    readonly from: string,
    readonly to: string,
  ) {
    super(`A request in status ${from} cannot move to ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

/** The request does not exist (or the caller may not know it exists). Maps to HTTP 404. */
export class RequestNotFoundError extends DomainError {
  constructor(readonly requestId: string) {
    super('No such request');
    this.name = 'RequestNotFoundError';
  }
}

/** Another writer appended to the chain first and retries were used up. */
export class ConcurrentUpdateError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConcurrentUpdateError';
  }
}

/** A chain item failed verification while it was being read for an append. */
export class ChainIntegrityError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChainIntegrityError';
  }
}

/**
 * A listing cursor the store did not issue (or issued for another query). Part of the AuditStore
 * port's contract, so callers map it without knowing the store: HTTP 400.
 */
export class InvalidCursorError extends DomainError {
  constructor(options?: { cause?: unknown }) {
    super('The cursor is not valid for this query', options);
    this.name = 'InvalidCursorError';
  }
}

/**
 * Checkpoint signing found chains that no longer fit what was signed before (or their own hashes)
 * and withheld them: the checkpoint was written for every other chain, these keep their last
 * signed head and are named in the manifest's `withheld`. Thrown after the write, so the scheduled
 * run fails and raises the signing function's error alarm. Carries request ids only.
 */
export class ChainTamperedError extends DomainError {
  constructor(
    readonly requestIds: readonly string[],
    readonly checkpointKey: string,
  ) {
    super(`${requestIds.length} audit chain(s) withheld from checkpoint ${checkpointKey}: they no longer extend their signed heads`);
    this.name = 'ChainTamperedError';
  }
}

// Intake

/**
 * Bot ids that are not bots of the organisation (per the current roles snapshot). Answered 422
 * naming the `botIds` field: made-up ids must not open requests (each one a mail) in anyone's name.
 */
export class UnknownBotsError extends DomainError {
  constructor(readonly botIds: readonly string[]) {
    super('Some bot ids are not bots of this organisation');
    this.name = 'UnknownBotsError';
  }
}

/**
 * Named bots cannot be checked right now: no roles snapshot yet, one written before snapshots
 * carried the bot list, or one past its retention. Fail-safe: requests naming bots are refused
 * (503, try again) rather than accepted unchecked; requests for all bots go on as usual.
 */
export class BotListUnavailableError extends DomainError {
  constructor(options?: { cause?: unknown }) {
    super('The list of bots cannot be checked right now', options);
    this.name = 'BotListUnavailableError';
  }
}

// Workflow

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

// Stores (every AuditStore, SnapshotStore, … adapter throws these)

/** A request with this id exists already. Maps to HTTP 409. */
export class RequestAlreadyExistsError extends DomainError {
  constructor(
    readonly requestId: string,
    options?: { cause?: unknown },
  ) {
    super('A request with this id exists already', options);
    this.name = 'RequestAlreadyExistsError';
  }
}

/** The snapshot is older than the time its identity items are kept: it cannot vouch for anything. */
export class SnapshotExpiredError extends DomainError {
  constructor(readonly version: string) {
    super('The privileged-identity snapshot is older than its retention; refresh it');
    this.name = 'SnapshotExpiredError';
  }
}

/** Some items of a batch write were still unprocessed after every retry. */
export class SnapshotWriteError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SnapshotWriteError';
  }
}

/** DynamoDB was throttled, timed out or failed on its side: retrying later may succeed. */
export class StoreUnavailableError extends DomainError {
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** DynamoDB refused the call for another reason (validation, missing table, permissions). */
export class StoreError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
  }
}

// Configuration

/**
 * Configuration the code cannot run without is missing or malformed (a secret, an ARN, a key of
 * the wrong type). Fails loudly; the message names the setting, never its value.
 */
export class ConfigurationError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigurationError';
  }
}

// Refusals of the use cases. Each HTTP entry answers them through the one table of
// adapters/http/shared/problems.ts; the use cases know no HTTP.

/** A submission (the subject's, or staff's on a subject's behalf) has fields that are missing or not valid. */
export class InvalidSubmissionError extends DomainError {
  constructor(readonly fields: readonly { field: string; message: string }[]) {
    super('The submission is not valid');
    this.name = 'InvalidSubmissionError';
  }
}

/** A client sent more submissions than its limit allows; it may try again after `retryAfterSeconds`. */
export class RateLimitedError extends DomainError {
  constructor(readonly retryAfterSeconds: number) {
    super('Too many submissions from this client');
    this.name = 'RateLimitedError';
  }
}

/** The verification mail could not be sent; nothing was kept, the subject may try again. */
export class VerificationMailFailedError extends DomainError {
  constructor(options?: { cause?: unknown }) {
    super('The verification mail could not be sent', options);
    this.name = 'VerificationMailFailedError';
  }
}

/** The verification link was used already. */
export class LinkUsedError extends DomainError {
  constructor() {
    super('The link has been used already');
    this.name = 'LinkUsedError';
  }
}

/** The request behind a link was never confirmed in time, or was cancelled. */
export class RequestClosedError extends DomainError {
  constructor() {
    super('The request is closed');
    this.name = 'RequestClosedError';
  }
}

/** No status page for this id and token: unknown id, wrong, revoked or outlived token alike. */
export class StatusNotFoundError extends DomainError {
  constructor() {
    super('No such status page');
    this.name = 'StatusNotFoundError';
  }
}

/** A staff action needs a reason and none was given. */
export class ReasonRequiredError extends DomainError {
  constructor() {
    super('A reason is required');
    this.name = 'ReasonRequiredError';
  }
}

/** A bulk action named more requests than one call may touch. */
export class BulkLimitExceededError extends DomainError {
  constructor(readonly max: number) {
    super(`At most ${max} requests per call`);
    this.name = 'BulkLimitExceededError';
  }
}

/** A staff action the request's current status does not allow. */
export class StatusConflictError extends DomainError {
  constructor(
    readonly currentStatus: string,
    readonly detail: string,
  ) {
    super(`The request is ${currentStatus}`);
    this.name = 'StatusConflictError';
  }
}

/** No roles snapshot exists yet to decide against. */
export class SnapshotUnavailableError extends DomainError {
  constructor() {
    super('No roles snapshot yet');
    this.name = 'SnapshotUnavailableError';
  }
}

// Links

/** The verification link is past its expiry: the subject must submit again (410). */
export class LinkExpiredError extends DomainError {
  constructor() {
    super('The link has expired');
    this.name = 'LinkExpiredError';
  }
}

/** The link is not one of ours, was altered, or is for another purpose (400). */
export class LinkInvalidError extends DomainError {
  constructor(options?: { cause?: unknown }) {
    super('The link is not valid', options);
    this.name = 'LinkInvalidError';
  }
}
