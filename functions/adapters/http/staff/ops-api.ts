/**
 * The ops API (API Gateway v2 handler): lists of what needs attention and the actions that fix it.
 * Every route needs a bearer token with the ops role (auditors get 403).
 */
import { HttpProblem, problem } from '../shared/problem';
import type { Actor } from '../../../domain/model';
import { toView } from '../../../staff/audit-deps';
import { staffActor, type StaffAuthenticator } from './auth';
import { decodePathSegment, errorToProblem, failureLogFields, httpRequestIdOf, jsonResponse, methodOf, parseBody, pathOf, problemResponse, queryOf, silentLogger, validate, type HttpEvent, type HttpResult, type StaffLogger } from './http';
import { cancelRequest } from '../../../staff/cancel-request';
import { extendRequestDeadline } from '../../../staff/extend-deadline';
import { listForOps } from '../../../staff/list-for-ops';
import { type OpsDeps } from '../../../staff/ops-deps';
import { recheckRequest } from '../../../staff/recheck-request';
import { refreshRoles } from '../../../staff/refresh-roles';
import { retryMany } from '../../../staff/retry-many';
import { retryRequest } from '../../../staff/retry-request';
import { revokeStatusLinks } from '../../../staff/revoke-status-links';
import { bulkRetrySchema, opsListQuerySchema, reasonBodySchema, refreshBodySchema, REQUEST_ID } from './schemas';

export interface OpsApiDeps extends OpsDeps {
  auth: StaffAuthenticator;
  /** Submission on a subject's behalf, owned by the intake; answers 202 with what it returns. */
  submitOnBehalf?: (body: Record<string, unknown>, actor: Actor) => Promise<Record<string, unknown>>;
  logger?: StaffLogger;
}

const ACTIONS = ['retry', 'cancel', 'recheck', 'extend', 'revoke-links'] as const;

/** Builds the ops API handler. */
export function createOpsApi(deps: OpsApiDeps): (event: HttpEvent) => Promise<HttpResult> {
  const logger = deps.logger ?? silentLogger;

  async function route(event: HttpEvent): Promise<HttpResult> {
    const method = methodOf(event);
    const path = pathOf(event);
    const principal = await deps.auth.require(event.headers, 'act');
    const actor = staffActor(principal);
    const httpRequestId = httpRequestIdOf(event);
    const correlation = httpRequestId ? { httpRequestId } : {};
    const now = () => deps.clock.now();
    const needs = (allowed: string) => {
      if (method !== allowed) throw new HttpProblem(problem(405, 'method-not-allowed', 'Method not allowed'), { allow: allowed });
    };

    if (path === '/ops/requests') {
      if (method === 'POST') {
        if (!deps.submitOnBehalf) return problemResponse(problem(404, 'not-found', 'No such route'));
        // Who asked and when; the subject named in the body never reaches the log.
        logger.info('ops action', { action: 'submit-on-behalf', actor, ...correlation });
        return jsonResponse(202, await deps.submitOnBehalf(parseBody(event), actor));
      }
      needs('GET');
      const q = validate(opsListQuerySchema, queryOf(event), 'query');
      const page = await listForOps(deps, q.status, { limit: q.limit, cursor: q.cursor });
      return jsonResponse(200, { items: page.items.map((r) => toView(r, now())), ...(page.cursor ? { cursor: page.cursor } : {}) });
    }
    const action = /^\/ops\/requests\/([^/]+)\/([a-z-]+)$/.exec(path);
    if (action && (ACTIONS as readonly string[]).includes(action[2]!)) {
      needs('POST');
      const id = decodePathSegment(action[1]!);
      if (!REQUEST_ID.test(id)) throw new HttpProblem(problem(404, 'not-found', 'No such request'));
      const { reason } = validate(reasonBodySchema, parseBody(event), 'body');
      const name = action[2] as (typeof ACTIONS)[number];
      logger.info('ops action', { action: name, requestId: id, actor, ...correlation });
      switch (name) {
        case 'retry': {
          const r = await retryRequest(deps, id, actor, reason);
          return jsonResponse(200, { request: toView(r.request, now()), started: r.started });
        }
        case 'cancel': {
          const r = await cancelRequest(deps, id, actor, reason);
          return jsonResponse(200, { request: toView(r.request, now()) });
        }
        case 'recheck': {
          const r = await recheckRequest(deps, id, actor, reason);
          return jsonResponse(200, { request: toView(r.request, now()), eligible: r.eligible, ...(r.started !== undefined ? { started: r.started } : {}) });
        }
        case 'extend': {
          const r = await extendRequestDeadline(deps, id, actor, reason);
          return jsonResponse(200, { request: toView(r.request, now()), notified: r.notified });
        }
        case 'revoke-links': {
          const r = await revokeStatusLinks(deps, id, actor, reason);
          return jsonResponse(200, { request: toView(r.request, now()), revokedAt: r.revokedAt });
        }
      }
    }
    if (path === '/ops/retry') {
      needs('POST');
      const body = validate(bulkRetrySchema, parseBody(event), 'body');
      const selection = body.ids ? { ids: body.ids } : { status: body.status!, limit: body.limit };
      logger.info('ops action', { action: 'bulk-retry', actor, count: body.ids?.length ?? body.limit ?? 100, ...correlation });
      return jsonResponse(200, await retryMany(deps, selection, actor, body.reason));
    }
    if (path === '/ops/roles/refresh') {
      needs('POST');
      const body = validate(refreshBodySchema, parseBody(event), 'body');
      logger.info('ops action', { action: 'roles-refresh', actor, ...correlation });
      return jsonResponse(200, await refreshRoles(deps, actor, body.reason));
    }
    return problemResponse(problem(404, 'not-found', 'No such route'));
  }

  return async (event) => {
    try {
      return await route(event);
    } catch (error) {
      const { problem: p, headers } = errorToProblem(error);
      if (p.status >= 500) logger.error('ops api failed', failureLogFields(event, error));
      return problemResponse(p, headers);
    }
  };
}
