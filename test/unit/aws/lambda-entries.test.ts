/**
 * The Lambda entries wired to AWS, with every SDK client mocked (aws-sdk-client-mock): the
 * application is built from the function's environment and secrets once per container, each
 * entry reaches the right part, and a function missing a capability fails loudly and by name.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

const secrets = mockClient(SecretsManagerClient);
const dynamo = mockClient(DynamoDBDocumentClient);
const cloudWatch = mockClient(CloudWatchClient);
const sfn = mockClient(SFNClient);

const APP_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-AbCdEf';
const context = { functionName: 'test', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

function httpEvent(method: string, path: string, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'erase.example.com', ...headers },
    requestContext: { http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'test' }, requestId: 'r', routeKey: '', stage: '$default', time: '', timeEpoch: 0, accountId: '', apiId: '', domainName: 'erase.example.com', domainPrefix: '' },
    isBase64Encoded: false,
  } as APIGatewayProxyEventV2;
}

beforeAll(() => {
  vi.stubEnv('TABLE_NAME', 'erasure-desk-audit');
  vi.stubEnv('APP_SECRET_ARN', APP_SECRET_ARN);
  vi.stubEnv('PUBLIC_BASE_URL', 'https://erase.example.com');
  vi.stubEnv('STATE_MACHINE_ARN', 'arn:aws:states:eu-west-1:123456789012:stateMachine:Erasure');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
});

beforeEach(() => {
  secrets.on(GetSecretValueCommand, { SecretId: APP_SECRET_ARN }).resolves({ SecretString: JSON.stringify({ subjectKey: 'k'.repeat(32), linkKey: 'l'.repeat(48) }) });
  dynamo.on(QueryCommand).resolves({ Items: [] });
  dynamo.on(GetCommand).resolves({});
  cloudWatch.on(PutMetricDataCommand).resolves({});
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn', startDate: new Date() });
});

afterEach(() => {
  secrets.reset();
  dynamo.reset();
  cloudWatch.reset();
  sfn.reset();
});

describe('Lambda entries', () => {
  it('public-api serves the form, having read the app secret once', async () => {
    const { handler } = await import('../../../functions/public-api');
    const first = (await handler(httpEvent('GET', '/', { accept: 'text/html' }), context)) as APIGatewayProxyStructuredResultV2;
    const second = (await handler(httpEvent('GET', '/', { accept: 'text/html' }), context)) as APIGatewayProxyStructuredResultV2;
    expect(first.statusCode).toBe(200);
    expect(first.body).toContain('<form method="post" action="/requests"');
    expect(second.statusCode).toBe(200);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('public-api answers an unknown status link with the same 404 as a wrong token, after one read', async () => {
    const { handler } = await import('../../../functions/public-api');
    const result = (await handler(httpEvent('GET', '/requests/01a212aa-8b5f-7d5f-b51b-6f9bdc33ebfb', { accept: 'application/json' }), context)) as APIGatewayProxyStructuredResultV2;
    expect(result.statusCode).toBe(404);
    expect(result.headers?.['content-type']).toMatch(/problem\+json/);
  });

  it('sweep-requests queries every status partition and publishes the overdue count', async () => {
    const { handler } = await import('../../../functions/sweep-requests');
    const report = await handler({}, context);
    expect(report).toMatchObject({ overdue: 0, started: 0, redriven: 0 });
    const metric = cloudWatch.commandCalls(PutMetricDataCommand)[0]!.args[0].input;
    expect(metric).toMatchObject({ Namespace: 'ErasureDesk', MetricData: [expect.objectContaining({ MetricName: 'OverdueRequests', Value: 0 })] });
    expect(dynamo.commandCalls(QueryCommand).every((c) => c.args[0].input.IndexName === 'byStatus')).toBe(true);
  });

  it('refuses to start without its table or its app secret, naming what is missing', async () => {
    const { buildAwsApplication } = await import('../../../functions/commons/aws-application');
    await expect(buildAwsApplication({ APP_SECRET_ARN })).rejects.toMatchObject({ name: 'ConfigurationError', message: expect.stringContaining('TABLE_NAME') });
    await expect(buildAwsApplication({ TABLE_NAME: 't' })).rejects.toMatchObject({ name: 'ConfigurationError', message: expect.stringContaining('APP_SECRET_ARN') });
  });

  it('a function without the Kore.ai capability fails by name when the code reaches for it', async () => {
    const { handler } = await import('../../../functions/refresh-roles-snapshot');
    await expect(handler({}, context)).rejects.toMatchObject({ name: 'ConfigurationError', message: expect.stringMatching(/Kore\.ai/) });
  });
});
