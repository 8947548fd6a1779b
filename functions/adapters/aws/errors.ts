/**
 * Named errors of the AWS adapters (Step Functions, SES, KMS, S3, Secrets Manager, CloudWatch).
 * SDK exceptions never leave `adapters/aws`: each adapter turns the ones that mean something to
 * the domain into the errors below, and everything else into `AwsServiceUnavailableError`
 * (worth retrying later) or `AwsServiceError`, with the SDK error as `cause` for the logs.
 *
 * Messages name the service, the operation and the SDK error's name only. They never copy the SDK
 * error's own message: SES, for one, repeats the recipient address in it.
 */
import { ConfigurationError, DomainError } from '../../domain/errors';

export { ConfigurationError };

/** An AWS service was throttled, timed out or failed on its side: retrying later may succeed. */
export class AwsServiceUnavailableError extends DomainError {
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AwsServiceUnavailableError';
  }
}

/** An AWS service refused the call for a reason retrying will not fix (validation, permissions, …). */
export class AwsServiceError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AwsServiceError';
  }
}


/** The attempt's execution stopped and cannot be redriven (it succeeded, or is too old). */
export class ExecutionNotRedrivableError extends DomainError {
  constructor(
    readonly executionName: string,
    options?: { cause?: unknown },
  ) {
    super(`Execution ${executionName} cannot be redriven`, options);
    this.name = 'ExecutionNotRedrivableError';
  }
}

/** The attempt's execution does not exist (never started, or past Step Functions' retention). */
export class ExecutionNotFoundError extends DomainError {
  constructor(
    readonly executionName: string,
    options?: { cause?: unknown },
  ) {
    super(`Execution ${executionName} does not exist`, options);
    this.name = 'ExecutionNotFoundError';
  }
}

/** Step Functions answered with an execution status this code does not know. */
export class UnknownExecutionStatusError extends DomainError {
  constructor(readonly status: string) {
    super(`Unknown execution status ${status}`);
    this.name = 'UnknownExecutionStatusError';
  }
}

/** SES is throttling us (rate or quota): send again later. */
export class MailThrottledError extends DomainError {
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MailThrottledError';
  }
}

/** SES refused this message (e.g. an unverified recipient in the sandbox); sending it again will not help. */
export class MailRejectedError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MailRejectedError';
  }
}

/** SES cannot send for this account or sender now (sending paused, account suspended, sender domain not verified). */
export class MailSendingDisabledError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MailSendingDisabledError';
  }
}

/** The KMS signing key is missing, disabled, of the wrong type or not allowed to sign. */
export class SigningKeyError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SigningKeyError';
  }
}

/** KMS returned a signature that is not a well-formed DER ECDSA signature of the expected size. */
export class SignatureFormatError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SignatureFormatError';
  }
}

/** A checkpoint with this key exists already (checkpoints are write-once). */
export class CheckpointExistsError extends DomainError {
  constructor(
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`Checkpoint ${key} exists already`, options);
    this.name = 'CheckpointExistsError';
  }
}

const RETRYABLE_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerError',
  'InternalError',
  'InternalFailure',
  'InternalServiceError',
  'InternalServiceErrorException',
  'KMSInternalException',
  'DependencyTimeoutException',
  'KeyUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);

/** The SDK error's name (`'Unknown'` for anything that is not an Error). */
export function awsErrorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Unknown';
}

/** The HTTP status of an SDK error, when it has one. */
export function awsHttpStatus(error: unknown): number | undefined {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** True when the SDK error is one that may go away on its own: throttling, 5xx, time-outs, network. */
export function isRetryableAwsError(error: unknown): boolean {
  const status = awsHttpStatus(error);
  return (
    RETRYABLE_NAMES.has(awsErrorName(error)) ||
    status === 429 ||
    (status !== undefined && status >= 500) ||
    (error as { $retryable?: unknown } | undefined)?.$retryable !== undefined ||
    NETWORK_CODES.has((error as { code?: unknown } | undefined)?.code as string)
  );
}

/**
 * A copy of an SDK error that keeps what helps operators (name, HTTP status, AWS request id,
 * `$retryable`, network code) and drops the message, for services whose messages can carry
 * personal data (SES repeats addresses). Use it as the `cause` instead of the original.
 */
export function redactAwsError(error: unknown): Error {
  const copy = new Error('(message withheld: it may hold personal data)');
  copy.name = awsErrorName(error);
  const source = (error ?? {}) as { $metadata?: { httpStatusCode?: unknown; requestId?: unknown }; $retryable?: unknown; code?: unknown };
  const target = copy as Error & { $metadata?: unknown; $retryable?: unknown; code?: unknown };
  if (source.$metadata) target.$metadata = { httpStatusCode: source.$metadata.httpStatusCode, requestId: source.$metadata.requestId };
  if (source.$retryable !== undefined) target.$retryable = source.$retryable;
  if (typeof source.code === 'string') target.code = source.code;
  return copy;
}

/**
 * Turns an SDK error no adapter gave a meaning to into `AwsServiceUnavailableError` or
 * `AwsServiceError`. Errors that are ours already pass through unchanged.
 */
export function translateAwsError(error: unknown, service: string, operation: string): Error {
  if (error instanceof DomainError) return error;
  const message = `${service} ${operation} failed (${awsErrorName(error)})`;
  return isRetryableAwsError(error) ? new AwsServiceUnavailableError(message, { cause: error }) : new AwsServiceError(message, { cause: error });
}

/**
 * Runs one SDK call; `translate` may give an error a specific meaning (return an error to throw),
 * otherwise the generic translation applies.
 */
export async function awsCall<T>(
  service: string,
  operation: string,
  call: () => Promise<T>,
  translate?: (error: unknown) => Error | undefined,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw translate?.(error) ?? translateAwsError(error, service, operation);
  }
}
