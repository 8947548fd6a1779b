/**
 * The one table from domain errors to RFC 9457 problems. The use cases throw domain errors and
 * know no HTTP; every HTTP entry (public API, audit API, ops API, console) answers an error
 * through `problemOf`, and so does the shared router's "no such route" and "method not allowed". A few rows word the answer for the subject (`public`) differently from
 * staff; an error without a row for the audience is not expected there and becomes the generic
 * 500 (the caller logs its name).
 */
import {
  BotListUnavailableError,
  BulkLimitExceededError,
  ConcurrentUpdateError,
  IllegalTransitionError,
  InvalidCursorError,
  InvalidSubmissionError,
  LinkExpiredError,
  LinkInvalidError,
  LinkUsedError,
  RateLimitedError,
  ReasonRequiredError,
  RequestClosedError,
  RequestNotFoundError,
  SnapshotUnavailableError,
  StatusConflictError,
  StatusNotFoundError,
  UnknownBotsError,
  VerificationMailFailedError,
} from '../../../domain/errors';
import * as z from '../../../domain/validation';
import { VERIFY_LINK_TTL_SECONDS } from '../../../domain/timings';
import { HttpProblem, problem, type FieldError, type Problem } from './problem';
import { MethodNotAllowedError, RouteNotFoundError } from './router';

/** Who is answered: the subject (public API) or staff (audit API, ops API, console). */
export type Audience = 'public' | 'staff';

export interface ProblemAnswer {
  problem: Problem;
  headers: Record<string, string>;
}

export const NOT_FOUND_PROBLEM: Problem = problem(404, 'not-found', 'No such request', 'Check that you copied the whole link.');
export const LINK_EXPIRED_PROBLEM = problem(410, 'link-expired', 'This link has expired', `Confirmation links work for ${VERIFY_LINK_TTL_SECONDS / 60} minutes. Please submit your request again; we will send a new link.`);
export const LINK_USED_PROBLEM = problem(410, 'link-used', 'This link has already been used', 'Each confirmation link works once. Use the status link from your email to follow your request.');
export const LINK_INVALID_PROBLEM = problem(400, 'link-invalid', 'This link is not valid', 'Open the link exactly as it appears in the email, or submit your request again.');
export const REQUEST_CLOSED_PROBLEM = problem(410, 'request-closed', 'This request is closed', 'The request was not confirmed in time or was cancelled. Please submit your request again.');
export const MAIL_FAILED_PROBLEM = problem(503, 'mail-failed', 'We could not send the confirmation email', 'Nothing was stored. Please try again in a few minutes.');
export const BOTS_UNCHECKED_PROBLEM: Problem = problem(503, 'bots-unchecked', 'We cannot check bot ids right now', 'Leave the list of bots empty to erase your data from all bots, or try again in a few minutes.', {
  errors: [{ field: 'botIds', message: 'The list of bots cannot be checked right now.' }],
});
export const INVALID_CURSOR_PROBLEM: Problem = problem(400, 'invalid-cursor', 'The cursor is not valid for this listing', 'Start again without a cursor.', {
  errors: [{ field: 'cursor', message: 'not valid for this listing' }],
});

/** 422 naming every bad field (the subject's form, or staff's submission on a subject's behalf). */
export function validationProblem(errors: readonly FieldError[], detail = 'Some fields are missing or not valid; see errors.'): Problem {
  return problem(422, 'validation-failed', 'The request is not valid', detail, { errors: [...errors] });
}

/** 409 naming the request's current status. */
export function conflictProblem(currentStatus: string, detail: string): Problem {
  return problem(409, 'conflict', `The request is ${currentStatus}`, detail, { currentStatus });
}

/** 422 for bot ids the organisation does not have, naming the field and the ids. */
export function unknownBotsProblem(botIds: readonly string[]): Problem {
  const which = botIds.length === 1 ? `There is no bot ${botIds[0]}` : `There are no bots ${botIds.join(', ')}`;
  return validationProblem([{ field: 'botIds', message: `${which} in this organisation. Check the ids, or leave the list empty to erase your data from all bots.` }]);
}

function rateLimitedProblem(retryAfterSeconds: number): ProblemAnswer {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  return {
    problem: problem(429, 'rate-limited', 'Too many requests', `Please wait ${Math.ceil(seconds / 60)} minute(s) and try again.`, { retryAfterSeconds: seconds }),
    headers: { 'retry-after': String(seconds) },
  };
}

const reasonRequired = problem(400, 'validation-failed', 'A reason is required', undefined, { errors: [{ field: 'reason', message: 'required' }] });

