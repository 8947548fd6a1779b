/**
 * Named domain errors. Each sets `name` (Step Functions `Retry`/`Catch` and HTTP mapping match by
 * name) and takes an optional `cause`. None carries personal data in its message.
 *
 * Every error class sets `this.name` to a string literal in its own constructor, as Powertools
 * does. A name taken from the class (`new.target.name`, `constructor.name`) does not survive the
 * minified bundles the stack deploys: esbuild renames classes, and the state machine would match
 * `Retry`/`Catch` against names like `ir`.
 */

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
