/**
 * The auditor API (API Gateway v2 handler): GET /audit/requests, /audit/requests/{id},
 * /audit/export and /audit/report. Every route needs a bearer token with the auditor or ops role.
 * The handler only adapts: validate, call the use case, map the result to HTTP.
 */
import { HttpProblem, problem } from '../shared/problem';
import { toView, type AuditDeps } from '../../../staff/audit-deps';
import { buildReport } from '../../../staff/build-report';
import { exportRequests } from '../../../staff/export-requests';
import { getRequestDetail } from '../../../staff/get-request-detail';
import { listRequests } from '../../../staff/list-requests';
import type { StaffAuthenticator } from './auth';
import { createRouter, type HttpMethod } from '../shared/router';
import {
  decodePathSegment,
  errorToProblem,
  failureLogFields,
  jsonResponse,
  problemResponse,
  queryOf,
  validate,
  BASE_SECURITY_HEADERS,
  type HttpEvent,
  type HttpResult,
} from './http';
import { exportQuerySchema, listQuerySchema, reportQuerySchema, REQUEST_ID } from './schemas';
import type { Logger } from '../../../domain/ports';

export interface AuditApiDeps extends AuditDeps {
  auth: StaffAuthenticator;
  /** Largest buffered export body; default MAX_BUFFERED_EXPORT_BYTES. The streamed export has no limit. */
  maxBufferedExportBytes?: number;
  /** Failures and staff actions are logged here (ids, routes and error names only). */
  logger: Logger;
}

/** A response whose body is produced chunk by chunk (the local server streams it). */
export interface StreamedResult {
  statusCode: number;
  headers: Record<string, string>;
  body: AsyncIterable<string>;
}

export type AuditApi = ((event: HttpEvent) => Promise<HttpResult>) & {
  /** GET /audit/export as a stream, for servers that can stream (the local runtime). */
  streamExport(event: HttpEvent): Promise<StreamedResult>;
};

async function* once(text: string): AsyncGenerator<string> {
  yield text;
}

/** Lambda's buffered response limit is 6 MB; stay clear of it (headers, base64 margins). */
export const MAX_BUFFERED_EXPORT_BYTES = 5_500_000;

/**
 * Collects a stream into one string (Lambda buffered responses).
 * @throws HttpProblem 413 once the body would exceed `maxBytes`: the caller should narrow the period.
 */
export async function collect(chunks: AsyncIterable<string>, maxBytes = MAX_BUFFERED_EXPORT_BYTES): Promise<string> {
  let out = '';
  let bytes = 0;
  for await (const chunk of chunks) {
    bytes += Buffer.byteLength(chunk, 'utf8');
    if (bytes > maxBytes) {
      throw new HttpProblem(problem(413, 'export-too-large', 'The export is too large for one response', 'Narrow the period with from and to, and export it in parts.'));
    }
    out += chunk;
  }
  return out;
}

function notFound(): HttpProblem {
  return new HttpProblem(problem(404, 'not-found', 'No such request'));
}

/** Builds the auditor API handler. Errors never leak internals: unexpected ones become a plain 500. */
export function createAuditApi(deps: AuditApiDeps): AuditApi {
  const { logger } = deps;

  async function prepareExport(event: HttpEvent): Promise<StreamedResult> {
    await deps.auth.require(event.headers, 'read');
    const q = validate(exportQuerySchema, queryOf(event), 'query');
    // Validate everything before the first byte goes out: a stream cannot turn into a problem later.
    const chunks = exportRequests(deps, { from: q.from, to: q.to, statuses: q.status, includeCanary: q.includeCanary }, q.format);
    const name = `erasure-requests-${(q.from ?? 'start').slice(0, 10)}-${(q.to ?? 'now').slice(0, 10)}.${q.format}`;
    return {
      statusCode: 200,
      headers: {
        ...BASE_SECURITY_HEADERS,
        'content-type': q.format === 'csv' ? 'text/csv; charset=utf-8; header=present' : 'application/json; charset=utf-8',
        'content-disposition': `attachment; filename="${name}"`,
      },
      body: chunks,
    };
  }

  const READ: HttpMethod[] = ['GET', 'HEAD'];
  const router = createRouter<void, HttpResult>([
    {
      method: READ,
      path: '/audit/requests',
      handler: async (event) => {
        const q = validate(listQuerySchema, queryOf(event), 'query');
        const page = await listRequests(
          deps,
          { statuses: q.status, from: q.from, to: q.to, subject: q.subject, overdue: q.overdue, includeCanary: q.includeCanary, descending: q.order === 'desc' },
          { limit: q.limit, cursor: q.cursor },
        );
        const now = deps.clock.now();
        return jsonResponse(200, { items: page.items.map((r) => toView(r, now)), ...(page.cursor ? { cursor: page.cursor } : {}) });
      },
    },
    {
      method: READ,
      path: '/audit/requests/{id}',
      handler: async (_event, params) => {
        const id = decodePathSegment(params.id!);
        if (!REQUEST_ID.test(id)) throw notFound();
        return jsonResponse(200, await getRequestDetail(deps, id));
      },
    },
    {
      method: READ,
      path: '/audit/export',
      handler: async (event) => {
        const streamed = await prepareExport(event);
        return { statusCode: streamed.statusCode, headers: streamed.headers, body: await collect(streamed.body, deps.maxBufferedExportBytes) };
      },
    },
    {
      method: READ,
      path: '/audit/report',
      handler: async (event) => {
        const q = validate(reportQuerySchema, queryOf(event), 'query');
        return jsonResponse(200, await buildReport(deps, { from: q.from, to: q.to }));
      },
    },
  ]);

  async function route(event: HttpEvent): Promise<HttpResult> {
    // Who asks comes first: a caller without a token learns nothing about the routes.
    await deps.auth.require(event.headers, 'read');
    return router.handle(event);
  }

  function failure(event: HttpEvent, error: unknown): HttpResult {
    const { problem: p, headers } = errorToProblem(error);
    if (p.status >= 500) logger.error('audit api failed', failureLogFields(event, error));
    return problemResponse(p, headers);
  }

  const handler = (async (event: HttpEvent) => {
    try {
      return await route(event);
    } catch (error) {
      return failure(event, error);
    }
  }) as AuditApi;

  handler.streamExport = async (event: HttpEvent) => {
    try {
      return await prepareExport(event);
    } catch (error) {
      const result = failure(event, error);
      return { statusCode: result.statusCode ?? 500, headers: result.headers as Record<string, string>, body: once(result.body ?? '') };
    }
  };
  return handler;
}
