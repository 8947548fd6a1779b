/**
 * The one route-table builder of the HTTP entries (public API, audit API, ops API, console), over
 * middy's own router (`@middy/http-router`): a table of `{ method, path, handler }`, matched as
 * middy matches (static paths first, then `{param}` segments, one optional trailing slash).
 *
 * Middy answers an unknown route with a plain 404 and has no 405; here a path no route has is a
 * `RouteNotFoundError` and a known path asked with another method a `MethodNotAllowedError`
 * naming the methods it has (`Allow`). Both reach the caller through the one problem table
 * (`problems.ts`), worded for the subject or for staff like every other error.
 *
 * Matching and running are separate (`resolve`, then `run`): the console decides who may see the
 * routing answer (a caller without a session gets the sign-in page whatever the path).
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import httpRouterHandler from '@middy/http-router';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS' | 'HEAD';

/** The order methods are named in an `Allow` header. */
const METHOD_ORDER: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];

/** Path parameters as the caller sent them (still percent-encoded: each handler decodes its own). */
export type PathParams = Readonly<Record<string, string>>;

export interface RouteSpec<C, R = APIGatewayProxyStructuredResultV2> {
  method: HttpMethod | readonly HttpMethod[];
  /** A path in API Gateway's notation: `/audit/requests/{id}`. */
  path: string;
  handler: (event: APIGatewayProxyEventV2, params: PathParams, context: C) => Promise<R>;
}

/** No route has this path, whatever the method. */
export class RouteNotFoundError extends Error {
  constructor() {
    super('No such route');
    this.name = 'RouteNotFoundError';
  }
}

/** The path has routes, none for this method; `allow` names the methods it has. */
export class MethodNotAllowedError extends Error {
  constructor(readonly allow: readonly HttpMethod[]) {
    super('Method not allowed');
    this.name = 'MethodNotAllowedError';
  }
}

export interface RouteMatch<C, R = APIGatewayProxyStructuredResultV2> {
  route: RouteSpec<C, R>;
  params: PathParams;
  run(context: C): Promise<R>;
}

export interface Router<C, R = APIGatewayProxyStructuredResultV2> {
  /**
   * The route of `event`.
   * @throws RouteNotFoundError when no route has the path; MethodNotAllowedError when routes have it, none with this method.
   */
  resolve(event: APIGatewayProxyEventV2): RouteMatch<C, R>;
  /** `resolve(event).run(context)`, with the same errors. */
  handle(event: APIGatewayProxyEventV2, context: C): Promise<R>;
}

export interface RouterOptions {
  /**
   * The path to match, from the event; default `rawPath` as sent (middy forgives one trailing
   * slash). An empty path matches no route.
   */
  pathOf?: (event: APIGatewayProxyEventV2) => string;
}

/** What middy's router sees: the method and path only; the real event travels beside it. */
interface Probe {
  version: '2.0';
  requestContext: { http: { method: string; path: string } };
  pathParameters?: Record<string, string>;
}

type Matcher<T> = (probe: Probe) => T | undefined;

/** Middy's router used as a matcher: each route's handler returns the route's value. */
function matcher<T>(routes: { method: HttpMethod | 'ANY'; path: string; value: T }[]): Matcher<T> {
  const handler = httpRouterHandler({
    routes: routes.map((r) => ({ method: r.method, path: r.path, handler: () => r.value })),
    notFoundResponse: () => undefined,
  } as never) as unknown as (probe: Probe, context: unknown) => T | undefined;
  return (probe) => handler(probe, {});
}

/** Builds a router over `routes`. Paths and methods are checked by middy when the router is built. */
export function createRouter<C = void, R = APIGatewayProxyStructuredResultV2>(routes: readonly RouteSpec<C, R>[], options: RouterOptions = {}): Router<C, R> {
  const pathOf = options.pathOf ?? ((event: APIGatewayProxyEventV2) => event.rawPath || '/');
  const methodsOf = (route: RouteSpec<C, R>): readonly HttpMethod[] => (typeof route.method === 'string' ? [route.method] : route.method);

  const byMethod = matcher(routes.flatMap((route) => methodsOf(route).map((method) => ({ method, path: route.path, value: route }))));
  function resolve(event: APIGatewayProxyEventV2): RouteMatch<C, R> {
    const path = pathOf(event);
    if (!path) throw new RouteNotFoundError();
    const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
    const matched: Probe = { version: '2.0', requestContext: { http: { method, path } } };
    const route = byMethod(matched);
    if (route) {
      const params: PathParams = { ...(matched.pathParameters ?? {}) };
      return { route, params, run: (context) => route.handler(event, params, context) };
    }
    // The methods this path has: the same matching, asked with each method.
    const allow = METHOD_ORDER.filter((m) => byMethod({ version: '2.0', requestContext: { http: { method: m, path } } }) !== undefined);
    if (allow.length === 0) throw new RouteNotFoundError();
    throw new MethodNotAllowedError(allow);
  }

  return {
    resolve,
    handle: (event, context) => resolve(event).run(context),
  };
}
