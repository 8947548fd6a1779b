/** The answers the intake actions give when they refuse (RFC 9457 problems). */
import { HttpProblem, problem, type Problem } from '../adapters/http/shared/problem';

export const NOT_FOUND_PROBLEM: Problem = problem(404, 'not-found', 'No such request', 'Check that you copied the whole link.');

export function rateLimited(retryAfterSeconds: number): HttpProblem {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  return new HttpProblem(
    problem(429, 'rate-limited', 'Too many requests', `Please wait ${Math.ceil(seconds / 60)} minute(s) and try again.`, { retryAfterSeconds: seconds }),
    { 'retry-after': String(seconds) },
  );
}

export const LINK_EXPIRED_PROBLEM = problem(410, 'link-expired', 'This link has expired', 'Confirmation links work for 30 minutes. Please submit your request again; we will send a new link.');

export const LINK_USED_PROBLEM = problem(410, 'link-used', 'This link has already been used', 'Each confirmation link works once. Use the status link from your email to follow your request.');

export const LINK_INVALID_PROBLEM = problem(400, 'link-invalid', 'This link is not valid', 'Open the link exactly as it appears in the email, or submit your request again.');

export const REQUEST_CLOSED_PROBLEM = problem(410, 'request-closed', 'This request is closed', 'The request was not confirmed in time or was cancelled. Please submit your request again.');

export const MAIL_FAILED_PROBLEM = problem(503, 'mail-failed', 'We could not send the confirmation email', 'Nothing was stored. Please try again in a few minutes.');

// ---------------------------------------------------------------------------------------------
// Shared steps
