import {
  DecryptionFailure,
  GetSecretValueCommand,
  InternalServiceError,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { AwsServiceError, AwsServiceUnavailableError, ConfigurationError } from '../../../../functions/adapters/aws/errors';
import { DEFAULT_SECRET_TTL_MS, clearSecretCache, loadJsonSecret } from '../../../../functions/adapters/aws/secrets';

const sm = mockClient(SecretsManagerClient);
const SECRET_ID = 'erasure-desk/kore-app';
const CLIENT_SECRET = 'TopSecretValue-4f9a';
const meta = { $metadata: {} };

const koreAppSchema = z.object({ clientId: z.string().min(1), clientSecret: z.string().min(8) });
const validateKoreApp = (value: unknown) => koreAppSchema.parse(value);
const newClient = () => new SecretsManagerClient({ region: 'eu-west-1' });
const secretString = (value: unknown) => ({ SecretString: JSON.stringify(value), ARN: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${SECRET_ID}-AbCdEf`, Name: SECRET_ID });

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2025-06-01T12:00:00Z') });
});

afterEach(() => {
  sm.reset();
  clearSecretCache();
  vi.useRealTimers();
});

/** The error `promise` rejects with (fails the test when it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error as Error,
  );
  if (!outcome) throw new Error('expected a rejection');
  return outcome;
}

describe('loadJsonSecret', () => {
  it('returns the validated value of the secret', async () => {
    // Prepare
    sm.on(GetSecretValueCommand).resolves(secretString({ clientId: 'cs-123', clientSecret: CLIENT_SECRET }));

    // Act
    const value = await loadJsonSecret(newClient(), SECRET_ID, validateKoreApp);

    // Assess
    expect(value).toEqual({ clientId: 'cs-123', clientSecret: CLIENT_SECRET });
    expect(sm.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: SECRET_ID });
  });

  it('reuses the value within the TTL and fetches it again after', async () => {
    // Prepare
    sm.on(GetSecretValueCommand)
      .resolvesOnce(secretString({ subjectKey: 'k1', linkKey: 'l1' }))
      .resolves(secretString({ subjectKey: 'k2', linkKey: 'l2' }));
    const client = newClient();
    const validate = (v: unknown) => z.object({ subjectKey: z.string(), linkKey: z.string() }).parse(v);

    // Act
    const first = await loadJsonSecret(client, 'app', validate);
    vi.advanceTimersByTime(DEFAULT_SECRET_TTL_MS - 1);
    const cached = await loadJsonSecret(client, 'app', validate);
    vi.advanceTimersByTime(1);
    const refreshed = await loadJsonSecret(client, 'app', validate);

    // Assess
    expect(first.subjectKey).toBe('k1');
    expect(cached.subjectKey).toBe('k1');
    expect(refreshed.subjectKey).toBe('k2');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('honours a custom TTL', async () => {
    // Prepare
    sm.on(GetSecretValueCommand).resolves(secretString({ clientId: 'cs-1', clientSecret: CLIENT_SECRET }));
    const client = newClient();

    // Act
    await loadJsonSecret(client, SECRET_ID, validateKoreApp, { ttlMs: 1000 });
    vi.advanceTimersByTime(999);
    await loadJsonSecret(client, SECRET_ID, validateKoreApp, { ttlMs: 1000 });
    vi.advanceTimersByTime(1);
    await loadJsonSecret(client, SECRET_ID, validateKoreApp, { ttlMs: 1000 });

    // Assess
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('shares one fetch between concurrent callers', async () => {
    // Prepare
    sm.on(GetSecretValueCommand).resolves(secretString({ clientId: 'cs-1', clientSecret: CLIENT_SECRET }));
    const client = newClient();

    // Act
    const values = await Promise.all([1, 2, 3].map(() => loadJsonSecret(client, SECRET_ID, validateKoreApp)));

    // Assess
    expect(values.map((v) => v.clientId)).toEqual(['cs-1', 'cs-1', 'cs-1']);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('keeps secrets apart by id', async () => {
    // Prepare
    sm.on(GetSecretValueCommand, { SecretId: 'a' }).resolves({ SecretString: '{"v":"a"}' });
    sm.on(GetSecretValueCommand, { SecretId: 'b' }).resolves({ SecretString: '{"v":"b"}' });
    const client = newClient();
    const validate = (v: unknown) => z.object({ v: z.string() }).parse(v).v;

    // Act
    const [a, b] = [await loadJsonSecret(client, 'a', validate), await loadJsonSecret(client, 'b', validate)];

    // Assess
    expect([a, b]).toEqual(['a', 'b']);
  });

  it('does not keep a failed fetch: the next call asks again', async () => {
    // Prepare
    sm.on(GetSecretValueCommand)
      .rejectsOnce(new InternalServiceError({ message: 'busy', ...meta }))
      .resolves(secretString({ clientId: 'cs-1', clientSecret: CLIENT_SECRET }));
    const client = newClient();

    // Act
    const failure = await rejectionOf(loadJsonSecret(client, SECRET_ID, validateKoreApp));
    const value = await loadJsonSecret(client, SECRET_ID, validateKoreApp);

    // Assess
    expect(failure).toBeInstanceOf(AwsServiceUnavailableError);
    expect(value.clientId).toBe('cs-1');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it.each([
    { name: 'a missing secret', sdk: () => new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", ...meta }), expected: ConfigurationError },
    { name: 'a secret it cannot decrypt', sdk: () => new DecryptionFailure({ message: 'KMS says no', ...meta }), expected: ConfigurationError },
    {
      name: 'a denied read',
      sdk: () => new SecretsManagerServiceException({ name: 'AccessDeniedException', $fault: 'client', message: 'not authorized', ...meta }),
      expected: ConfigurationError,
    },
    { name: 'a busy service', sdk: () => new InternalServiceError({ message: 'busy', ...meta }), expected: AwsServiceUnavailableError },
    {
      name: 'throttling',
      sdk: () => new SecretsManagerServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', ...meta }),
      expected: AwsServiceUnavailableError,
    },
    {
      name: 'an unexpected client error',
      sdk: () => new SecretsManagerServiceException({ name: 'SomethingNew', $fault: 'client', message: 'odd', $metadata: { httpStatusCode: 400 } }),
      expected: AwsServiceError,
    },
  ])('translates $name into $expected.name', async ({ sdk, expected }) => {
    // Prepare
    sm.on(GetSecretValueCommand).rejects(sdk());

    // Act
    const error = await rejectionOf(loadJsonSecret(newClient(), SECRET_ID, validateKoreApp));

    // Assess
    expect(error).toBeInstanceOf(expected);
    if (expected === ConfigurationError) expect(error.message).toContain(SECRET_ID);
  });

  it.each([
    { name: 'has only a binary value', output: { SecretBinary: new Uint8Array([1, 2, 3]) }, says: 'has no string value' },
    { name: 'is an empty string', output: { SecretString: '' }, says: 'has no string value' },
    { name: 'is not JSON', output: { SecretString: `clientSecret=${CLIENT_SECRET}` }, says: 'is not valid JSON' },
    { name: 'is JSON of the wrong shape', output: secretString({ clientId: 'cs-1', clientSecret: 42, note: CLIENT_SECRET }), says: 'clientSecret' },
    { name: 'is a secret too short for its schema', output: secretString({ clientId: 'cs-1', clientSecret: CLIENT_SECRET.slice(0, 3) }), says: 'clientSecret' },
  ])('throws a ConfigurationError naming the secret but not its value when it $name', async ({ output, says }) => {
    // Prepare
    sm.on(GetSecretValueCommand).resolves(output);

    // Act
    const error = await rejectionOf(loadJsonSecret(newClient(), SECRET_ID, validateKoreApp));

    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.name).toBe('ConfigurationError');
    expect(error.message).toContain(SECRET_ID);
    expect(error.message).toContain(says);
    const everything = `${error.message} ${error.stack} ${String(error.cause)} ${JSON.stringify(error)}`;
    expect(everything).not.toContain(CLIENT_SECRET);
    expect(everything).not.toContain(CLIENT_SECRET.slice(0, 3) + '"');
  });

  it('does not quote what a hand-written validator says about the value', async () => {
    // Prepare
    sm.on(GetSecretValueCommand).resolves(secretString({ token: CLIENT_SECRET }));
    const leakyValidate = (v: unknown) => {
      throw new Error(`bad value ${JSON.stringify(v)}`);
    };

    // Act
    const error = await rejectionOf(loadJsonSecret(newClient(), SECRET_ID, leakyValidate));

    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(`${error.message} ${String(error.cause)}`).not.toContain(CLIENT_SECRET);
  });
});
