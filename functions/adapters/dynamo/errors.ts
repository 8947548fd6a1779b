/**
 * Named errors of the DynamoDB adapters. SDK exceptions never leave this folder: a failed
 * condition becomes the domain meaning it has here, anything else becomes a `StoreUnavailableError`
 * (worth retrying) or a `StoreError`, each with the SDK error as `cause` for the logs.
 * Messages carry no personal data (no subject ids, no tokens).
 */
import { DomainError, StoreError, StoreUnavailableError } from '../../domain/errors';


// The store's listing cursor error belongs to the AuditStore port (every store and every HTTP
// entry must agree on it), so it lives with the domain errors; re-exported for the adapters.
export { InvalidCursorError, RequestAlreadyExistsError, SnapshotExpiredError, SnapshotWriteError, StoreError, StoreUnavailableError } from '../../domain/errors';





const RETRYABLE = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'LimitExceededException',
  'TimeoutError',
]);

/** True when `error` is DynamoDB's "the condition expression was false". */
export function isConditionalCheckFailed(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/**
 * Turns anything the SDK threw into one of our named errors (errors that are already ours pass
 * through unchanged).
 */
export function translateStoreError(error: unknown, operation: string): Error {
  if (error instanceof DomainError) return error;
  const name = error instanceof Error ? error.name : 'Unknown';
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  const retryable =
    RETRYABLE.has(name) ||
    (typeof status === 'number' && status >= 500) ||
    (error as { $retryable?: unknown } | undefined)?.$retryable !== undefined ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes((error as { code?: string } | undefined)?.code ?? '');
  const message = `DynamoDB ${operation} failed (${name})`;
  return retryable ? new StoreUnavailableError(message, { cause: error }) : new StoreError(message, { cause: error });
}

/** Runs one SDK call and translates whatever it throws. */
export async function storeCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw translateStoreError(error, operation);
  }
}

/**
 * Sends one conditional write (the `send` callback builds and sends the command, so whatever it
 * throws is translated). A failed condition is an outcome, not a failure: it resolves `false`, or,
 * when `refused` is given, throws the domain error `refused` makes from the SDK error (kept as its
 * `cause`).
 * @returns true when the write was applied; false when its condition failed (without `refused`).
 * @throws whatever `refused` returns, on a failed condition; StoreUnavailableError / StoreError
 *   (see `translateStoreError`) for anything else.
 */
export async function conditionalWrite(
  operation: 'PutItem' | 'DeleteItem' | 'UpdateItem',
  send: () => Promise<unknown>,
  refused?: (cause: Error) => Error,
): Promise<boolean> {
  try {
    await send();
    return true;
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw translateStoreError(error, operation);
    if (refused) throw refused(error);
    return false;
  }
}
