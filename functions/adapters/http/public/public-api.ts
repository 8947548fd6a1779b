/**
 * The public HTTP API as one function of an API Gateway v2 event: routes, content negotiation
 * (pages for browsers, JSON and problem+json for programs), CSRF for the form, and the mapping
 * of every error to an answer that reveals nothing internal. The Lambda handler and the local
 * runtime both wrap `createPublicApi(deps)`.
 *
 * Browser or program? Pages go to callers whose `Accept` names `text/html` (browsers always do);
 * everyone else gets JSON / problem+json. A form post that fails validation in a browser gets the
 * form again (422) with the messages and the input kept.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { HttpProblem, INTERNAL_PROBLEM, problem, type FieldError, type Problem } from '../shared/problem';
import { createRouter } from '../shared/router';
import {
  assetResponse,
  header,
  htmlResponse,
  jsonResponse,
  parseBody,
  problemResponse,
  queryParam,
  readCookies,
  redirect,
  wantsJson,
  type HttpResult,
} from '../shared/messages';
import { checkCsrf, csrfCookieName, isSecureBase, issueCsrf } from '../../../intake/links';
import { publicOpenApiDocument } from './openapi';
import { problemOf, validationProblem } from '../shared/problems';
import { checkEmailPage, confirmPage, errorPage, formPage, formValuesFrom, statusPage } from './pages';
import { formFieldsToInput } from '../../../intake/schema';
import { SITE_CSS } from './site-css';
import { getStatus } from '../../../intake/get-status';
import { checkEmailFacts, siteOf, type IntakeDeps } from '../../../intake/intake-deps';
import { submitRequest } from '../../../intake/submit-request';
import { previewVerification, verifyRequest } from '../../../intake/verify-request';

export type PublicApiDeps = IntakeDeps;
export type PublicApi = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/** The page a form submission lands on, whatever the address (no status link there: it goes by email). */
export const CHECK_EMAIL_PATH = '/check-email';

export const CSRF_PROBLEM: Problem = problem(403, 'csrf-failed', 'The form has expired or did not come from this site', 'Reload the form and send it again.');

/** The public paths match with any number of trailing slashes removed (`/` stays `/`). */
function publicPathOf(event: APIGatewayProxyEventV2): string {
  const rawPath = event.rawPath || '/';
  return rawPath.length > 1 ? rawPath.replace(/\/+$/, '') : rawPath;
}

/** True when the caller is a browser that wants a page rather than JSON. */
function wantsHtml(event: APIGatewayProxyEventV2): boolean {
  return (header(event, 'accept') ?? '').toLowerCase().includes('text/html') && !wantsJson(event);
}

/**
 * The public API. `deps` are the intake's ports and configuration (see `IntakeDeps`); the
 * returned function never throws: every failure becomes an answer.
 */
