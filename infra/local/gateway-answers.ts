/**
 * The answers the local runtime gives itself, where no function answers.
 *
 * - **API Gateway's own answers** (no route matched, a function that failed) are written as AWS
 *   writes them, `{"message": …}` in plain JSON: a client sees locally what it sees in AWS.
 * - **The runtime's own refusals** (a body over the local limit, a request not addressed to this
 *   server, an error of the runtime itself) are RFC 9457 problems, answered through the functions'
 *   problem table (`problemOf`), so they read like every other refusal of the desk.
 */
import type { ServerResponse } from 'node:http';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { HttpProblem, INTERNAL_PROBLEM, problem } from '../../functions/adapters/http/shared/problem';
import { problemOf } from '../../functions/adapters/http/shared/problems';
import { bodyTooLargeProblem } from '../../functions/adapters/http/shared/messages';

/** API Gateway's answer when no route of the HTTP API matches. */
export const NO_ROUTE: APIGatewayProxyStructuredResultV2 = { statusCode: 404, headers: { 'content-type': 'application/json' }, body: '{"message":"Not Found"}' };

/** API Gateway's answer when the function behind a route failed (never the error itself). */
export const INTEGRATION_FAILED: APIGatewayProxyStructuredResultV2 = { statusCode: 500, headers: { 'content-type': 'application/json' }, body: '{"message":"Internal Server Error"}' };

/** A request body over the local runtime's limit; the connection closes after the answer. */
export class BodyTooLargeError extends HttpProblem {
  constructor(limitBytes: number) {
    super(bodyTooLargeProblem(limitBytes), { connection: 'close' });
    this.name = 'BodyTooLargeError';
  }
}

/** A request this server does not serve: not a path (proxy form), or a Host that is not this server. */
export class MisdirectedRequestError extends HttpProblem {
  constructor(status: 400 | 421, title: string) {
    super(problem(status, status === 421 ? 'misdirected-request' : 'invalid-request-target', title), { connection: 'close' });
    this.name = 'MisdirectedRequestError';
  }
}

/** The answer of the runtime itself to `error`: its problem when the table knows it, else the plain 500. */
export function gatewayProblem(error: unknown): { statusCode: number; headers: Record<string, string>; body: string } {
  const known = problemOf(error, 'public');
  const p = known?.problem ?? INTERNAL_PROBLEM;
  return {
    statusCode: p.status,
    headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...(known?.headers ?? {}) },
    body: JSON.stringify(p),
  };
}

/** Writes `gatewayProblem(error)` to `res`. */
export function sendGatewayProblem(res: ServerResponse, error: unknown): void {
  const answer = gatewayProblem(error);
  res.writeHead(answer.statusCode, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
  res.end(answer.body);
}
