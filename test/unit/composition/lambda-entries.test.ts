/**
 * The Lambda entries wired to AWS, with every SDK client mocked (aws-sdk-client-mock): the
 * application is built from the function's environment and secrets once per container, each
 * entry reaches the right part, and a function missing a capability fails loudly and by name.
 */
import { generateKeyPairSync } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
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
const kms = mockClient(KMSClient);
const s3 = mockClient(S3Client);

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
  vi.stubEnv('RECEIPT_SIGNING_KEY_ID', 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab');
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
  kms.reset();
  s3.reset();
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

  it('refuses to start without a variable of a declared capability, naming it', async () => {
    const { baseAdapters } = await import('../../../functions/composition/aws/environment');
    const { publicApiOnAws } = await import('../../../functions/composition/public-api');
    await expect(publicApiOnAws.build({ APP_SECRET_ARN })).rejects.toMatchObject({ name: 'ConfigurationError', message: expect.stringContaining('TABLE_NAME') });
    await expect(publicApiOnAws.build({ TABLE_NAME: 't' })).rejects.toMatchObject({ name: 'ConfigurationError', message: expect.stringContaining('APP_SECRET_ARN') });
    expect(() => baseAdapters({ TABLE_NAME: 't', APP_SECRET_ARN }, ['table', 'appSecret', 'checkpoints'])).toThrowError(expect.objectContaining({
      name: 'ConfigurationError',
      message: expect.stringContaining('CHECKPOINT_BUCKET'),
    }));
  });

  it('refresh-roles-snapshot refuses to start without its Kore.ai configuration, by name', async () => {
    const { handler } = await import('../../../functions/refresh-roles-snapshot');
    await expect(handler({}, context)).rejects.toMatchObject({ name: 'ConfigurationError', message: expect.stringMatching(/KORE_BASE_URL \(capability kore\)/) });
  });

  it('a function without the Kore.ai capability fails by name when the code reaches for it', async () => {
    const { baseAdapters } = await import('../../../functions/composition/aws/environment');
    const { appKeysFrom } = await import('../../../functions/composition/aws/secrets');
    const { composeRefreshRolesSnapshot } = await import('../../../functions/composition/refresh-roles-snapshot');
    const env = { TABLE_NAME: 't', APP_SECRET_ARN };
    const refresh = composeRefreshRolesSnapshot({ ...baseAdapters(env, ['table', 'appSecret']), ...(await appKeysFrom(env)) });
    await expect(refresh()).rejects.toMatchObject({ name: 'ConfigurationError', message: expect.stringMatching(/Kore\.ai/) });
  });

  it('sign-checkpoints signs and writes a checkpoint without holding the app secret', async () => {
    const { signCheckpointsOnAws } = await import('../../../functions/composition/sign-checkpoints');
    const { FUNCTION_CAPABILITIES } = await import('../../../functions/adapters/env/capabilities');
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    kms.on(GetPublicKeyCommand).resolves({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ECDSA_SHA_256'], PublicKey: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })) });
    // A well-formed DER signature (r = s = 1); nothing verifies it here.
    kms.on(SignCommand).resolves({ SigningAlgorithm: 'ECDSA_SHA_256', Signature: Uint8Array.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]) });
    s3.on(PutObjectCommand).resolves({});
    s3.on(ListObjectsV2Command).resolves({});

    const signCheckpoints = await signCheckpointsOnAws.build({ TABLE_NAME: 't', CHECKPOINT_SIGNING_KEY_ID: 'key-1', CHECKPOINT_BUCKET: 'checkpoints' });
    const written = await signCheckpoints();

    expect(written).toMatchObject({ count: 0, key: expect.stringMatching(/^checkpoint-/) });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(1);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    expect(FUNCTION_CAPABILITIES['sign-checkpoints']).not.toContain('appSecret');
  });

  it('a function without the app secret fails by name when the code reaches for a subject key', async () => {
    const { baseAdapters } = await import('../../../functions/composition/aws/environment');
    const { composeConsole } = await import('../../../functions/composition/console');
    expect(() => composeConsole(baseAdapters({ TABLE_NAME: 't' }, ['table']))).toThrowError(expect.objectContaining({ name: 'ConfigurationError', message: expect.stringContaining('APP_SECRET_ARN') }));
  });
});