export function createPublicApi(deps: PublicApiDeps): PublicApi {
  const site = siteOf(deps);
  const secure = isSecureBase(deps.publicBaseUrl);
  const baseUrl = deps.publicBaseUrl.replace(/\/+$/, '');
  const openApi = publicOpenApiDocument(baseUrl, deps.extraOpenApiPaths);

  const problemAnswer = (event: APIGatewayProxyEventV2, p: Problem, headers: Record<string, string> = {}): HttpResult =>
    wantsHtml(event) ? htmlResponse(p.status, errorPage(site, p.status, p.title, p.detail), { headers }) : problemResponse(p, headers);

  const failure = (event: APIGatewayProxyEventV2, error: unknown): HttpResult => {
    const known = problemOf(error, 'public');
    if (known) return problemAnswer(event, known.problem, known.headers);
    // The name only: messages of unexpected errors may carry data we must not log.
    deps.logger.error('unhandled error in the public API', { errorName: error instanceof Error ? error.name : typeof error, route: event.rawPath?.slice(0, 64) });
    return problemAnswer(event, INTERNAL_PROBLEM);
  };

  const showForm = (statusCode: number, errors: readonly FieldError[] = [], values = {}): HttpResult => {
    const csrf = issueCsrf(deps.linkKey, deps.clock.now(), secure);
    return htmlResponse(statusCode, formPage(site, { csrfToken: csrf.token, errors, values }), { cookies: [csrf.cookie] });
  };

  async function submit(event: APIGatewayProxyEventV2): Promise<HttpResult> {
    const client = { ip: event.requestContext?.http?.sourceIp ?? 'unknown', userAgent: header(event, 'user-agent') };
    const body = parseBody(event);
    if (body.kind === 'json') return jsonResponse(202, await submitRequest(deps, body.value, client));

    const browser = wantsHtml(event);
    // Double submit: the hidden field must match the cookie, and both must be ours and fresh.
    const csrfField = body.fields.get('csrf');
    body.fields.delete('csrf');
    const crossSite = header(event, 'sec-fetch-site') === 'cross-site';
    const cookie = readCookies(event).get(csrfCookieName(secure));
    if (crossSite || csrfField?.length !== 1 || !checkCsrf(deps.linkKey, csrfField[0], cookie, deps.clock.now())) {
      return problemAnswer(event, CSRF_PROBLEM);
    }
    const values = formValuesFrom(body.fields);
    const { input, errors } = formFieldsToInput(body.fields);
    try {
      if (errors.length) throw new HttpProblem(validationProblem(errors));
      await submitRequest(deps, input, client);
      return redirect(`${baseUrl}${CHECK_EMAIL_PATH}`);
    } catch (error) {
      const known = problemOf(error, 'public');
      if (browser && known && (known.problem.status === 422 || known.problem.status === 503) && known.problem.errors) {
        return showForm(known.problem.status, known.problem.errors, values);
      }
      throw error;
    }
  }

  /** The link token of a confirmation (`POST /verify`): a form field or a JSON property named `token`. */
  function tokenFromBody(event: APIGatewayProxyEventV2): string | undefined {
    const body = parseBody(event);
    if (body.kind === 'json') {
      const token = (body.value as { token?: unknown } | null)?.token;
      return typeof token === 'string' ? token : undefined;
    }
    const field = body.fields.get('token');
    return field?.length === 1 ? field[0] : undefined;
  }

  const router = createRouter<void, HttpResult>(
    [
      { method: 'GET', path: '/', handler: async () => showForm(200) },
      { method: 'GET', path: '/assets/site.css', handler: async () => assetResponse(SITE_CSS, 'text/css; charset=utf-8') },
      { method: 'GET', path: '/openapi.json', handler: async () => jsonResponse(200, openApi, { 'cache-control': 'public, max-age=300' }) },
      { method: 'GET', path: '/.well-known/jwks.json', handler: async () => jsonResponse(200, { keys: [await deps.signer.publicJwk()] }, { 'cache-control': 'public, max-age=300' }) },
      { method: 'POST', path: '/requests', handler: submit },
      { method: 'GET', path: CHECK_EMAIL_PATH, handler: async () => htmlResponse(200, checkEmailPage(site, checkEmailFacts(deps))) },
      { method: 'POST', path: '/verify', handler: async (event) => redirect((await verifyRequest(deps, tokenFromBody(event))).statusUrl) },
      {
        method: 'GET',
        path: '/verify',
        handler: async (event) => {
          // Opening the link only looks: the person confirms with the page's button.
          const token = queryParam(event, 'token');
          const preview = await previewVerification(deps, token);
          if (preview.state === 'done') return redirect(preview.statusUrl);
          if (wantsJson(event)) return jsonResponse(200, { status: 'AWAITING_VERIFICATION', confirm: 'POST /verify with this token (form field or JSON "token") to confirm the erasure.' });
          return htmlResponse(200, confirmPage(site, { token: token!, scope: preview.scope }));
        },
      },
      {
        method: 'GET',
        path: '/requests/{id}',
        handler: async (event, params) => {
          let id: string;
          try {
            id = decodeURIComponent(params.id!);
          } catch {
            id = '';
          }
          const view = await getStatus(deps, id, queryParam(event, 'token'));
          if (wantsJson(event)) return jsonResponse(200, view);
          return htmlResponse(200, statusPage(site, view, { publicKeyUrl: `${baseUrl}/.well-known/jwks.json` }));
        },
      },
    ],
    { pathOf: publicPathOf },
  );

  const route = (event: APIGatewayProxyEventV2): Promise<HttpResult> => router.handle(event, undefined);

  return async (event) => {
    try {
      return await route(event);
    } catch (error) {
      return failure(event, error);
    }
  };
}
