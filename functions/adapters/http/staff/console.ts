/**
 * The staff console at `/console` (API Gateway v2 handler): server-rendered pages for auditors
 * and ops over the same use cases as the APIs.
 *
 * Sign-in: the page asks for a bearer token (locally a development token) and keeps it in an
 * HttpOnly, SameSite=Strict, `__Host-` cookie (so Secure, Path=/ and no Domain: no sibling host
 * can plant or overwrite it — browsers accept Secure cookies from http://localhost and 127.0.0.1
 * too, which the local runtime relies on); the token is verified on every request. Requests
 * carrying `Authorization: Bearer` are accepted too. Every POST made with the cookie needs a CSRF
 * token: a signed double submit (cookie and form field equal, HMAC-signed with a server key and
 * bound to the session), so neither a cross-site form nor a planted cookie can act. Signing out
 * revokes the session server-side: the token is refused from then on, wherever it is presented.
 *
 * Longer than 300 lines on purpose: the console's route table, sign-in, cookie and CSRF handling
 * belong together (who may see a routing answer depends on the session); the pages are in
 * console-pages.ts.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeJwt } from 'jose';
import { HttpProblem } from '../shared/problem';
import type { SafeHtml } from '../../../domain/html';
import { isDueWithin } from '../../../domain/deadlines';
import { FINAL_STATUSES } from '../../../domain/lifecycle';
import type { Logger, SessionRevocations } from '../../../domain/ports';
import { REQUEST_STATUSES, type RequestStatus } from '../../../domain/model';
import { toView } from '../../../staff/audit-deps';
import { buildReport } from '../../../staff/build-report';
import { exportRequests } from '../../../staff/export-requests';
import { getRequestDetail } from '../../../staff/get-request-detail';
import { iterateRequests, listRequests } from '../../../staff/list-requests';
import { hasPermission, sessionIdOf, staffActor, type StaffAuthenticator, type StaffPrincipal } from './auth';
import { collect } from './audit-api';
import { CONSOLE_CSP, dashboardPage, errorPage, requestListPage, requestPage, signInPage, type DaySeries, type PageContext } from './console-pages';
import {
  BASE_SECURITY_HEADERS,
  cookiesOf,
  decodePathSegment,
  errorToProblem,
  failureLogFields,
  header,
  httpRequestIdOf,
  htmlResponse,
  methodOf,
  parseBody,
  pathOf,
  queryOf,
  redirect,
  routeTemplate,
  type HttpEvent,
  type HttpResult,
} from './http';
import { cancelRequest } from '../../../staff/cancel-request';
import { extendRequestDeadline } from '../../../staff/extend-deadline';
import { allowedActions, type OpsDeps } from '../../../staff/ops-deps';
import { verifyRequestNow } from '../../../staff/verify-request';
import { recheckRequest } from '../../../staff/recheck-request';
import { refreshRoles } from '../../../staff/refresh-roles';
import { retryRequest } from '../../../staff/retry-request';
import { revokeStatusLinks } from '../../../staff/revoke-status-links';
import { exportQuerySchema, listQuerySchema, REQUEST_ID } from './schemas';
import { createRouter, RouteNotFoundError, type HttpMethod, type RouteMatch, type RouteSpec } from '../shared/router';

export interface ConsoleDeps extends OpsDeps {
  auth: StaffAuthenticator;
  /** Server key signing CSRF tokens (≥ 32 bytes of secret). */
  csrfKey: string | Uint8Array;
  /** Where signed-out sessions are remembered (`auth` must refuse them: see withSessionRevocations). */
  sessions: Pick<SessionRevocations, 'revoke'>;
  /** Where the console is mounted; default `/console`. */
  basePath?: string;
  /** Failures and staff actions are logged here (ids, routes and error names only). */
  logger: Logger;
}

export const SESSION_COOKIE = '__Host-ed_session';
export const CSRF_COOKIE = '__Host-ed_csrf';

type Action = 'retry' | 'cancel' | 'recheck' | 'extend' | 'revoke-links' | 'verify';
const ACTIONS: readonly Action[] = ['retry', 'cancel', 'recheck', 'extend', 'revoke-links', 'verify'];
const DONE_MESSAGES: Record<string, string> = {
  retry: 'A new attempt was started.',
  cancel: 'The request was cancelled.',
  recheck: 'Eligibility was re-checked.',
  extend: 'The deadline was extended and the subject will be told the reason.',
  'revoke-links': 'Every status link issued so far was revoked; links in later mails will work.',
  verify: 'The erasure will be read back from Kore.ai at the next verification run.',
  roles: 'The roles snapshot was refreshed.',
};

