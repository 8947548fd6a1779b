/**
 * The small HTTP toolkit of the staff handlers: reading API Gateway v2 events and building
 * problem+json, JSON and HTML answers. Answers and body parsing come from the shared
 * `functions/adapters/http/shared/messages.ts` (same security headers, same defensive body reading); what is left
 * here is what the staff routes need beyond it (repeated query keys, header lookup on a plain
 * header map for the authenticator, zod validation, error mapping).
 */
import { createHash } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from '../../../domain/validation';
import { HttpProblem, INTERNAL_PROBLEM, problem, type FieldError, type Problem } from '../shared/problem';
import type { SafeHtml } from '../../../domain/html';
import { fieldErrorsOf, problemOf, type ProblemAnswer } from '../shared/problems';
import {
  API_HEADERS,
  CONTENT_SECURITY_POLICY,
  htmlResponse as sharedHtmlResponse,
  jsonResponse,
  parseBody as sharedParseBody,
  problemResponse,
  redirect as sharedRedirect,
} from '../shared/messages';

export type HttpResult = APIGatewayProxyStructuredResultV2;
export type HttpEvent = APIGatewayProxyEventV2;

/** Headers every answer carries (the shared API headers). */
export const BASE_SECURITY_HEADERS: Record<string, string> = { ...API_HEADERS };

/** The console's one stylesheet lives inline; the CSP allows exactly this text by its hash. */
export function cspFor(styleText: string): string {
  const hash = createHash('sha256').update(styleText, 'utf8').digest('base64');
  return CONTENT_SECURITY_POLICY.replace("style-src 'self'", `style-src 'sha256-${hash}'`);
}

export { jsonResponse, problemResponse };

/** An HTML page answer with the shared security headers; `csp` is the page's Content-Security-Policy. */
export function htmlResponse(statusCode: number, page: SafeHtml, csp: string, headers: Record<string, string> = {}, cookies?: string[]): HttpResult {
  return sharedHtmlResponse(statusCode, page, { headers: { 'content-security-policy': csp, ...headers }, cookies });
}

/** A 303 See Other (post/redirect/get). */
export function redirect(location: string, cookies?: string[]): HttpResult {
  return sharedRedirect(location, { cookies });
}

/** Header lookup, case-insensitive (API Gateway lower-cases them, local callers may not). */
export function header(headers: Record<string, string | undefined> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === wanted && v !== undefined) return v;
  return undefined;
}

export function methodOf(event: HttpEvent): string {
  return (event.requestContext?.http?.method ?? 'GET').toUpperCase();
}

/** The path without a trailing slash (`/` stays `/`). */
export function pathOf(event: HttpEvent): string {
  const p = event.rawPath || '/';
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/**
 * One path segment, percent-decoded. API Gateway hands the path over as the client sent it, so a
 * malformed escape (`%E0%A4`, a lone `%`) reaches us raw and `decodeURIComponent` would throw.
 * @throws HttpProblem 400 when the segment's escapes are malformed or not UTF-8.
 */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpProblem(
      problem(400, 'invalid-path', 'The path is not valid', 'The path contains a malformed percent-encoding.', {
        errors: [{ field: 'path', message: 'malformed percent-encoding' }],
      }),
    );
  }
}

/** Path words of the staff routes; any other segment is a parameter. */
const ROUTE_WORDS = new Set(['audit', 'requests', 'export', 'report', 'ops', 'retry', 'cancel', 'recheck', 'extend', 'verify', 'roles', 'refresh', 'console', 'login', 'logout', 'search']);

/**
 * The route of a request as a template (`GET /audit/requests/{id}`), for log lines: it names the
 * route without copying a single character the caller chose, so no id, email or token a caller
 * typed into a path can reach the logs through it.
 */
export function routeTemplate(event: HttpEvent): string {
  const method = methodOf(event);
  const segments = pathOf(event).split('/').slice(1, 8);
  const template = segments.map((s) => (s === '' || ROUTE_WORDS.has(s) ? s : '{id}')).join('/');
  return `${/^[A-Z]{1,10}$/.test(method) ? method : 'OTHER'} /${template}`;
}

/** API Gateway's id of this HTTP request (correlates a log line with the access log), when it is a plain token. */
export function httpRequestIdOf(event: HttpEvent): string | undefined {
  const id = event.requestContext?.requestId;
  return typeof id === 'string' && /^[A-Za-z0-9=_-]{1,100}$/.test(id) ? id : undefined;
}

/** Query parameters as a plain object; repeated keys (`status=a&status=b`) become arrays. */
export function queryOf(event: HttpEvent): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (event.rawQueryString) {
    for (const [k, v] of new URLSearchParams(event.rawQueryString)) {
      const prev = out[k];
      out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    return out;
  }
  for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) {
    if (v !== undefined) out[k] = v.includes(',') && k === 'status' ? v.split(',') : v;
  }
  return out;
}

/** The raw body text (base64 decoded when API Gateway encoded it). */
export function bodyText(event: HttpEvent): string {
  if (!event.body) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

/**
 * The body as an object, from JSON or `application/x-www-form-urlencoded` (repeated form keys
 * become arrays), read with the shared defensive parser. An empty body is `{}`.
 * @throws HttpProblem 413 when too large, 415 for other media types, 400 for malformed input.
 */
export function parseBody(event: HttpEvent): Record<string, unknown> {
  if (!event.body) return {};
  const parsed = sharedParseBody(event);
  if (parsed.kind === 'form') {
    const out: Record<string, string | string[]> = {};
    for (const [k, values] of parsed.fields) out[k] = values.length === 1 ? values[0]! : values;
    return out;
  }
  const value = parsed.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpProblem(problem(400, 'validation-failed', 'The request body must be a JSON object'));
  }
  return value as Record<string, unknown>;
}


/**
 * Validates `input` against `schema`.
 * @throws HttpProblem 400 naming every bad field.
 */
export function validate<T>(schema: z.ZodMiniType<T>, input: unknown, what = 'request'): T {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new HttpProblem(problem(400, 'validation-failed', `The ${what} is not valid`, undefined, { errors: fieldErrorsOf(result.error) }));
  }
  return result.data;
}

/** Cookie header (or API Gateway's `cookies` array) as a map. */
export function cookiesOf(event: HttpEvent): Record<string, string> {
  const out: Record<string, string> = {};
  const parts = [...(event.cookies ?? []), ...((header(event.headers, 'cookie') ?? '').split(';'))];
  for (const part of parts) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const name = part.slice(0, i).trim();
    const value = part.slice(i + 1).trim();
    if (name && !(name in out)) {
      try {
        out[name] = decodeURIComponent(value);
      } catch {
        out[name] = value;
      }
    }
  }
  return out;
}


/**
 * Maps an error thrown by a use case to a problem answer (the table of shared/problems.ts, staff's
 * wording). Only named, expected errors say anything; the rest becomes the generic 500 (the
 * caller logs the error name).
 */
export function errorToProblem(error: unknown): ProblemAnswer {
  return problemOf(error, 'staff') ?? { problem: INTERNAL_PROBLEM, headers: {} };
}

/**
 * The log line of a failed staff request: the route template, API Gateway's request id and the
 * error's name — never the path as typed, the query, the body or the error's message.
 */
export function failureLogFields(event: HttpEvent, error: unknown): Record<string, unknown> {
  const requestId = httpRequestIdOf(event);
  return { route: routeTemplate(event), ...(requestId ? { httpRequestId: requestId } : {}), error: error instanceof Error ? error.name : 'unknown' };
}
