/**
 * The on-demand roles refresh of the console and the ops API runs in the refresh-roles-snapshot
 * function (Lambda Invoke, mocked here), so neither internet-facing function holds the Kore.ai
 * credentials or batch-writes the table.
 */
import { InvokeCommand, LambdaClient, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { composeApplication, type ApplicationAdapters } from '../../../../functions/composition/application';
import { LambdaRolesRefresher } from '../../../../functions/adapters/aws/lambda-roles-refresh';
import { deriveKeys } from '../../../../functions/domain/subject';
import { apiEvent, jsonOf } from '../../../support/staff-harness';
import { FakeSnapshots, FakeWorkflow, MutableClock, createTokenKit } from '../../../support/staff-fakes';
import { InMemoryAuditStore } from '../../../support/in-memory-audit-store';
import { silentLogger } from '../../../../functions/domain/ports';

const lambda = mockClient(LambdaClient);
const SNAPSHOT = { version: '20260301T120000Z-abc', takenAt: '2026-03-01T12:00:00.000Z', userCount: 120, identityCount: 7 };
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const refresher = () => new LambdaRolesRefresher({ client: new LambdaClient({ region: 'eu-west-1' }), functionName: 'erasure-desk-refresh' });

afterEach(() => {
  lambda.reset();
});

describe('LambdaRolesRefresher', () => {
  it('invokes the refresh function synchronously and returns the snapshot it wrote', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode(SNAPSHOT) as never });

    const info = await refresher().refresh();

    expect(info).toEqual(SNAPSHOT);
    expect(lambda.commandCalls(InvokeCommand)[0]!.args[0].input).toMatchObject({ FunctionName: 'erasure-desk-refresh', InvocationType: 'RequestResponse' });
  });

  it('reports a failed refresh by the name of its error, never its message', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: encode({ errorType: 'KoreAuthError', errorMessage: 'Kore.ai getUserRoles did not accept the credentials (401) for alice@example.com' }) as never,
    });

    const error = (await refresher().refresh().catch((e: unknown) => e)) as Error & { errorType?: string };

    expect(error).toMatchObject({ name: 'RolesRefreshFailedError', errorType: 'KoreAuthError' });
    expect(error.message).not.toContain('alice');
  });

  it('refuses an answer that is not a snapshot', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode({ version: 1 }) as never });

    await expect(refresher().refresh()).rejects.toMatchObject({ name: 'RolesRefreshFailedError' });
  });

  it('turns a throttled invocation into a retryable AWS error', async () => {
    lambda.on(InvokeCommand).rejects(new TooManyRequestsException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } }));

    await expect(refresher().refresh()).rejects.toMatchObject({ name: 'AwsServiceUnavailableError' });
  });
});

describe('composition', () => {
  it('lets the ops API refresh through rolesRefresh when given, without touching Kore.ai', async () => {
    const tokens = await createTokenKit();
    const refreshes: string[] = [];
    const refused = new Proxy({}, {
      get: () => () => {
        throw new Error('Kore.ai must not be called');
      },
    });
    const app = composeApplication({
      store: new InMemoryAuditStore(),
      claims: refused,
      tokens: refused,
      rateLimiter: refused,
      snapshots: new FakeSnapshots(SNAPSHOT),
      kore: refused,
      mailer: refused,
      signer: refused,
      workflow: new FakeWorkflow(),
      checkpointWriter: refused,
      staffAuth: tokens.auth,
      clock: new MutableClock(new Date('2026-03-01T12:05:00.000Z')),
      subjectKeys: deriveKeys('s'.repeat(32)),
      linkKey: new TextEncoder().encode('l'.repeat(48)),
      publicBaseUrl: 'https://erase.example.com',
      settings: { poll: { initialSeconds: 10, maxSeconds: 60, fraction: 0.25, deadlineSeconds: 600 }, snapshotMaxAgeSeconds: 3600, verificationTtlSeconds: 1800, stuckAfterSeconds: 900, receivedStaleSeconds: 900 },
      sessionRevocations: { revoke: async () => undefined, isRevoked: async () => false },
      logger: silentLogger,
      rolesRefresh: async () => {
        refreshes.push('invoked');
        return SNAPSHOT;
      },
    } as unknown as ApplicationAdapters);

    const result = await app.opsApi(apiEvent({ method: 'POST', path: '/ops/roles/refresh', body: { reason: 'ownership moved' }, token: await tokens.valid('ops') }));

    expect(result.statusCode).toBe(200);
    expect(jsonOf(result)).toMatchObject({ snapshot: SNAPSHOT, snapshotAgeSeconds: 300 });
    expect(refreshes).toEqual(['invoked']);
  });
});
