/**
 * What a failed workflow task hands to Step Functions. A Lambda task's error becomes the
 * execution's `Error` (its name: `Retry`/`Catch` match on it) and `Cause` (its message and stack),
 * and `Cause` is kept in the execution history for 90 days and in the execution log — neither of
 * which the desk can erase. Our own messages carry no personal data, but a task also rethrows what
 * it did not make (an SDK, a library, a runtime `TypeError` quoting a value), so at the task
 * boundary every error is replaced by one that keeps the name and says nothing else. The one
 * exception is `IneligibleSubjectError`, whose message is the rule and the bot ids the
 * RecordRejected step reads back from `Cause` (rebuilt here from its fields, never copied).
 */
import { IneligibleSubjectError } from '../../domain/errors';
import type { Logger } from '../../domain/ports';

/** Error names as we and AWS write them (`KoreRetryableError`, `Lambda.ServiceException`). */
const SAFE_NAME = /^[A-Za-z][A-Za-z0-9_.]{0,99}$/;
/** Bot ids as the platform issues them (`st-…`) and our rule names: no free text. */
const SAFE_TOKEN = /^[A-Za-z0-9_.:-]{1,100}$/;

/** The Step Functions-visible twin of an error: same name, a message with nothing but names. */
export class TaskError extends Error {
  constructor(name: string, message: string) {
    super(message);
    // The original's name on purpose: it is what the state machine's Retry/Catch match.
    this.name = name;
  }
}

/**
 * The error to throw out of a task instead of `error`: its name (or `Error` when the name is not a
 * plain identifier), a message that is the name again — or, for an ineligible subject, the rule and
 * bot ids as JSON — and the original's stack frames (code locations only, no message lines).
 */
export function toTaskError(error: unknown): TaskError {
  const rawName = error instanceof Error ? error.name : '';
  const name = SAFE_NAME.test(rawName) ? rawName : 'Error';
  let message = name;
  if (error instanceof IneligibleSubjectError && SAFE_TOKEN.test(error.rule) && error.botIds.every((b) => typeof b === 'string' && SAFE_TOKEN.test(b))) {
    message = JSON.stringify({ rule: error.rule, botIds: error.botIds });
  }
  const sanitized = new TaskError(name, message);
  const frames = (error instanceof Error && typeof error.stack === 'string' ? error.stack.split('\n') : []).filter((line) => /^\s+at [^\n]{1,300}$/.test(line)).slice(0, 20);
  sanitized.stack = [`${name}: ${message}`, ...frames].join('\n');
  return sanitized;
}


const REQUEST_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Runs a task and, when it fails, logs the failure by name and throws its sanitized twin.
 * Synchronous throws inside `run` are caught too.
 * @throws TaskError (see toTaskError).
 */
export async function runTask<T>(task: string, input: unknown, run: () => Promise<T>, logger?: Logger): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const sanitized = toTaskError(error);
    if (logger) {
      const i = (typeof input === 'object' && input !== null ? input : {}) as { requestId?: unknown; attempt?: unknown };
      let requestId: unknown;
      let attempt: unknown;
      try {
        ({ requestId, attempt } = i);
      } catch {
        // an input whose fields throw when read tells us nothing more
      }
      // The task, the request's id and attempt when the input has them, the error's name.
      logger.warn('workflow task failed', {
        task,
        ...(typeof requestId === 'string' && REQUEST_ID.test(requestId) ? { requestId } : {}),
        ...(typeof attempt === 'number' && Number.isInteger(attempt) ? { attempt } : {}),
        error: sanitized.name,
      });
    }
    throw sanitized;
  }
}
