/**
 * Named domain errors. Each sets `name` (Step Functions `Retry`/`Catch` and HTTP mapping match by
 * name) and takes an optional `cause`. None carries personal data in its message.
 */

export class DomainError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A move the lifecycle does not allow, e.g. retrying a COMPLETED request. Maps to HTTP 409. */
export class IllegalTransitionError extends DomainError {
  constructor(
    readonly from: string,
    readonly to: string,
  ) {
    super(`A request in status ${from} cannot move to ${to}`);
  }
}

/** The request does not exist (or the caller may not know it exists). Maps to HTTP 404. */
export class RequestNotFoundError extends DomainError {
  constructor(readonly requestId: string) {
    super('No such request');
  }
}

/** Another writer appended to the chain first and retries were used up. */
export class ConcurrentUpdateError extends DomainError {}

/** A chain item failed verification while it was being read for an append. */
export class ChainIntegrityError extends DomainError {}

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
