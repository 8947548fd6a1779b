/**
 * JSON secrets from AWS Secrets Manager (the Kore.ai app's `{ clientId, clientSecret }`, the
 * application's `{ subjectKey, linkKey }`), kept in the container for a while so a warm Lambda does
 * not call Secrets Manager on every invocation, yet picks up a rotated secret within the TTL.
 *
 * Nothing here ever puts a secret's value into a message, a log or an error's `cause`.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError, awsCall, awsErrorName } from './errors';

export const DEFAULT_SECRET_TTL_MS = 5 * 60 * 1000;

export interface LoadSecretOptions {
  /** How long a fetched secret is reused, default 5 minutes; 0 always fetches. */
  ttlMs?: number;
}

interface CacheEntry {
  /** The parsed JSON (not yet validated) once fetched. */
  value: Promise<unknown>;
  expiresAt: number;
}

/** Per client (so separate clients, e.g. in tests, never share), per secret id. */
let cache = new WeakMap<SecretsManagerClient, Map<string, CacheEntry>>();

/** Forgets every cached secret (tests; or after a rotation is known to have happened). */
export function clearSecretCache(): void {
  cache = new WeakMap();
}

/** Errors that mean the secret is not usable as configured (as opposed to Secrets Manager being busy). */
const CONFIGURATION_ERRORS: Record<string, string> = {
  ResourceNotFoundException: 'does not exist or has no current version',
  AccessDeniedException: 'may not be read by this function',
  DecryptionFailure: 'cannot be decrypted with its KMS key',
  InvalidRequestException: 'cannot be read now (e.g. it is scheduled for deletion)',
  InvalidParameterException: 'is not a valid secret id',
};

async function fetchJson(client: SecretsManagerClient, secretId: string): Promise<unknown> {
  const out = await awsCall(
    'SecretsManager',
    'GetSecretValue',
    () => client.send(new GetSecretValueCommand({ SecretId: secretId })),
    (error) => {
      const name = awsErrorName(error);
      const why = CONFIGURATION_ERRORS[name];
      return why ? new ConfigurationError(`Secret ${secretId} ${why} (${name})`, { cause: error }) : undefined;
    },
  );
  if (typeof out.SecretString !== 'string' || out.SecretString === '') throw new ConfigurationError(`Secret ${secretId} has no string value`);
  try {
    return JSON.parse(out.SecretString) as unknown;
  } catch {
    // No cause: a JSON.parse message can quote the beginning of the text, i.e. of the secret.
    throw new ConfigurationError(`Secret ${secretId} is not valid JSON`);
  }
}

/** The paths of a validation error's issues (zod and Standard Schema style), never their values or messages. */
function issuePaths(error: unknown): string {
  const issues = (error as { issues?: unknown } | undefined)?.issues;
  if (!Array.isArray(issues)) return '';
  const paths = issues
    .map((issue) => (issue as { path?: unknown }).path)
    .filter((path): path is unknown[] => Array.isArray(path))
    .map((path) => path.map((segment) => (typeof segment === 'object' && segment !== null ? String((segment as { key?: unknown }).key) : String(segment))).join('.') || '(root)');
  return paths.length > 0 ? ` (check: ${[...new Set(paths)].join(', ')})` : '';
}

/**
 * Reads a JSON secret's current value, checks it with `validate` (e.g. a zod schema's `parse`) and
 * returns what `validate` returns. The fetched value is kept per client and secret id for `ttlMs`;
 * concurrent callers share one fetch, and a failed fetch is not kept. `validate` runs on every call,
 * so callers with different validators of the same secret each get their own check.
 * @throws ConfigurationError when the secret is missing, unreadable, not JSON or fails `validate`
 *   (the message names the secret id and, for zod-like errors, the offending paths — never a value);
 *   AwsServiceUnavailableError (throttled, 5xx) or AwsServiceError otherwise.
 */
export async function loadJsonSecret<T>(
  client: SecretsManagerClient,
  secretId: string,
  validate: (value: unknown) => T,
  options: LoadSecretOptions = {},
): Promise<T> {
  const ttlMs = options.ttlMs ?? DEFAULT_SECRET_TTL_MS;
  let byId = cache.get(client);
  if (!byId) cache.set(client, (byId = new Map()));
  const now = Date.now();
  let entry = byId.get(secretId);
  if (!entry || entry.expiresAt <= now) {
    const fresh: CacheEntry = { value: fetchJson(client, secretId), expiresAt: now + ttlMs };
    entry = fresh;
    byId.set(secretId, fresh);
    fresh.value.catch(() => {
      if (byId.get(secretId) === fresh) byId.delete(secretId);
    });
  }
  const value = await entry.value;
  try {
    return validate(value);
  } catch (error) {
    // No cause: validators may quote the value they rejected.
    throw new ConfigurationError(`Secret ${secretId} does not have the expected shape${issuePaths(error)}`);
  }
}
