/**
 * Every Lambda starts with exactly the environment the stack gives it: each function of the
 * synthesized template runs its deployed bundle with the template's variables (references resolved
 * to the local stand-ins of the same resources) plus only what the Lambda runtime provides, and is
 * invoked once. A variable the code needs but the stack does not give fails here as it would in
 * AWS (sign-checkpoints without APP_SECRET_ARN did). Checkpoints are then written by the deployed
 * signer and compared by every function that shows a chain check.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_NAMES, type FunctionName } from '../../infra/constructs/functions';
import { DEMO_BOTS } from '../../infra/local/kore-sim';
import { lambdaRuntimeEnvironment, resolveCfnValue } from '../../infra/local/lambda-service';
import { raw } from '../reliability/harness';
import { auditDetail, freshEmail, startE2eRuntime, submitAndVerify, waitForStatus, type E2eRuntime } from './support';

let runtime: E2eRuntime;

beforeAll(async () => {
  runtime = await startE2eRuntime({ canary: { userId: 'env-canary@example.com', botIds: [DEMO_BOTS.support.botId] } });
});
afterAll(async () => runtime?.close());

/** Values replaced on purpose (hosts outside the stack), named in lambda-service.ts. */
const SEAMS = new Set(['KORE_BASE_URL', 'STAFF_ISSUER', 'STAFF_AUDIENCE', 'STAFF_JWKS_URL']);

function apiEvent(method: string, path: string, headers: Record<string, string> = {}): Record<string, unknown> {
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: { host: new URL(runtime.url).host, accept: 'text/html', ...headers },
    requestContext: { http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'env-test' }, requestId: 'env-test', routeKey: `${method} ${path}`, stage: '$default' },
    isBase64Encoded: false,
  };
}

describe('function environments', () => {
  it('deploys every function, each with exactly the template’s variables plus the Lambda runtime’s own', () => {
    const deployed = runtime.lambdas.functions();
    expect(deployed.map((f) => f.name).sort()).toEqual([...FUNCTION_NAMES].sort());
    for (const fn of deployed) {
      const resource = runtime.template.Resources[fn.logicalId]!;
      const variables = (resource.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(Object.keys(fn.environment).sort(), fn.name).toEqual(Object.keys(variables).sort());
      for (const [key, value] of Object.entries(variables)) {
        if (!SEAMS.has(key)) expect(fn.environment[key], `${fn.name} ${key}`).toBe(resolveCfnValue(runtime.template, value, runtime.url));
      }
      // What the container adds is the Lambda runtime's variables and the SDK endpoints, nothing of the app's.
      const added = Object.keys(lambdaRuntimeEnvironment(fn, '/task', {}));
      expect(added.filter((k) => k in variables), fn.name).toEqual([]);
    }
  });

  it('starts every function’s bundle with that environment and invokes it once', async () => {
    const events: Record<FunctionName, unknown> = {
      'public-api': apiEvent('GET', '/'),
      'audit-api': apiEvent('GET', '/audit/requests'),
      'ops-api': apiEvent('GET', '/ops/requests'),
      console: apiEvent('GET', '/console'),
      // A task asked about a request that does not exist: it must get far enough to look.
      'submit-erasure': { requestId: 'env-test-missing', attempt: 1 },
      'check-erasure-status': { requestId: 'env-test-missing', attempt: 1, koreRequestId: 'eud-missing' },
      'record-outcome': { requestId: 'env-test-missing', attempt: 1, outcome: 'COMPLETED', state: { requestId: 'env-test-missing', attempt: 1 } },
      'refresh-roles-snapshot': {},
      'sweep-requests': {},
      'run-canary': {},
      'sign-checkpoints': {},
      'verify-erasures': {},
    };
    const outcomes: Record<string, string> = {};
    for (const name of FUNCTION_NAMES) {
      try {
        const result = (await runtime.invoke(name, events[name])) as { statusCode?: number } | null;
        outcomes[name] = result && typeof result === 'object' && 'statusCode' in result ? `HTTP ${result.statusCode}` : 'ok';
      } catch (error) {
        outcomes[name] = (error as Error).name;
      }
    }
    expect(outcomes).toEqual({
      'public-api': 'HTTP 200',
      'audit-api': 'HTTP 401',
      'ops-api': 'HTTP 401',
      console: 'HTTP 200',
      // Nothing to do for a request that does not exist: named, not a configuration failure.
      'submit-erasure': 'RequestNotActiveError',
      'check-erasure-status': 'RequestNotActiveError',
      'record-outcome': 'ok',
      'refresh-roles-snapshot': 'ok',
      'sweep-requests': 'ok',
      'run-canary': 'ok',
      'sign-checkpoints': 'ok',
      'verify-erasures': 'ok',
    });
  });

  it('writes checkpoints with the deployed signer and compares them in the audit API and the console', async () => {
    const requestId = await submitAndVerify(runtime.url, freshEmail('env-checkpoint'));
    await waitForStatus(runtime, requestId, ['COMPLETED']);
    await new Promise((r) => setTimeout(r, 5));
    await runtime.invoke('sign-checkpoints');
    const detail = (await auditDetail(runtime, requestId)) as unknown as { chain: { verdict: string } };
    expect(detail.chain.verdict).toBe('VERIFIED');
    const page = await raw(`${runtime.url}/console/requests/${requestId}`, { headers: { authorization: `Bearer ${runtime.auditorToken}`, accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<p id="chain" data-verdict="VERIFIED"/);
  });
});