interface Session {
  principal?: StaffPrincipal;
  /** The verified token came from the cookie (then POSTs need the CSRF token). */
  viaCookie: boolean;
  /** What CSRF tokens are bound to: a hash of the session token, or `anon`. */
  binding: string;
  /** Why a presented token was refused. */
  refused?: string;
  /** The verified token (to revoke at sign-out). */
  token?: string;
}

/** Builds the console handler. */
export function createConsole(deps: ConsoleDeps): (event: HttpEvent) => Promise<HttpResult> {
  const base = deps.basePath ?? '/console';
  const { logger } = deps;
  const key = typeof deps.csrfKey === 'string' ? Buffer.from(deps.csrfKey, 'utf8') : Buffer.from(deps.csrfKey);
  if (key.byteLength < 16) throw new Error('The console CSRF key is too short');

  // `__Host-` cookies must be Secure with Path=/ and no Domain, or the browser drops them.
  const cookie = (name: string, value: string, maxAge?: number) =>
    `${name}=${encodeURIComponent(value)}; Path=/; Secure; HttpOnly; SameSite=Strict${maxAge !== undefined ? `; Max-Age=${maxAge}` : ''}`;

  const sign = (nonce: string, binding: string) => createHmac('sha256', key).update(`${nonce}|${binding}`).digest('base64url');
  const mintCsrf = (binding: string) => {
    const nonce = randomBytes(18).toString('base64url');
    return `${nonce}.${sign(nonce, binding)}`;
  };
  const csrfValid = (token: string | undefined, binding: string): boolean => {
    if (!token) return false;
    const [nonce, sig, ...rest] = token.split('.');
    if (!nonce || !sig || rest.length > 0) return false;
    const expected = Buffer.from(sign(nonce, binding));
    const given = Buffer.from(sig);
    return expected.byteLength === given.byteLength && timingSafeEqual(expected, given);
  };

  async function sessionOf(event: HttpEvent): Promise<Session> {
    const authorization = header(event.headers, 'authorization');
    if (authorization) {
      try {
        const principal = await deps.auth.authenticate(event.headers);
        return { principal, viaCookie: false, binding: 'bearer', token: authorization.replace(/^Bearer\s+/i, '').trim() };
      } catch (error) {
        return { viaCookie: false, binding: 'anon', refused: error instanceof HttpProblem ? (error.problem.detail ?? error.problem.title) : 'The token is not valid.' };
      }
    }
    const token = cookiesOf(event)[SESSION_COOKIE];
    if (!token) return { viaCookie: false, binding: 'anon' };
    try {
      const principal = await deps.auth.verifyToken(token);
      return { principal, viaCookie: true, binding: createHash('sha256').update(token).digest('base64url'), token };
    } catch (error) {
      return { viaCookie: false, binding: 'anon', refused: error instanceof HttpProblem ? (error.problem.detail ?? error.problem.title) : 'The token is not valid.' };
    }
  }

  /** What a console route gets besides the event: the page context and the caller. */
  interface Call {
    ctx: PageContext;
    session: Session;
    /** Signed in (every route but sign-in has one). */
    principal: StaffPrincipal;
    /** The parsed form of a POST (`{}` otherwise). */
    body: Record<string, unknown>;
    /** Cookies every answer sets (a fresh CSRF cookie). */
    cookies: string[];
    page(status: number, body: SafeHtml, extra?: string[], headers?: Record<string, string>): HttpResult;
    /** A fresh anonymous CSRF token, replacing the cookie to set. */
    mintAnon(): string;
  }
  type Handler = RouteSpec<Call, HttpResult>['handler'];
  const READ: HttpMethod[] = ['GET', 'HEAD'];

  const login: Handler = async (event, _params, { ctx, session, page, mintAnon }) => {
    const existingCsrf = cookiesOf(event)[CSRF_COOKIE];
    const body = parseBody(event);
    const given = typeof body.csrf === 'string' ? body.csrf : undefined;
    if (!given || given !== existingCsrf || !(csrfValid(given, 'anon') || csrfValid(given, session.binding))) {
      return page(403, signInPage({ ...ctx, csrf: mintAnon() }, 'The form expired; please sign in again.'), []);
    }
    const token = typeof body.token === 'string' ? body.token.trim() : '';
    try {
      const principal = await deps.auth.verifyToken(token);
      if (!hasPermission(principal, 'read')) return page(403, signInPage(ctx, 'This token has neither the auditor nor the ops role.'));
      logger.info('console sign-in', { actor: staffActor(principal), ...correlation(event) });
      return redirect(base, [cookie(SESSION_COOKIE, token), cookie(CSRF_COOKIE, '', 0)]);
    } catch (error) {
      return page(401, signInPage(ctx, error instanceof HttpProblem ? (error.problem.detail ?? 'The token is not valid.') : 'The token is not valid.'));
    }
  };

  const logout: Handler = async (event, _params, { session, principal }) => {
    await revoke(session.token!);
    logger.info('console sign-out', { actor: staffActor(principal), ...correlation(event) });
    return redirect(base, [cookie(SESSION_COOKIE, '', 0), cookie(CSRF_COOKIE, '', 0)]);
  };

  const search: Handler = async (_event, _params, { ctx, body, page }) => {
    const subject = typeof body.subject === 'string' ? body.subject.trim() : '';
    if (subject === '' || subject.length > 320) return page(400, requestListPage(ctx, { items: [], filters: {}, error: 'Enter an email address or enterprise id.' }));
    const found = await listRequests(deps, { subject, includeCanary: true, descending: true }, { limit: 100 });
    const now = deps.clock.now();
    return page(200, requestListPage(ctx, { items: found.items.map((r) => toView(r, now)), filters: {}, subjectSearch: true }));
  };

  const refreshRolesAction: Handler = async (event, _params, { ctx, principal, body, page }) => {
    if (!hasPermission(principal, 'act')) return page(403, errorPage(ctx, 'Not allowed', 'This action needs the ops role.'));
    if (body.confirm !== 'yes') return page(400, errorPage(ctx, 'Please confirm', 'Tick the confirmation box to refresh the snapshot.'));
    logger.info('console action', { action: 'roles-refresh', actor: staffActor(principal), ...correlation(event) });
    await refreshRoles(deps, staffActor(principal), typeof body.reason === 'string' ? body.reason : 'console');
    return redirect(`${base}?done=roles`);
  };

  const requestAction =
    (name: Action): Handler =>
    async (event, params, { ctx, principal, body, page }) => {
      if (!hasPermission(principal, 'act')) return page(403, errorPage(ctx, 'Not allowed', 'This action needs the ops role.'));
      const actor = staffActor(principal);
      const id = decodePathSegment(params.id!);
      if (!REQUEST_ID.test(id)) return page(404, errorPage(ctx, 'No such request'));
      const reason = typeof body.reason === 'string' ? body.reason.trim() : '';
      const refuse = async (status: number, message: string) => {
        const detail = await getRequestDetail(deps, id);
        return page(status, requestPage(ctx, { detail, actions: actionsFor(principal, detail.request), error: message }));
      };
      if (body.confirm !== 'yes') return refuse(400, 'Tick the confirmation box to go ahead.');
      if (reason === '' || reason.length > 1000) return refuse(400, 'Give a reason (up to 1000 characters).');
      logger.info('console action', { action: name, requestId: id, actor, ...correlation(event) });
      try {
        if (name === 'retry') await retryRequest(deps, id, actor, reason);
        else if (name === 'cancel') await cancelRequest(deps, id, actor, reason);
        else if (name === 'recheck') await recheckRequest(deps, id, actor, reason);
        else if (name === 'extend') await extendRequestDeadline(deps, id, actor, reason);
        else if (name === 'verify') await verifyRequestNow(deps, id, actor, reason);
        else await revokeStatusLinks(deps, id, actor, reason);
      } catch (error) {
        const { problem } = errorToProblem(error);
        if (problem.status === 404) return page(404, errorPage(ctx, 'No such request'));
        if (problem.status < 500) return refuse(problem.status, `${problem.title}. ${problem.detail ?? ''}`.trim());
        throw error;
      }
      return redirect(`${base}/requests/${encodeURIComponent(id)}?done=${name}`);
    };

  const doneOf = (event: HttpEvent) => {
    const done = queryOf(event).done;
    return typeof done === 'string' ? DONE_MESSAGES[done] : undefined;
  };

  const showDashboard: Handler = async (event, _params, { ctx, principal, page }) => page(200, await dashboard(ctx, principal, doneOf(event)));

  const showList: Handler = async (event, _params, { ctx, page }) => {
    const parsed = listQuerySchema.safeParse(queryOf(event));
    if (!parsed.success) return page(400, requestListPage(ctx, { items: [], filters: {}, error: 'Some filters are not valid.' }));
    const q = parsed.data;
    const result = await listRequests(deps, { statuses: q.status, from: q.from, to: q.to, overdue: q.overdue, includeCanary: q.includeCanary, descending: true }, { limit: q.limit ?? 50, cursor: q.cursor });
    const params = new URLSearchParams();
    const raw = event.rawQueryString ? new URLSearchParams(event.rawQueryString) : new URLSearchParams();
    for (const k of ['status', 'from', 'to', 'overdue', 'includeCanary', 'limit']) for (const v of raw.getAll(k)) params.append(k, v);
    if (result.cursor) params.set('cursor', result.cursor);
    const now = deps.clock.now();
    return page(
      200,
      requestListPage(ctx, {
        items: result.items.map((r) => toView(r, now)),
        filters: { status: q.status?.length === 1 ? q.status[0] : undefined, from: q.from, to: q.to, overdue: q.overdue },
        nextHref: result.cursor ? `${base}/requests?${params.toString()}` : undefined,
      }),
    );
  };

  const showRequest: Handler = async (event, params, { ctx, principal, page }) => {
    const id = decodePathSegment(params.id!);
    if (!REQUEST_ID.test(id)) return page(404, errorPage(ctx, 'No such request'));
    try {
      const detail = await getRequestDetail(deps, id);
      return page(200, requestPage(ctx, { detail, actions: actionsFor(principal, detail.request), flash: doneOf(event) }));
    } catch (error) {
      if (errorToProblem(error).problem.status === 404) return page(404, errorPage(ctx, 'No such request'));
      throw error;
    }
  };

  const exportFile: Handler = async (event, _params, { ctx, cookies, page }) => {
    const parsed = exportQuerySchema.safeParse(queryOf(event));
    if (!parsed.success) return page(400, errorPage(ctx, 'The export filters are not valid'));
    const q = parsed.data;
    const body = await collect(exportRequests(deps, { from: q.from, to: q.to, statuses: q.status, includeCanary: q.includeCanary }, q.format));
    return {
      statusCode: 200,
      headers: {
        ...BASE_SECURITY_HEADERS,
        'content-type': q.format === 'csv' ? 'text/csv; charset=utf-8; header=present' : 'application/json; charset=utf-8',
        'content-disposition': `attachment; filename="erasure-requests.${q.format}"`,
      },
      body,
      ...(cookies.length > 0 ? { cookies } : {}),
    };
  };

  const loginRoute: RouteSpec<Call, HttpResult> = { method: 'POST', path: `${base}/login`, handler: login };
  const router = createRouter<Call, HttpResult>([
    loginRoute,
    { method: 'POST', path: `${base}/logout`, handler: logout },
    { method: 'POST', path: `${base}/requests/search`, handler: search },
    { method: 'POST', path: `${base}/roles/refresh`, handler: refreshRolesAction },
    ...ACTIONS.map((name): RouteSpec<Call, HttpResult> => ({ method: 'POST', path: `${base}/requests/{id}/${name}`, handler: requestAction(name) })),
    { method: READ, path: base, handler: showDashboard },
    { method: READ, path: `${base}/requests`, handler: showList },
    { method: READ, path: `${base}/requests/{id}`, handler: showRequest },
    { method: READ, path: `${base}/export`, handler: exportFile },
  ]);

  async function handle(event: HttpEvent): Promise<HttpResult> {
    const method = methodOf(event);
    const path = pathOf(event);
    // Outside the console (e.g. a stray /favicon.ico): answer without touching the CSRF cookie.
    if (path !== base && !path.startsWith(`${base}/`)) throw new RouteNotFoundError();
    const session = await sessionOf(event);
    const existingCsrf = cookiesOf(event)[CSRF_COOKIE];
    const csrf = csrfValid(existingCsrf, session.binding) ? existingCsrf! : mintCsrf(session.binding);
    const cookies: string[] = csrf === existingCsrf ? [] : [cookie(CSRF_COOKIE, csrf)];
    const ctx: PageContext = { basePath: base, principal: session.principal, csrf };
    const page = (status: number, body: SafeHtml, extra: string[] = [], headers: Record<string, string> = {}) => htmlResponse(status, body, CONSOLE_CSP, headers, [...cookies, ...extra]);
    const mintAnon = (): string => {
      const fresh = mintCsrf('anon');
      cookies.splice(0, cookies.length, cookie(CSRF_COOKIE, fresh));
      return fresh;
    };

    // Which route: decided now, answered only to the signed in (others get the sign-in page).
    let match: RouteMatch<Call, HttpResult> | undefined;
    let unrouted: unknown;
    try {
      match = router.resolve(event);
    } catch (error) {
      unrouted = error;
    }
    const call = { ctx, session, body: {}, cookies, page, mintAnon } as Omit<Call, 'principal'>;
    // Sign-in is the one route before a session.
    if (match?.route === loginRoute) return match.run(call as Call);

    if (!session.principal) {
      const anonCsrf = session.binding === 'anon' && csrf ? csrf : mintAnon();
      const status = path === base && method === 'GET' && !session.refused ? 200 : 401;
      return htmlResponse(status, signInPage({ ...ctx, csrf: anonCsrf }, session.refused), CONSOLE_CSP, { 'www-authenticate': 'Bearer' }, [
        ...cookies,
        ...(session.refused ? [cookie(SESSION_COOKIE, '', 0)] : []),
      ]);
    }
    const principal = session.principal;
    if (!hasPermission(principal, 'read')) return page(403, errorPage(ctx, 'Not allowed', 'This needs the auditor or ops role.'));

    let body: Record<string, unknown> = {};
    if (method === 'POST') {
      body = parseBody(event);
      if (session.viaCookie) {
        const given = typeof body.csrf === 'string' ? body.csrf : undefined;
        if (!given || given !== existingCsrf || !csrfValid(given, session.binding)) {
          logger.info('console csrf refused', { route: routeTemplate(event), ...correlation(event) });
          return page(403, errorPage(ctx, 'The form expired', 'Reload the page and try again.'));
        }
      }
    }
    if (!match) {
      const { problem, headers } = errorToProblem(unrouted);
      if (problem.status >= 500) throw unrouted;
      return page(problem.status, errorPage(ctx, problem.title), [], headers);
    }
    return match.run({ ...call, principal, body });
  }

  /**
   * Ends the session server-side until its token would have expired anyway.
   * @throws whatever the store throws: a sign-out that could not be recorded must not look done.
   */
  async function revoke(token: string): Promise<void> {
    let exp: number | undefined;
    try {
      exp = decodeJwt(token).exp;
    } catch {
      exp = undefined;
    }
    // The token verified a moment ago, so it has an `exp`; a day is the fallback should it not.
    const expiresAt = new Date(typeof exp === 'number' ? exp * 1000 : deps.clock.now().getTime() + 86_400_000);
    await deps.sessions.revoke(sessionIdOf(token), expiresAt);
  }

  function correlation(event: HttpEvent): Record<string, string> {
    const id = httpRequestIdOf(event);
    return id ? { httpRequestId: id } : {};
  }

  function actionsFor(principal: StaffPrincipal, request: Parameters<typeof allowedActions>[0]): Action[] {
    if (!hasPermission(principal, 'act')) return [];
    const allowed = allowedActions(request, deps.clock.now());
    return ACTIONS.filter((a) => allowed[a]);
  }

  async function dashboard(ctx: PageContext, principal: StaffPrincipal, flash: string | undefined): Promise<SafeHtml> {
    const now = deps.clock.now();
    const report = await buildReport(deps);
    const days: DaySeries[] = [];
    const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 29));
    for (let i = 0; i < 30; i++) days.push({ day: new Date(start.getTime() + i * 86_400_000).toISOString().slice(0, 10), counts: {} });
    const byDay = new Map(days.map((d) => [d.day, d]));
    for await (const items of iterateRequests(deps, { from: start.toISOString() })) {
      for (const r of items) {
        const d = byDay.get(r.receivedAt.slice(0, 10));
        if (d) d.counts[r.status] = (d.counts[r.status] ?? 0) + 1;
      }
    }
    const open = REQUEST_STATUSES.filter((s: RequestStatus) => !FINAL_STATUSES.includes(s));
    const overdue = await listRequests(deps, { overdue: true }, { limit: 10 });
    const dueSoon = await listRequests(deps, { statuses: open }, { limit: 10 }, (r) => isDueWithin(r.dueAt, now, 7));
    // Completed, but the read-back found the subject's data: ops retry these.
    const dataFound = await listRequests(deps, { statuses: ['COMPLETED'], includeCanary: true }, { limit: 10 }, (r) => r.verification?.stage === 'data-found');
    return dashboardPage(ctx, {
      report,
      chart: days,
      overdue: overdue.items.map((r) => toView(r, now)),
      dueSoon: dueSoon.items.map((r) => toView(r, now)),
      dataFound: dataFound.items.map((r) => toView(r, now)),
      canAct: hasPermission(principal, 'act'),
      flash,
    });
  }

  return async (event) => {
    try {
      return await handle(event);
    } catch (error) {
      const { problem, headers } = errorToProblem(error);
      if (problem.status >= 500) logger.error('console failed', failureLogFields(event, error));
      const ctx: PageContext = { basePath: base, csrf: '' };
      return htmlResponse(problem.status, errorPage(ctx, problem.title, problem.status < 500 ? problem.detail : undefined), CONSOLE_CSP, headers);
    }
  };
}
