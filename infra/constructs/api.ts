import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from './nag';
import type { StaffIdentitySettings } from './staff-identity';

type Method = 'GET' | 'POST';
/** One API route: method, path, and whether API Gateway checks the staff JWT before the Lambda runs. */
export interface RouteSpec {
  readonly method: Method;
  readonly path: string;
  readonly handler: 'public-api' | 'audit-api' | 'ops-api' | 'console';
  readonly staffJwt: boolean;
}

/** Every route of the HTTP API (the same table the local runtime serves). */
export const ROUTES: readonly RouteSpec[] = [
  ...(
    [
      ['GET', '/'],
      ['POST', '/requests'],
      ['GET', '/check-email'],
      ['GET', '/verify'],
      ['POST', '/verify'],
      ['GET', '/requests/{id}'],
      ['GET', '/openapi.json'],
      // The pages' stylesheet and the public key that verifies receipts.
      ['GET', '/assets/site.css'],
      ['GET', '/.well-known/jwks.json'],
    ] as const
  ).map(([method, path]) => ({ method, path, handler: 'public-api' as const, staffJwt: false })),
  ...(
    [
      ['GET', '/audit/requests'],
      ['GET', '/audit/requests/{id}'],
      ['GET', '/audit/export'],
      ['GET', '/audit/report'],
    ] as const
  ).map(([method, path]) => ({ method, path, handler: 'audit-api' as const, staffJwt: true })),
  ...(
    [
      ['GET', '/ops/requests'],
      ['POST', '/ops/requests'],
      ['POST', '/ops/requests/{id}/retry'],
      ['POST', '/ops/retry'],
      ['POST', '/ops/requests/{id}/cancel'],
      ['POST', '/ops/requests/{id}/recheck'],
      ['POST', '/ops/requests/{id}/extend'],
      ['POST', '/ops/requests/{id}/revoke-links'],
      ['POST', '/ops/requests/{id}/verify'],
      ['POST', '/ops/roles/refresh'],
    ] as const
  ).map(([method, path]) => ({ method, path, handler: 'ops-api' as const, staffJwt: true })),
  ...(
    [
      ['GET', '/console'],
      ['GET', '/console/{proxy+}'],
      ['POST', '/console/{proxy+}'],
    ] as const
  ).map(([method, path]) => ({ method, path, handler: 'console' as const, staffJwt: false })),
];

export interface ApiProps {
  readonly handlers: Record<RouteSpec['handler'], lambda.IFunction>;
  readonly staff: StaffIdentitySettings;
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
}

/**
 * The HTTP API. Staff routes (/audit/*, /ops/*) are guarded by a JWT authorizer that checks
 * signature, issuer, audience and expiry at the edge; it asks for no OAuth scopes because roles
 * (`auditor`, `ops`) are checked inside the Lambdas from the configured roles claim — the
 * authorizer only keeps anonymous traffic away from them. Public routes and the console (which
 * authenticates itself with a bearer or cookie token so it can serve its own login page) have
 * no authorizer. CORS is not configured: every page is same-origin.
 */
export class Api extends Construct {
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      description: 'Erasure desk: public intake, auditor and ops APIs, console',
      createDefaultStage: false,
    });
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.SIX_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // No client IP, path or query string: the query carries verification tokens and the
    // access log must not hold personal data.
    const format = AccessLogFormat.custom(
      JSON.stringify({
        requestId: '$context.requestId',
        requestTime: '$context.requestTime',
        routeKey: '$context.routeKey',
        status: '$context.status',
        protocol: '$context.protocol',
        responseLength: '$context.responseLength',
        responseLatency: '$context.responseLatency',
        integrationLatency: '$context.integrationLatency',
        integrationError: '$context.integrationErrorMessage',
        authorizerError: '$context.authorizer.error',
      }),
    );
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttle.rateLimit, burstLimit: props.throttle.burstLimit },
      accessLogSettings: { destination: new apigwv2.LogGroupLogDestination(this.accessLogs), format },
    });

    const authorizer = new HttpJwtAuthorizer('StaffJwt', props.staff.issuer, {
      jwtAudience: [props.staff.audience],
      identitySource: ['$request.header.Authorization'],
    });
    const integrations = new Map<string, HttpLambdaIntegration>();
    for (const route of ROUTES) {
      let integration = integrations.get(route.handler);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${route.handler}Integration`, props.handlers[route.handler], {
          payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
        });
        integrations.set(route.handler, integration);
      }
      const [created] = this.httpApi.addRoutes({
        path: route.path,
        methods: [apigwv2.HttpMethod[route.method]],
        integration,
        authorizer: route.staffJwt ? authorizer : undefined,
      });
      if (!route.staffJwt && created) {
        acknowledge(
          created,
          'AwsSolutions-APIG4',
          route.handler === 'console'
            ? 'The console serves its own sign-in page and verifies the staff bearer/cookie token itself (issuer, audience, algorithms pinned, roles claim), so it cannot sit behind the JWT authorizer.'
            : 'Public data-subject route: the subject has no account; identity is proven by the emailed single-use signed link, and abuse is bounded by stage throttling, CSRF defence and per-subject rate limits.',
        );
      }
    }
    // Any other path or method reaches the public function, which answers with its own 404 and
    // 405 pages (HTML with the security headers, or problem+json) instead of API Gateway's bare
    // `{"message":"Not Found"}`. Staff paths never fall through to a staff function.
    const fallback = new apigwv2.HttpRoute(this, 'DefaultRoute', {
      httpApi: this.httpApi,
      routeKey: apigwv2.HttpRouteKey.DEFAULT,
      integration: integrations.get('public-api')!,
    });
    acknowledge(
      fallback,
      'AwsSolutions-APIG4',
      'Catch-all route to the public function, which only answers 404/405 pages for unknown paths and methods; no staff data is reachable through it.',
    );
  }

  /** The API's own https origin (used as PUBLIC_BASE_URL when none is configured). */
  get url(): string {
    return this.httpApi.apiEndpoint;
  }
}
