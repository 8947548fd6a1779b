/**
 * The HTTP API's routes, read from the synthesized template, matched as API Gateway (HTTP API)
 * matches them: exact paths first, then paths with `{param}` segments, then greedy `{proxy+}`,
 * then the `$default` route. Without one, API Gateway answers `404 {"message":"Not Found"}`.
 */
import type { CfnTemplate } from '../synth';

export interface HttpApiRoute {
  routeKey: string;
  method: string;
  segments: string[];
  /** Logical id of the Lambda function behind the route's integration. */
  functionLogicalId: string;
  /** JWT authorizer in front (staff routes). */
  authorized: boolean;
}

export interface RouteMatch {
  route: HttpApiRoute;
  pathParameters?: Record<string, string>;
}

/** @throws Error when a route's integration is not a Lambda proxy of the template. */
export function httpApiRoutes(template: CfnTemplate): HttpApiRoute[] {
  const routes: HttpApiRoute[] = [];
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::ApiGatewayV2::Route') continue;
    const props = resource.Properties ?? {};
    const routeKey = String(props.RouteKey);
    const [method = '', path = ''] = routeKey === '$default' ? ['$default', ''] : routeKey.split(' ');
    const target = JSON.stringify(props.Target);
    const integrationId = /"Ref":"([^"]+)"/.exec(target)?.[1];
    const uri = integrationId ? (template.Resources[integrationId]?.Properties?.IntegrationUri as { 'Fn::GetAtt'?: [string, string] } | undefined) : undefined;
    const functionLogicalId = uri?.['Fn::GetAtt']?.[0];
    if (!functionLogicalId) throw new Error(`Route ${routeKey} has no Lambda integration`);
    routes.push({ routeKey, method, segments: path.split('/').slice(1), functionLogicalId, authorized: props.AuthorizationType === 'JWT' });
  }
  return routes;
}

/** Rank of a route's specificity: exact < parameters < greedy (lower wins). */
function rank(route: HttpApiRoute): number {
  if (route.segments.some((s) => s.endsWith('+}'))) return 2;
  return route.segments.some((s) => s.startsWith('{')) ? 1 : 0;
}

/** The route API Gateway would pick for a method and raw path (else `$default`), with its path parameters. */
export function matchRoute(routes: HttpApiRoute[], method: string, rawPath: string): RouteMatch | undefined {
  const match = matchPath(routes, method, rawPath);
  if (match) return match;
  const fallback = routes.find((r) => r.routeKey === '$default');
  return fallback ? { route: fallback } : undefined;
}

function matchPath(routes: HttpApiRoute[], method: string, rawPath: string): RouteMatch | undefined {
  const parts = rawPath.split('/').slice(1);
  const candidates = routes.filter((r) => r.method === method.toUpperCase() || r.method === 'ANY').sort((a, b) => rank(a) - rank(b));
  for (const route of candidates) {
    const params: Record<string, string> = {};
    let matched = true;
    for (let i = 0; i < route.segments.length; i++) {
      const segment = route.segments[i]!;
      if (segment.endsWith('+}')) {
        const rest = parts.slice(i).join('/');
        if (!rest) matched = false;
        else params[segment.slice(1, -2)] = rest;
        break;
      }
      const part = parts[i];
      if (part === undefined) {
        matched = false;
        break;
      }
      if (segment.startsWith('{')) {
        if (!part) {
          matched = false;
          break;
        }
        params[segment.slice(1, -1)] = part;
      } else if (segment !== part) {
        matched = false;
        break;
      }
      if (i === route.segments.length - 1 && parts.length !== route.segments.length) matched = false;
    }
    if (route.segments.length === 0 && parts.length > 0) matched = false;
    if (matched) return { route, ...(Object.keys(params).length ? { pathParameters: params } : {}) };
  }
  return undefined;
}
