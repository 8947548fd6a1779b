/**
 * The ops API (API Gateway v2 handler): lists of what needs attention and the actions that fix it.
 * Every route needs a bearer token with the ops role (auditors get 403).
 */
import { HttpProblem, problem } from '../shared/problem';
import type { Actor } from '../../../domain/model';
import { toView } from '../../../staff/audit-deps';
import { staffActor, type StaffAuthenticator } from './auth';
import { createRouter, type PathParams, type RouteSpec } from '../shared/router';
import { decodePathSegment, errorToProblem, failureLogFields, httpRequestIdOf, jsonResponse, parseBody, problemResponse, queryOf, validate, type HttpEvent, type HttpResult } from './http';
import { cancelRequest } from '../../../staff/cancel-request';
import { extendRequestDeadline } from '../../../staff/extend-deadline';
import { listForOps } from '../../../staff/list-for-ops';
import { type OpsDeps } from '../../../staff/ops-deps';
import { recheckRequest } from '../../../staff/recheck-request';
import { refreshRoles } from '../../../staff/refresh-roles';
import { retryMany } from '../../../staff/retry-many';
import { retryRequest } from '../../../staff/retry-request';
import { verifyRequestNow } from '../../../staff/verify-request';
import { revokeStatusLinks } from '../../../staff/revoke-status-links';
import { bulkRetrySchema, opsListQuerySchema, reasonBodySchema, refreshBodySchema, REQUEST_ID } from './schemas';
import type { Logger } from '../../../domain/ports';

export interface OpsApiDeps extends OpsDeps {
  auth: StaffAuthenticator;
  /** Submission on a subject's behalf, owned by the intake; answers 202 with what it returns. */
  submitOnBehalf?: (body: Record<string, unknown>, actor: Actor) => Promise<Record<string, unknown>>;
  /** Failures and staff actions are logged here (ids, routes and error names only). */
  logger: Logger;
}

const ACTIONS = ['retry', 'cancel', 'recheck', 'extend', 'revoke-links', 'verify'] as const;
type Action = (typeof ACTIONS)[number];

/** Builds the ops API handler. */
export function createOpsApi(deps: OpsApiDeps): (event: HttpEvent) => Promise<HttpResult> {
  const { logger } = deps;

  /** What every ops route knows of its caller. */
  interface Caller {
    actor: Actor;
    correlation: { httpRequestId?: string };
  }
  const now = () => deps.clock.now();

  async function act(name: Action, event: HttpEvent, params: PathParams, { actor, correlation }: Caller): Promise<HttpResult> {
    const id = decodePathSegment(params.id!);
    if (!REQUEST_ID.test(id)) throw new HttpProblem(problem(404, 'not-found', 'No such request'));
    const { reason } = validate(reasonBodySchema, parseBody(event), 'body');
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
      case 'verify': {
        const r = await verifyRequestNow(deps, id, actor, reason);
        return jsonResponse(202, { request: toView(r.request, now()), readBackDueAt: r.request.verification?.dueAt });
      }
    }
  }

  const submitOnBehalf = deps.submitOnBehalf;
  const routes: RouteSpec<Caller, HttpResult>[] = [
    {
      method: 'GET',
      path: '/ops/requests',
      handler: async (event) => {
        const q = validate(opsListQuerySchema, queryOf(event), 'query');
        const page = await listForOps(deps, q.status, { limit: q.limit, cursor: q.cursor });
        return jsonResponse(200, { items: page.items.map((r) => toView(r, now())), ...(page.cursor ? { cursor: page.cursor } : {}) });
      },
    },
    ...(submitOnBehalf
      ? [
          {
            method: 'POST',
            path: '/ops/requests',
            handler: async (event, _params, { actor, correlation }) => {
              // Who asked and when; the subject named in the body never reaches the log.
              logger.info('ops action', { action: 'submit-on-behalf', actor, ...correlation });
              return jsonResponse(202, await submitOnBehalf(parseBody(event), actor));
            },
          } satisfies RouteSpec<Caller, HttpResult>,
        ]
      : []),
    ...ACTIONS.map((name): RouteSpec<Caller, HttpResult> => ({ method: 'POST', path: `/ops/requests/{id}/${name}`, handler: (event, params, caller) => act(name, event, params, caller) })),
    {
      method: 'POST',
      path: '/ops/retry',
      handler: async (event, _params, { actor, correlation }) => {
        const body = validate(bulkRetrySchema, parseBody(event), 'body');
        const selection = body.ids ? { ids: body.ids } : { status: body.status!, limit: body.limit };
        logger.info('ops action', { action: 'bulk-retry', actor, count: body.ids?.length ?? body.limit ?? 100, ...correlation });
        return jsonResponse(200, await retryMany(deps, selection, actor, body.reason));
      },
    },
    {
      method: 'POST',
      path: '/ops/roles/refresh',
      handler: async (event, _params, { actor, correlation }) => {
        const body = validate(refreshBodySchema, parseBody(event), 'body');
        logger.info('ops action', { action: 'roles-refresh', actor, ...correlation });
        return jsonResponse(200, await refreshRoles(deps, actor, body.reason));
      },
    },
  ];
  const router = createRouter<Caller, HttpResult>(routes);

  async function route(event: HttpEvent): Promise<HttpResult> {
    // Who asks comes first: a caller without the ops role learns nothing about the routes.
    const principal = await deps.auth.require(event.headers, 'act');
    const httpRequestId = httpRequestIdOf(event);
    return router.handle(event, { actor: staffActor(principal), correlation: httpRequestId ? { httpRequestId } : {} });
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