type ErrorClass<E> = abstract new (...args: never[]) => E;
type Row<E> = { error: ErrorClass<E> } & { [A in Audience]?: (error: E) => Problem | ProblemAnswer };
const row = <E>(r: Row<E>): Row<unknown> => r as Row<unknown>;
const both = <E>(error: ErrorClass<E>, answer: (error: E) => Problem | ProblemAnswer): Row<unknown> => row({ error, public: answer, staff: answer });

/** Every domain error an HTTP entry answers with something else than 500, first match wins. */
const TABLE: readonly Row<unknown>[] = [
  // Routing (the shared router): no such path, or not with this method.
  row({
    error: RouteNotFoundError,
    public: () => problem(404, 'not-found', 'Page not found', 'There is nothing at this address.'),
    staff: () => problem(404, 'not-found', 'No such route'),
  }),
  both(MethodNotAllowedError, (e) => ({
    problem: problem(405, 'method-not-allowed', 'Method not allowed', `Use ${e.allow.join(' or ')}.`),
    headers: { allow: e.allow.join(', ') },
  })),
  // The subject's intake (and staff submitting on a subject's behalf).
  both(InvalidSubmissionError, (e) => validationProblem(e.fields)),
  both(UnknownBotsError, (e) => unknownBotsProblem(e.botIds)),
  both(BotListUnavailableError, () => ({ problem: BOTS_UNCHECKED_PROBLEM, headers: { 'retry-after': '300' } })),
  row({ error: RateLimitedError, public: (e) => rateLimitedProblem(e.retryAfterSeconds) }),
  row({ error: VerificationMailFailedError, public: () => ({ problem: MAIL_FAILED_PROBLEM, headers: { 'retry-after': '120' } }) }),
  row({ error: LinkExpiredError, public: () => LINK_EXPIRED_PROBLEM }),
  row({ error: LinkInvalidError, public: () => LINK_INVALID_PROBLEM }),
  row({ error: LinkUsedError, public: () => LINK_USED_PROBLEM }),
  row({ error: RequestClosedError, public: () => REQUEST_CLOSED_PROBLEM }),
  row({ error: StatusNotFoundError, public: () => NOT_FOUND_PROBLEM }),
  // Requests and their lifecycle.
  row({ error: RequestNotFoundError, staff: () => problem(404, 'not-found', 'No such request') }),
  row({
    error: IllegalTransitionError,
    public: () => problem(409, 'conflict', 'The request has moved on', 'Reload the status page to see where it stands.'),
    staff: (e) => conflictProblem(e.from, `A request in status ${e.from} cannot move to ${e.to}.`),
  }),
  row({ error: ConcurrentUpdateError, staff: () => problem(409, 'conflict', 'The request was changed by someone else', 'Reload it and try again.') }),
  row({ error: StatusConflictError, staff: (e) => conflictProblem(e.currentStatus, e.detail) }),
  // Staff listings and actions.
  row({ error: InvalidCursorError, staff: () => INVALID_CURSOR_PROBLEM }),
  row({ error: ReasonRequiredError, staff: () => reasonRequired }),
  row({
    error: BulkLimitExceededError,
    staff: (e) => problem(400, 'validation-failed', `At most ${e.max} requests per call`, undefined, { errors: [{ field: 'ids', message: `at most ${e.max}` }] }),
  }),
  row({ error: SnapshotUnavailableError, staff: () => problem(503, 'snapshot-unavailable', 'No roles snapshot yet', 'Refresh the roles snapshot, then re-check.') }),
  row({ error: z.ZodError, staff: (e) => problem(400, 'validation-failed', 'The request is not valid', undefined, { errors: fieldErrorsOf(e) }) }),
];

/** Zod issues as RFC 9457 `errors[]`; messages are the schema's, never the input value. */
export function fieldErrorsOf(error: z.ZodError): FieldError[] {
  return error.issues.map((i) => ({ field: i.path.map(String).join('/') || '(root)', message: i.message }));
}

function isAnswer(a: Problem | ProblemAnswer): a is ProblemAnswer {
  return typeof (a as ProblemAnswer).problem === 'object' && typeof (a as ProblemAnswer).headers === 'object';
}

/**
 * The answer to `error` for `audience`: an `HttpProblem` the HTTP adapter raised itself, or the
 * table's row; undefined for any other error (the caller answers 500 and logs the name).
 */
export function problemOf(error: unknown, audience: Audience): ProblemAnswer | undefined {
  if (error instanceof HttpProblem) return { problem: error.problem, headers: error.headers };
  for (const r of TABLE) {
    const answer = r[audience];
    if (answer && error instanceof r.error) {
      const a = answer(error);
      return isAnswer(a) ? a : { problem: a, headers: {} };
    }
  }
  return undefined;
}
