/**
 * RFC 9457 problem details: every error answer of the API is `application/problem+json` with
 * `type`, `title`, `status`, `detail` and, for validation, `errors[]` naming each bad field.
 * Only what is safe to show goes in: no stack, no internals, no personal data.
 */

import type { FieldError } from '../../../domain/validation';

export type { FieldError };

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldError[];
  /** Extra members allowed by RFC 9457 (e.g. `requestId`, `retryAfterSeconds`). */
  [extension: string]: unknown;
}

/** Base of our problem type URIs; they are documented in the OpenAPI description. */
export const PROBLEM_TYPE_BASE = 'https://erasure-desk.dev/problems/';

/** An error meant to reach the caller as a problem. `expose` is always true for 4xx. */
export class HttpProblem extends Error {
  constructor(
    readonly problem: Problem,
    readonly headers: Record<string, string> = {},
  ) {
    super(problem.title);
    this.name = 'HttpProblem';
  }
}

/** Builds a problem with a type URI from a short slug (`validation-failed` → `…/problems/validation-failed`). */
export function problem(status: number, slug: string, title: string, detail?: string, extra: Partial<Problem> = {}): Problem {
  return { type: PROBLEM_TYPE_BASE + slug, title, status, ...(detail ? { detail } : {}), ...extra };
}

/** The answer for anything unexpected: a plain 500 that says nothing about internals. */
export const INTERNAL_PROBLEM: Problem = problem(500, 'internal', 'Something went wrong on our side', 'The error was logged; please try again later.');
